"""The registry snapshot: the effective decisions, as the builder reads them.

A snapshot is one Parquet file in the ``SNAPSHOT`` contract plus a JSON sidecar beside it
(``<file>.json``) recording the file's sha256 and when the snapshot was taken. The check
of one belongs to the contract (:func:`notrain.contracts.verify_snapshot`), which the
builder uses; this module writes them.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from notrain import contracts
from notrain.contracts import SIDECAR_SUFFIX, SNAPSHOT, SnapshotInfo
from notrain.corpus.storage import LOCAL, Storage


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def file_sha256(path: Path) -> str:
    return LOCAL.sha256(str(path))


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
    """The contract's check (:func:`notrain.contracts.verify_snapshot`), on the local disk
    by default."""
    return contracts.verify_snapshot(path, storage)


__all__ = ["SIDECAR_SUFFIX", "SnapshotInfo", "sidecar_path", "verify_snapshot", "write_snapshot"]
