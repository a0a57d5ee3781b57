"""The registry snapshot: the effective decisions, as the builder reads them.

A snapshot is one Parquet file in the ``SNAPSHOT`` contract plus a JSON sidecar beside it
(``<file>.json``) recording the file's sha256 and when the snapshot was taken. The builder
refuses a snapshot whose bytes do not match its sidecar; one without a sidecar is accepted,
and its hash is computed and recorded in the dataset manifest.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from notrain.contracts import SNAPSHOT
from notrain.corpus.storage import LOCAL, Storage, read_text
from notrain.errors import InputError, SnapshotIntegrityError

SIDECAR_SUFFIX = ".json"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def file_sha256(path: Path) -> str:
    return LOCAL.sha256(str(path))


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path | str
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


def verify_snapshot(path: Path | str, storage: Storage = LOCAL) -> SnapshotInfo:
    """Check ``path`` against its sidecar, if it has one; return its hash either way.

    ``storage`` is where the file lives: the local disk, or (a URI given to the Spark
    engine) a Hadoop file system.
    """
    name = str(path)
    if not storage.is_file(name):
        raise InputError(path, "registry snapshot not found (expected a Parquet file)")
    try:
        sha = storage.sha256(name)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    side = name + SIDECAR_SUFFIX
    if not storage.exists(side):
        return SnapshotInfo(path=path, sha256=sha, taken_at=None, had_sidecar=False)
    try:
        meta = json.loads(read_text(storage, side))
        recorded = str(meta["sha256"])
        taken_raw = meta.get("taken_at")
        taken_at = datetime.fromisoformat(taken_raw) if taken_raw else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(side, f"unreadable snapshot sidecar ({exc})") from None
    if recorded != sha:
        raise SnapshotIntegrityError(
            f"{path}: sha256 {sha} does not match {recorded} recorded in {storage.name(side)}; "
            "the snapshot was changed after it was taken"
        )
    return SnapshotInfo(path=path, sha256=sha, taken_at=taken_at, had_sidecar=True)
