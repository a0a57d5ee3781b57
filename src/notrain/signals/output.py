"""The output contract of the signals scans (v1), and a Parquet file written atomically.

Column names and types are public interface: ``notrain build --signals`` reads them.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from notrain.errors import OutputError

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

_DECISION = [
    pa.field("decision", pa.string(), nullable=False),  # reserved | allowed | unknown | error
    pa.field("signal", pa.string()),
    pa.field("evidence", pa.string()),
    pa.field("error", pa.string()),
    pa.field("findings", pa.list_(pa.string()), nullable=False),
]

MEDIA_SCHEMA = pa.schema(
    [
        pa.field("content_id", pa.int64(), nullable=False),
        pa.field("media_uri", pa.string(), nullable=False),
        *_DECISION,
    ]
)

WEB_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string()),  # null only on the error row of an unreadable WARC
        pa.field("fetched_at", UTC_TIMESTAMP),
        *_DECISION,
        pa.field("text", pa.string()),
        pa.field("content_type", pa.string()),
        pa.field("record_id", pa.string()),
        pa.field("warc_file", pa.string(), nullable=False),
    ]
)

BATCH_ROWS = 4096


class ParquetSink:
    """Rows appended in batches to a hidden file beside ``path``, renamed into place on a
    clean exit and removed on any error: a reader never sees half an output."""

    def __init__(self, path: Path, schema: pa.Schema, *, overwrite: bool = False) -> None:
        if path.exists() and not overwrite:
            raise OutputError(f"{path}: exists already (use --overwrite to replace it)")
        if not path.parent.is_dir():
            raise OutputError(f"{path}: directory {path.parent} does not exist")
        self.path = path
        self.schema = schema
        self.staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.pending: list[dict[str, Any]] = []
        self.rows = 0
        try:
            self.writer = pq.ParquetWriter(self.staging, schema, compression="zstd")
        except OSError as exc:
            raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from None

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.pending.extend(rows)
        if len(self.pending) >= BATCH_ROWS:
            self._flush()

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Append rows already in the schema (after any rows still pending)."""
        self._flush()
        self.writer.write_batch(batch)
        self.rows += batch.num_rows

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.Table.from_pylist(self.pending, schema=self.schema))
            self.rows += len(self.pending)
            self.pending = []

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self._flush()
            self.writer.close()
            if kind is None:
                os.replace(self.staging, self.path)
        finally:
            self.staging.unlink(missing_ok=True)
