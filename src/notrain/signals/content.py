"""The two columns of the platform's content table the media scan needs.

The content input is given as for ``notrain build`` (a file, a directory of shards or a
glob; Parquet, JSONL or CSV). Only ``content_id`` and ``media_uri`` are read, Parquet in
batches, so memory does not grow with the table. Rows without media are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from notrain.corpus.sources import InputSet, resolve
from notrain.errors import InputError

COLUMNS = ["content_id", "media_uri"]
BATCH_ROWS = 65_536


def read_media_rows(spec: str) -> tuple[Iterator[tuple[int, str]], int | None]:
    """``(content_id, media_uri)`` of every row with media, and their number if known."""
    inputs = resolve("content", spec)
    return _rows(inputs), _count(inputs)


def _rows(inputs: InputSet) -> Iterator[tuple[int, str]]:
    for path in inputs.files:
        for batch in _batches(path, inputs.format):
            ids = batch.column(0).to_pylist()
            uris = batch.column(1).to_pylist()
            for content_id, uri in zip(ids, uris, strict=True):
                if uri is None:
                    continue
                if content_id is None:
                    raise InputError(path, "null in a required column", column="content_id")
                yield content_id, uri


def _batches(path: str | Path, fmt: str) -> Iterator[pa.RecordBatch]:
    try:
        if fmt == "parquet":
            handle = pq.ParquetFile(path)
            _check(path, handle.schema_arrow)
            yield from handle.iter_batches(batch_size=BATCH_ROWS, columns=COLUMNS)
            return
        if fmt == "jsonl":
            table = pajson.read_json(path)
        else:
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    include_columns=COLUMNS,
                    column_types={"content_id": pa.int64(), "media_uri": pa.string()},
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"cannot be read as {fmt}: {exc}") from None
    _check(path, table.schema)
    yield from table.select(COLUMNS).to_batches(BATCH_ROWS)


def _check(path: str | Path, schema: pa.Schema) -> None:
    for name, ok, expected in (
        ("content_id", pa.types.is_integer, "an integer"),
        ("media_uri", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "a string"),
    ):
        if name not in schema.names:
            raise InputError(path, "missing column", column=name)
        kind = schema.field(name).type
        if not ok(kind) and not pa.types.is_null(kind):
            raise InputError(path, f"must be {expected}, not {kind}", column=name)


def _count(inputs: InputSet) -> int | None:
    """Rows with media, from Parquet statistics when every row group has them."""
    if inputs.format != "parquet":
        return None
    total = 0
    for path in inputs.files:
        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowInvalid, OSError):
            return None
        paths = [meta.schema.column(i).path for i in range(meta.num_columns)]
        if "media_uri" not in paths:
            return None
        column = paths.index("media_uri")
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(column).statistics
            if stats is None or not stats.has_null_count:
                return None
            total += meta.row_group(group).num_rows - stats.null_count
    return total
