"""Where the builder's inputs are: files, directories or globs of shards, by format.

Engine-neutral: this module only finds and fingerprints files, on the local disk or through
a :class:`~notrain.corpus.storage.Storage`; each engine reads them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from notrain.corpus.storage import LOCAL, Storage, is_uri
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
    files: tuple[str | Path, ...]
    """Local files as paths; files found through a Hadoop file system as its URIs."""
    format: Format
    storage: Storage = LOCAL
    """Where the driver reads ``files`` (to hash them, or to read Parquet footers)."""

    @property
    def label(self) -> str:
        return self.spec if len(self.files) != 1 else str(self.files[0])


def format_of(path: str | Path) -> Format | None:
    return FORMATS.get(PurePosixPath(str(path)).suffix.lower())


def resolve(role: str, spec: str | Path, storage: Storage = LOCAL) -> InputSet:
    """Expand a file, a directory of shards or a glob into its files, all of one format."""
    text = str(spec)
    try:
        if storage.is_dir(text):
            found = [f for f in storage.listdir(text) if format_of(f) and storage.is_file(f)]
            if not found:
                raise InputError(
                    text, f"no .parquet, .jsonl or .csv files in this {role} directory"
                )
        elif storage.is_file(text):
            found = [text]
        elif any(ch in text for ch in "*?["):
            found = storage.glob(text)
            if not found:
                raise InputError(text, f"no {role} file matches this pattern")
        else:
            raise InputError(text, f"{role} input not found")
    except OSError as exc:
        raise InputError(text, f"cannot read: {exc.strerror or exc}") from None
    files: list[str | Path] = [f if is_uri(f) else Path(f) for f in found]
    formats = {format_of(f) for f in files}
    if None in formats:
        bad = next(f for f in files if format_of(f) is None)
        raise InputError(bad, "unknown file type: use .parquet, .jsonl or .csv")
    if len(formats) > 1:
        raise InputError(text, f"mixes file types ({', '.join(sorted(map(str, formats)))})")
    fmt = formats.pop()
    assert fmt is not None
    return InputSet(role=role, spec=text, files=tuple(files), format=fmt, storage=storage)


def _sha256(storage: Storage, path: str | Path) -> str:
    try:
        return storage.sha256(str(path))
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None


def fingerprint(inputs: list[InputSet]) -> dict[str, str]:
    """sha256 of every input file, keyed by its path as given (hashed in parallel; on a
    Hadoop file system, inside the driver's JVM)."""
    files = [(item.storage, f) for item in inputs for f in item.files]
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = list(pool.map(lambda pair: _sha256(*pair), files))
    return {str(f): d for (_, f), d in zip(files, digests, strict=True)}
