"""A dataset on disk: shards of kept rows, exclusions, lineage and the manifest.

Engines write shards, exclusions and lineage into a staging directory beside the
destination; the manifest is written last and the directory is renamed into place in one
step, so a dataset either exists whole, with a manifest that verifies, or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notrain.errors import OutputError

MANIFEST = "manifest.json"
EXCLUSIONS_FILE = "exclusions.parquet"
LINEAGE_FILE = "lineage.parquet"
STAGING_PREFIX = ".staging-"
COMPRESSION = "zstd"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Shard:
    file: str
    rows: int
    sha256: str


@dataclass
class Tally:
    """Row counts by (reason, country, kind); reason None means kept."""

    counts: Counter[tuple[str | None, str | None, str]] = field(default_factory=Counter)

    def add_rows(self, rows: list[tuple[str | None, str | None, str, int]]) -> None:
        for reason, country, kind, count in rows:
            self.counts[(reason, country, kind)] += count

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def invalid(self, prefix: str) -> dict[str, int]:
        found: Counter[str] = Counter()
        for (reason, _, _), count in self.counts.items():
            if reason is not None and reason.startswith(prefix):
                found[reason[len(prefix) :]] += count
        return dict(found)

    def summary(self, reason_order: list[str]) -> dict[str, Any]:
        kept = sum(c for (r, _, _), c in self.counts.items() if r is None)
        by_reason = dict.fromkeys(reason_order, 0)
        kept_country: Counter[str] = Counter()
        kept_kind: Counter[str] = Counter()
        excl_country: Counter[str] = Counter()
        excl_kind: Counter[str] = Counter()
        for (reason, country, kind), count in self.counts.items():
            where = country or "unknown"
            if reason is None:
                kept_country[where] += count
                kept_kind[kind] += count
            else:
                by_reason[reason] = by_reason.get(reason, 0) + count
                excl_country[where] += count
                excl_kind[kind] += count
        excluded = sum(by_reason.values())
        return {
            "input": kept + excluded,
            "kept": kept,
            "excluded": excluded,
            "excluded_by_reason": by_reason,
            "kept_by_country": dict(sorted(kept_country.items())),
            "kept_by_kind": dict(sorted(kept_kind.items())),
            "excluded_by_country": dict(sorted(excl_country.items())),
            "excluded_by_kind": dict(sorted(excl_kind.items())),
        }


def staging_dir(out: Path) -> Path:
    """A fresh staging directory beside ``out`` (same file system, so rename is atomic)."""
    if out.exists():
        raise OutputError(f"{out}: already exists; choose a new directory for the dataset")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clean_stale_staging(out)
        staging = parent / f"{STAGING_PREFIX}{out.name}-{os.getpid()}"
        staging.mkdir()
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror or exc})") from None
    return staging


def clean_stale_staging(out: Path) -> None:
    """Remove what an interrupted build of ``out`` left behind."""
    for leftover in out.parent.glob(f"{STAGING_PREFIX}{out.name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(staging: Path, out: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest last, flush everything, and rename the dataset into place."""
    for item in staging.iterdir():
        if item.is_file():
            with item.open("rb") as handle:
                os.fsync(handle.fileno())
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    manifest_path = staging / MANIFEST
    with manifest_path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_dir(staging)
    try:
        os.rename(staging, out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot publish the dataset ({exc.strerror or exc})") from None
    _fsync_dir(out.parent if str(out.parent) else Path("."))


def verify(dataset: Path) -> list[str]:
    """Problems found when checking a published dataset against its manifest (empty: ok)."""
    problems = []
    try:
        manifest = json.loads((dataset / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{dataset / MANIFEST}: unreadable ({exc})"]
    files = {s["file"]: s["sha256"] for s in manifest.get("shards", [])}
    files.update(manifest.get("files", {}))
    for name, expected in files.items():
        path = dataset / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(path) != expected:
            problems.append(f"{name}: sha256 does not match the manifest")
    return problems
