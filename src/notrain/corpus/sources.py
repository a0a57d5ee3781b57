"""Where the builder's inputs are: files, directories or globs of shards, by format.

Engine-neutral: this module only finds and fingerprints files; each engine reads them.
"""

from __future__ import annotations

import glob
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from notrain.errors import InputError

Format = Literal["parquet", "jsonl", "csv"]

FORMATS: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
}


@dataclass(frozen=True)
class InputSet:
    """One logical input (content, accounts or the snapshot) and the files that make it."""

    role: str
    spec: str
    files: tuple[Path, ...]
    format: Format

    @property
    def label(self) -> str:
        return self.spec if len(self.files) != 1 else str(self.files[0])


def format_of(path: Path) -> Format | None:
    return FORMATS.get(path.suffix.lower())


def resolve(role: str, spec: str | Path) -> InputSet:
    """Expand a file, a directory of shards or a glob into its files, all of one format."""
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and format_of(p))
        if not files:
            raise InputError(text, f"no .parquet, .jsonl or .csv files in this {role} directory")
    elif path.is_file():
        files = [path]
    elif any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise InputError(text, f"no {role} file matches this pattern")
    else:
        raise InputError(text, f"{role} input not found")
    formats = {format_of(f) for f in files}
    if None in formats:
        bad = next(f for f in files if format_of(f) is None)
        raise InputError(bad, "unknown file type: use .parquet, .jsonl or .csv")
    if len(formats) > 1:
        raise InputError(text, f"mixes file types ({', '.join(sorted(map(str, formats)))})")
    fmt = formats.pop()
    assert fmt is not None
    return InputSet(role=role, spec=text, files=tuple(files), format=fmt)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


def fingerprint(inputs: list[InputSet]) -> dict[str, str]:
    """sha256 of every input file, keyed by its path as given (hashed in parallel)."""
    files = [f for item in inputs for f in item.files]
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = list(pool.map(_sha256, files))
    return {str(f): d for f, d in zip(files, digests, strict=True)}
