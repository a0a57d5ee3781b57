"""The registry snapshot: the effective decisions, as the builder reads them.

A snapshot is one Parquet file in the ``SNAPSHOT`` contract plus a JSON sidecar beside it
(``<file>.json``) recording the file's sha256 and when the snapshot was taken. The builder
refuses a snapshot whose bytes do not match its sidecar; one without a sidecar is accepted,
and its hash is computed and recorded in the dataset manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from notrain.contracts import SNAPSHOT
from notrain.errors import InputError, SnapshotIntegrityError

SIDECAR_SUFFIX = ".json"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path
    sha256: str
    taken_at: datetime | None
    had_sidecar: bool


def write_snapshot(table: pa.Table, path: Path, taken_at: datetime | None = None) -> SnapshotInfo:
    """Write ``table`` (cast to the contract) and its sidecar; both appear atomically."""
    taken_at = taken_at or datetime.now(UTC)
    table = table.select(SNAPSHOT.names).cast(SNAPSHOT)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    pq.write_table(table, partial)
    sha = file_sha256(partial)
    os.replace(partial, path)
    meta = {"sha256": sha, "taken_at": taken_at.isoformat(), "rows": table.num_rows}
    side = sidecar_path(path)
    side_partial = side.with_name(side.name + ".partial")
    side_partial.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(side_partial, side)
    return SnapshotInfo(path=path, sha256=sha, taken_at=taken_at, had_sidecar=True)


def verify_snapshot(path: Path) -> SnapshotInfo:
    """Check ``path`` against its sidecar, if it has one; return its hash either way."""
    if not path.is_file():
        raise InputError(path, "registry snapshot not found (expected a Parquet file)")
    sha = file_sha256(path)
    side = sidecar_path(path)
    if not side.exists():
        return SnapshotInfo(path=path, sha256=sha, taken_at=None, had_sidecar=False)
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
        recorded = str(meta["sha256"])
        taken_raw = meta.get("taken_at")
        taken_at = datetime.fromisoformat(taken_raw) if taken_raw else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(side, f"unreadable snapshot sidecar ({exc})") from None
    if recorded != sha:
        raise SnapshotIntegrityError(
            f"{path}: sha256 {sha} does not match {recorded} recorded in {side.name}; "
            "the snapshot was changed after it was taken"
        )
    return SnapshotInfo(path=path, sha256=sha, taken_at=taken_at, had_sidecar=True)
