"""The DuckDB engine: runs a :class:`~notrain.corpus.plan.BuildPlan` in-process.

Inputs are read as views that cast every column to its contract type, so a bad value
fails the build with the name of the input rather than passing through. The content
is scored in chunks of input order; each chunk's kept rows, sorted by ``content_id``,
become one shard, so reruns are byte-identical and memory is bounded by the chunk.
DuckDB spills to ``temp_dir`` to stay within ``memory_limit``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from notrain.contracts import (
    ACCOUNTS,
    CONTENT,
    EXCLUSIONS,
    LINEAGE,
    SIGNALS,
    SNAPSHOT,
    WEB_DOCUMENTS,
    DecisionKind,
    SignalDecision,
)
from notrain.corpus.dataset import COMPRESSION, EXCLUSIONS_FILE, LINEAGE_FILE
from notrain.corpus.dialect import DUCKDB
from notrain.corpus.plan import INVALID_PREFIX, BuildPlan
from notrain.corpus.sources import InputSet
from notrain.corpus.storage import LOCAL, Storage, is_uri
from notrain.errors import BuildError, InputError

_INTEGER_TYPES = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"}
_TIMESTAMP_TYPES = {
    "TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S",
}  # fmt: skip


CSV_MAX_LINE_BYTES = 256 * 1024 * 1024

DEFAULT_CHUNK_ROWS = 4_000_000


def _target(arrow_type: pa.DataType) -> tuple[str, set[str]]:
    """The DuckDB type a contract column is cast to, and the source types accepted."""
    if pa.types.is_int64(arrow_type):
        return "BIGINT", _INTEGER_TYPES
    if pa.types.is_string(arrow_type):
        return "VARCHAR", {"VARCHAR"}
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ", _TIMESTAMP_TYPES | {"DATE"}
    if pa.types.is_date32(arrow_type):
        return "DATE", {"DATE"} | _TIMESTAMP_TYPES
    if pa.types.is_list(arrow_type) and pa.types.is_string(arrow_type.value_type):
        return "VARCHAR[]", {"VARCHAR[]", "NULL[]", '"NULL"[]'}
    if pa.types.is_list(arrow_type):
        return "BIGINT[]", {f"{t}[]" for t in _INTEGER_TYPES} | {"NULL[]", '"NULL"[]'}
    raise AssertionError(f"no DuckDB mapping for {arrow_type}")


def _quote(path: str | Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^[A-Za-z ]+Error: ", "", text)


def _pieces(
    sizes: list[tuple[str | Path, str, int]], chunk_rows: int
) -> Iterator[list[tuple[str | Path, str, int, int]]]:
    """Files of (path, label, rows) cut into chunks of up to ``chunk_rows`` rows, in order:
    each chunk a list of (path, label, first row, end row) pieces."""
    chunk: list[tuple[str | Path, str, int, int]] = []
    room = chunk_rows
    for path, label, rows in sizes:
        start = 0
        while start < rows:
            take = min(room, rows - start)
            chunk.append((path, label, start, start + take))
            start += take
            room -= take
            if room == 0:
                yield chunk
                chunk, room = [], chunk_rows
    if chunk:
        yield chunk


def _relation(pieces: list[tuple[str | Path, str, int, int]]) -> str:
    """SQL reading the pieces in order: whole files by one multi-file scan."""
    whole = all(start == 0 and end == _rows(path) for path, _, start, end in pieces)
    if whole:
        files = ", ".join(_quote(path) for path, _, _, _ in pieces)
        return f"read_parquet([{files}], union_by_name = true)"
    return " UNION ALL BY NAME ".join(
        f"(SELECT * EXCLUDE (file_row_number) FROM read_parquet({_quote(path)}, "
        f"file_row_number = true) WHERE file_row_number >= {start} "
        f"AND file_row_number < {end})"
        for path, _, start, end in pieces
    )


def _rows(path: str | Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def _copy_sql(query: str, target: Path) -> str:
    return f"COPY ({query}) TO {_quote(target)} (FORMAT parquet, COMPRESSION {COMPRESSION})"


@dataclass
class EngineOutput:
    """What an engine reports back: row counts by (reason, country, kind), and its shards."""

    counts: list[tuple[str | None, str | None, str, int]] = field(default_factory=list)
    shards: list[tuple[str, int]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the wall time of the block to ``timings[phase]`` (for run statistics)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - start


@dataclass
class DuckDBEngine:
    threads: int | None = None
    memory_limit: str = "1GB"
    temp_dir: Path | None = None

    name = "duckdb"

    @property
    def version(self) -> str:
        return str(duckdb.__version__)

    def storage(self, location: str) -> Storage:
        """The local disk; a URI is refused (only the Spark engine reads through Hadoop)."""
        if is_uri(location):
            raise InputError(
                location,
                "the duckdb engine reads and writes local paths only; "
                "use --engine spark for URIs (hdfs://, s3a://, file://...)",
            )
        return LOCAL

    def _connect(self) -> duckdb.DuckDBPyConnection:
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.memory_limit,
            "preserve_insertion_order": True,
        }
        if self.threads:
            config["threads"] = self.threads
        if self.temp_dir is not None:
            config["temp_directory"] = str(self.temp_dir)
        con = duckdb.connect(":memory:", config=config)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        return con

    # -- reading inputs ----------------------------------------------------------------

    def _reader(self, source: InputSet) -> str:
        files = "[" + ", ".join(_quote(f) for f in source.files) + "]"
        if source.format == "parquet":
            return f"read_parquet({files}, union_by_name = true)"
        if source.format == "jsonl":
            return (
                f"read_json({files}, format = 'newline_delimited', union_by_name = true, "
                "sample_size = -1)"
            )
        # A line may hold a long text: up to 256 MB (DuckDB's default stops at 2 MB).
        return (
            f"read_csv({files}, header = true, all_varchar = true, union_by_name = true, "
            f"max_line_size = {CSV_MAX_LINE_BYTES})"
        )

    def _register(
        self, con: duckdb.DuckDBPyConnection, source: InputSet, schema: pa.Schema, name: str
    ) -> None:
        self._register_relation(
            con,
            source.label,
            self._reader(source),
            schema,
            name,
            textual_ok=source.format != "parquet",
            fmt=source.format,
        )

    def _register_relation(
        self,
        con: duckdb.DuckDBPyConnection,
        label: str,
        relation: str,
        schema: pa.Schema,
        name: str,
        textual_ok: bool,
        fmt: str = "parquet",
    ) -> None:
        """A view ``name`` over ``relation`` with every contract column cast to its type."""
        raw = f"raw_{name}"
        try:
            con.execute(f"CREATE OR REPLACE VIEW {raw} AS SELECT * FROM {relation}")
            described = con.execute(f"DESCRIBE {raw}").fetchall()
        except duckdb.Error as exc:
            raise InputError(label, f"unreadable {fmt}: {_first_line(exc)}") from None
        found = {str(row[0]): str(row[1]) for row in described}
        columns = []
        for column in schema:
            if column.name not in found:
                raise InputError(label, "missing", column=column.name)
            target, accepted = _target(column.type)
            actual = found[column.name]
            # JSON and CSV carry no types: DuckDB guesses them, and a list column whose
            # lists are all empty comes out as JSON[]; the cast below decides.
            textual = textual_ok and (
                actual in {"VARCHAR", "JSON"} or (actual == "JSON[]" and target.endswith("[]"))
            )
            if actual not in accepted and not textual and actual not in {"NULL", '"NULL"'}:
                raise InputError(label, f"has type {actual}, expected {target}", column=column.name)
            value = f'"{column.name}"'
            if fmt == "csv" and column.nullable:
                value = f"NULLIF({value}, '')"
            if target == "DATE" and actual in _TIMESTAMP_TYPES:
                value = f"CAST({value} AS TIMESTAMPTZ)"
            columns.append(f'CAST({value} AS {target}) AS "{column.name}"')
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {', '.join(columns)} FROM {raw}")

    def _materialise(
        self, con: duckdb.DuckDBPyConnection, source: InputSet, sql: str, what: str
    ) -> None:
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            raise InputError(source.label, f"bad {what}: {_first_line(exc)}") from None

    def _check(
        self, con: duckdb.DuckDBPyConnection, source: InputSet, sql: str, problem: str
    ) -> None:
        try:
            rows = con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise InputError(source.label, f"unreadable: {_first_line(exc)}") from None
        if rows:
            raise InputError(source.label, problem.format(*rows[0]))

    def _load_accounts(
        self, con: duckdb.DuckDBPyConnection, source: InputSet, checked: bool = False
    ) -> None:
        """The table ``accounts``; ``checked``: the file is one a build already checked
        (same sha256), so the contract's checks are not run again, and ``accounts`` is a
        view over it rather than a copy: read for the authors and the protected people's
        handles, it costs the same time and ~100 MB less memory at a million accounts."""
        self._register(con, source, ACCOUNTS, "accounts_in")
        if checked:
            con.execute("CREATE VIEW accounts AS SELECT * FROM accounts_in")
            return
        self._materialise(
            con, source, "CREATE TABLE accounts AS SELECT * FROM accounts_in", "value"
        )
        for column in ("user_id", "handle", "country", "created_at"):
            self._check(
                con,
                source,
                f"SELECT count(*) FROM accounts WHERE {column} IS NULL HAVING count(*) > 0",
                f"column {column!r}: {{}} rows are null, the contract requires a value",
            )
        self._check(
            con,
            source,
            "SELECT user_id FROM accounts GROUP BY user_id HAVING count(*) > 1 LIMIT 1",
            "column 'user_id': duplicate id {}",
        )
        self._check(
            con,
            source,
            "SELECT lower(handle) FROM accounts GROUP BY lower(handle) HAVING count(*) > 1 LIMIT 1",
            "column 'handle': duplicate handle {!r} (handles are compared case-insensitively)",
        )
        self._check(
            con,
            source,
            "SELECT country FROM accounts WHERE NOT regexp_full_match(country, '[A-Z]{2}') LIMIT 1",
            "column 'country': {!r} is not an ISO 3166-1 alpha-2 code",
        )

    def _load_snapshot(self, con: duckdb.DuckDBPyConnection, source: InputSet) -> None:
        self._register(con, source, SNAPSHOT, "snapshot_in")
        self._materialise(
            con, source, "CREATE TABLE snapshot AS SELECT * FROM snapshot_in", "value"
        )
        kinds = DUCKDB.strings([k.value for k in DecisionKind])
        self._check(
            con,
            source,
            f"SELECT kind FROM snapshot WHERE kind IS NULL OR kind NOT IN ({kinds}) LIMIT 1",
            "column 'kind': unknown decision kind {!r}",
        )
        for column in ("effective_at", "request_id"):
            self._check(
                con,
                source,
                f"SELECT count(*) FROM snapshot WHERE {column} IS NULL HAVING count(*) > 0",
                f"column {column!r}: {{}} rows are null, the contract requires a value",
            )

    @staticmethod
    def _people(con: duckdb.DuckDBPyConnection, plan: BuildPlan) -> None:
        """The plan's tables ``decisions``, ``authors`` and ``blocked``, from the loaded
        ``accounts`` and ``snapshot``."""
        for name, sql in (
            ("decisions", plan.decisions_sql(DUCKDB)),
            ("authors", plan.authors_sql(DUCKDB)),
            ("blocked", plan.blocked_sql(DUCKDB)),
        ):
            con.execute(f"CREATE TABLE {name} AS {sql}")

    def _load_signals(self, con: duckdb.DuckDBPyConnection, source: InputSet) -> None:
        self._register(con, source, SIGNALS, "signals_in")
        decisions = DUCKDB.strings([s.value for s in SignalDecision])
        self._check(
            con,
            source,
            f"SELECT decision FROM signals_in WHERE decision IS NULL "
            f"OR decision NOT IN ({decisions}) LIMIT 1",
            "column 'decision': unknown decision {!r} (reserved, allowed, unknown or error)",
        )
        self._materialise(
            con,
            source,
            "CREATE TABLE signals AS SELECT content_id, "
            "bool_or(decision = 'reserved') AS reserved, "
            "bool_or(decision = 'unknown') AS unknown, "
            "bool_or(decision = 'error') AS unreadable "
            "FROM signals_in WHERE content_id IS NOT NULL GROUP BY content_id",
            "value",
        )

    def identifiers(self, snapshot: InputSet, plan_as_of: str) -> list[str]:
        """Identifiers to redact: those of non-members' objections and erasures at as-of.

        Members are protected by id (their content, tags and @mentions); the identifiers
        column is how a person without an account is found in others' text.
        """
        con = self._connect()
        try:
            self._load_snapshot(con, snapshot)
            rows = con.execute(
                "SELECT DISTINCT unnest(identifiers) FROM snapshot "
                "WHERE effective_at <= CAST(? AS TIMESTAMPTZ) "
                "AND kind IN ('objection', 'erasure') AND subject_id IS NULL",
                [plan_as_of],
            ).fetchall()
        finally:
            con.close()
        return sorted(str(r[0]) for r in rows if r[0] is not None)

    # -- running -----------------------------------------------------------------------

    def _chunks(
        self, con: duckdb.DuckDBPyConnection, content: InputSet, work: Path, chunk_rows: int
    ) -> Iterator[tuple[str, str]]:
        """The content in chunks of input order: (label, relation) of up to ``chunk_rows`` rows.

        A chunk spans files: many small files make as few chunks as one merged file would
        (a chunk's fixed costs are paid per chunk, not per file), and a large file is cut by
        row number. Parquet is read in place; JSONL and CSV are first converted to Parquet
        through the contract's casts, so a bad value fails here, naming the file.
        """
        files: tuple[str | Path, ...] = content.files
        if content.format != "parquet":
            self._register(con, content, CONTENT, "content_text")
            converted = work / "content.parquet"
            self._materialise(
                con,
                content,
                f"COPY (SELECT * FROM content_text) TO {_quote(converted)} (FORMAT parquet)",
                "value",
            )
            files = (converted,)
        sizes = []
        for path in files:
            label = str(path) if content.format == "parquet" else content.label
            try:
                sizes.append((path, label, int(pq.ParquetFile(path).metadata.num_rows)))
            except (OSError, pa.ArrowException) as exc:
                raise InputError(label, f"unreadable parquet: {exc}") from None
        for pieces in _pieces(sizes, chunk_rows):
            labels = sorted({label for _, label, _, _ in pieces})
            yield (labels[0] if len(labels) == 1 else content.label, _relation(pieces))

    def execute(
        self,
        plan: BuildPlan,
        content: InputSet,
        accounts: InputSet,
        snapshot: InputSet,
        staging: Path | str,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Callable[[int], None] | None = None,
        signals: InputSet | None = None,
    ) -> EngineOutput:
        """Run the plan chunk by chunk, writing shards, exclusions and lineage into ``staging``.

        Each chunk is scored whole (no text read), then its kept rows are redacted and
        written, sorted by ``content_id``, as one shard; memory is bounded by the chunk, not
        the input.
        """
        staging = Path(staging)
        work = staging / ".work"
        work.mkdir(exist_ok=True)
        con = self._connect()
        output = EngineOutput()
        exclusions = pq.ParquetWriter(
            staging / EXCLUSIONS_FILE, EXCLUSIONS, compression=COMPRESSION
        )
        lineage = pq.ParquetWriter(staging / LINEAGE_FILE, LINEAGE, compression=COMPRESSION)
        try:
            d = DUCKDB
            with output.timed("load accounts and snapshot"):
                self._load_accounts(con, accounts)
                self._load_snapshot(con, snapshot)
                if plan.signals:
                    if signals is None:
                        raise BuildError("the plan honours signals but no signals file was given")
                    self._load_signals(con, signals)
                self._people(con, plan)
            done = 0
            chunks = self._chunks(con, content, work, chunk_rows)
            for label, relation in chunks:
                self._register_relation(con, label, relation, CONTENT, "content", textual_ok=False)
                with output.timed("third parties"):
                    self._materialise(
                        con,
                        content,
                        f"CREATE OR REPLACE TEMP TABLE third_party AS {plan.third_party_sql(d)}",
                        "value",
                    )
                with output.timed("reasons"):
                    self._materialise(
                        con,
                        content,
                        f"CREATE OR REPLACE TEMP TABLE reasons AS {plan.reasons_sql(d)}",
                        "value",
                    )
                    counts = [
                        (r[0], r[1], r[2], int(r[3]))
                        for r in con.execute(
                            "SELECT reason, author_country, kind, count(*) "
                            "FROM reasons GROUP BY ALL"
                        ).fetchall()
                    ]
                invalid = sorted(
                    (str(reason), count)
                    for reason, _, _, count in counts
                    if reason is not None and reason.startswith(INVALID_PREFIX)
                )
                if invalid:
                    problem, count = invalid[0]
                    raise InputError(
                        label, f"{count} rows with {problem.removeprefix(INVALID_PREFIX)}"
                    )
                output.counts.extend(counts)
                with output.timed("write exclusions"):
                    excluded = con.sql(
                        "SELECT content_id, reason FROM reasons WHERE reason IS NOT NULL "
                        "ORDER BY content_id"
                    ).to_arrow_table()
                    exclusions.write_table(excluded.cast(EXCLUSIONS))
                kept_rows = sum(count for reason, _, _, count in counts if reason is None)
                if kept_rows:
                    shard = staging / f"part-{len(output.shards):05d}.parquet"
                    with output.timed("redact and write shards"):
                        self._materialise(
                            con,
                            content,
                            _copy_sql(
                                f"{plan.kept_sql(d, reasons='reasons')} ORDER BY content_id", shard
                            ),
                            "value",
                        )
                    output.shards.append((shard.name, kept_rows))
                    with output.timed("write lineage"):
                        kept_lineage = con.sql(
                            f"SELECT {', '.join(LINEAGE.names)} FROM read_parquet({_quote(shard)})"
                        ).to_arrow_table()
                        lineage.write_table(kept_lineage.cast(LINEAGE))
                done += sum(count for _, _, _, count in counts)
                if progress:
                    progress(done)
            exclusions.close()
            lineage.close()
            with output.timed("check ids"):
                self._check(
                    con,
                    content,
                    "SELECT content_id FROM read_parquet(["
                    f"{_quote(staging / EXCLUSIONS_FILE)}, {_quote(staging / LINEAGE_FILE)}]) "
                    "GROUP BY content_id HAVING count(*) > 1 LIMIT 1",
                    "column 'content_id': duplicate id {}",
                )
        except duckdb.Error as exc:
            raise BuildError(f"DuckDB failed: {_first_line(exc)}") from None
        finally:
            for writer in (exclusions, lineage):
                with contextlib.suppress(OSError, pa.ArrowException):
                    writer.close()
            con.close()
            shutil.rmtree(work, ignore_errors=True)
        return output

    # -- web documents -------------------------------------------------------------------

    def execute_web(self, plan: BuildPlan, web: InputSet, staging: Path) -> EngineOutput:
        """Build a dataset of web documents (one shard) from a `signals scan-warc` output."""
        con = self._connect()
        output = EngineOutput()
        d = DUCKDB
        try:
            with output.timed("load documents"):
                self._register(con, web, WEB_DOCUMENTS, "web")
                decisions = d.strings([s.value for s in SignalDecision])
                self._check(
                    con,
                    web,
                    f"SELECT decision FROM web WHERE decision IS NULL "
                    f"OR decision NOT IN ({decisions}) LIMIT 1",
                    "column 'decision': unknown decision {!r}",
                )
                self._materialise(
                    con,
                    web,
                    f"CREATE TABLE reasons AS SELECT url, record_id, "
                    f"{plan.web_reason_sql(d)} AS reason FROM web w",
                    "value",
                )
            output.counts.extend(
                (r[0], None, "web", int(r[1]))
                for r in con.execute("SELECT reason, count(*) FROM reasons GROUP BY ALL").fetchall()
            )
            with output.timed("write exclusions"):
                con.execute(
                    "COPY (SELECT url, record_id, reason FROM reasons WHERE reason IS NOT NULL "
                    "ORDER BY url, record_id) "
                    f"TO {_quote(staging / EXCLUSIONS_FILE)} (FORMAT parquet, COMPRESSION zstd)"
                )
            kept = sum(count for reason, _, _, count in output.counts if reason is None)
            if kept:
                shard = staging / "part-00000.parquet"
                with output.timed("redact and write shards"):
                    self._materialise(
                        con,
                        web,
                        f"COPY ({plan.web_kept_sql(d)} ORDER BY url, fetched_at, record_id) "
                        f"TO {_quote(shard)} (FORMAT parquet, COMPRESSION zstd)",
                        "value",
                    )
                output.shards.append((shard.name, kept))
        except duckdb.Error as exc:
            raise BuildError(f"DuckDB failed: {_first_line(exc)}") from None
        finally:
            con.close()
        return output
