"""The DuckDB engine: runs a :class:`~notrain.corpus.plan.BuildPlan` in-process.

Inputs are read as views that cast every column to its contract type, so a bad value
fails the build with the name of the input rather than passing through. The scored
result streams out as Arrow record batches, ordered by ``content_id`` so reruns are
byte-identical; DuckDB spills to ``temp_dir`` to keep memory within ``memory_limit``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from notrain.contracts import ACCOUNTS, CONTENT, SNAPSHOT, DecisionKind
from notrain.corpus.dialect import DUCKDB
from notrain.corpus.plan import BuildPlan
from notrain.corpus.sources import InputSet
from notrain.errors import BuildError, InputError

_INTEGER_TYPES = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"}
_TIMESTAMP_TYPES = {
    "TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S",
}  # fmt: skip


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


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^[A-Za-z ]+Error: ", "", text)


@dataclass
class DuckDBEngine:
    threads: int | None = None
    memory_limit: str = "1GB"
    temp_dir: Path | None = None

    name = "duckdb"

    @property
    def version(self) -> str:
        return str(duckdb.__version__)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.memory_limit,
            "preserve_insertion_order": False,
        }
        if self.threads:
            config["threads"] = self.threads
        if self.temp_dir is not None:
            config["temp_directory"] = str(self.temp_dir)
        con = duckdb.connect(":memory:", config=config)
        con.execute("SET TimeZone = 'UTC'")
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
        return f"read_csv({files}, header = true, all_varchar = true, union_by_name = true)"

    def _register(
        self, con: duckdb.DuckDBPyConnection, source: InputSet, schema: pa.Schema, name: str
    ) -> None:
        raw = f"raw_{name}"
        try:
            con.execute(f"CREATE VIEW {raw} AS SELECT * FROM {self._reader(source)}")
            described = con.execute(f"DESCRIBE {raw}").fetchall()
        except duckdb.Error as exc:
            raise InputError(
                source.label, f"unreadable {source.format}: {_first_line(exc)}"
            ) from None
        found = {str(row[0]): str(row[1]) for row in described}
        columns = []
        for column in schema:
            if column.name not in found:
                raise InputError(source.label, "missing", column=column.name)
            target, accepted = _target(column.type)
            actual = found[column.name]
            textual = source.format != "parquet" and actual in {"VARCHAR", "JSON"}
            if actual not in accepted and not textual and actual not in {"NULL", '"NULL"'}:
                raise InputError(
                    source.label, f"has type {actual}, expected {target}", column=column.name
                )
            value = f'"{column.name}"'
            if source.format == "csv" and column.nullable:
                value = f"NULLIF({value}, '')"
            if target == "DATE" and actual in _TIMESTAMP_TYPES:
                value = f"CAST({value} AS TIMESTAMPTZ)"
            columns.append(f'CAST({value} AS {target}) AS "{column.name}"')
        con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(columns)} FROM {raw}")

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
            row = con.execute(sql).fetchone()
        except duckdb.Error as exc:
            raise InputError(source.label, f"unreadable: {_first_line(exc)}") from None
        if row is not None:
            raise InputError(source.label, problem.format(*row))

    def _load_accounts(self, con: duckdb.DuckDBPyConnection, source: InputSet) -> None:
        self._register(con, source, ACCOUNTS, "accounts_in")
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

    def run(
        self,
        plan: BuildPlan,
        content: InputSet,
        accounts: InputSet,
        snapshot: InputSet,
        batch_rows: int = 65_536,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the scored rows: the dataset columns plus ``reason`` and ``author_country``."""
        con = self._connect()
        try:
            self._load_accounts(con, accounts)
            self._load_snapshot(con, snapshot)
            self._register(con, content, CONTENT, "content")
            self._check(
                con,
                content,
                "SELECT content_id FROM content WHERE content_id IS NOT NULL "
                "GROUP BY content_id HAVING count(*) > 1 LIMIT 1",
                "column 'content_id': duplicate id {}",
            )
            d = DUCKDB
            for name, sql in (
                ("decisions", plan.decisions_sql(d)),
                ("authors", plan.authors_sql(d)),
                ("blocked", plan.blocked_sql(d)),
            ):
                con.execute(f"CREATE TABLE {name} AS {sql}")
            self._materialise(
                con, content, f"CREATE TABLE third_party AS {plan.third_party_sql(d)}", "value"
            )
            query = f"{plan.scored_sql(d)}\nORDER BY content_id"
            try:
                reader = con.sql(query).to_arrow_reader(batch_rows)
                yield from reader
            except duckdb.ConversionException as exc:
                raise InputError(content.label, f"bad value: {_first_line(exc)}") from None
            except duckdb.InvalidInputException as exc:
                raise InputError(content.label, f"unreadable: {_first_line(exc)}") from None
            except duckdb.IOException as exc:
                raise InputError(content.label, f"unreadable: {_first_line(exc)}") from None
            except duckdb.Error as exc:
                raise BuildError(f"DuckDB failed: {_first_line(exc)}") from None
        finally:
            con.close()
