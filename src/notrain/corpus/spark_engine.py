"""The Spark engine: runs the same :class:`~notrain.corpus.plan.BuildPlan` on Apache Spark.

The plan's SQL, written through the ``SPARK`` dialect, runs unchanged through
``spark.sql`` over temporary views named as the plan expects (``content``, ``accounts``,
``snapshot``, ``decisions``, ``authors``, ``blocked``, ``third_party``, ``signals``); this
module holds no rule of its own. Redaction is Spark's built-in ``regexp_replace``
(java.util.regex), so executors run no Python at all: only the driver needs notrain.

Registry-derived tables are broadcast to every executor while they hold at most
``broadcast_rows`` rows and joined by shuffle when they are larger, so a registry with
hundreds of millions of objectors still builds.

The output has the DuckDB engine's layout and column types: kept rows are range-partitioned
by ``content_id`` into shards of about ``chunk_rows`` rows, each sorted by ``content_id``,
and renamed in partition order to ``part-00000.parquet``…; the exclusions and lineage part
files are merged, in order, into one ``exclusions.parquet`` and one ``lineage.parquet``.
Spark writes under ``staging/.work``, so the staging directory must be on a file system
that the driver and every executor see: the local disk in local mode, a shared mount, or
any file system Hadoop reaches, named by a URI (``hdfs://``, ``s3a://``…). The driver's own
file work on URIs (listing, renaming, merging, reading footers) goes through the session's
Hadoop ``FileSystem`` API (:class:`~notrain.corpus.storage.HadoopStorage`), so the
cluster's configuration applies.

Starting the session is :mod:`notrain.corpus.spark_session`'s job; how inputs are typed,
:mod:`notrain.corpus.spark_types`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from notrain.contracts import (
    ACCOUNTS,
    CONTENT,
    DATASET,
    EXCLUSIONS,
    LINEAGE,
    SIGNALS,
    SNAPSHOT,
    DecisionKind,
    SignalDecision,
)
from notrain.corpus.dataset import COMPRESSION, EXCLUSIONS_FILE, LINEAGE_FILE
from notrain.corpus.dialect import SPARK
from notrain.corpus.duckdb_engine import EngineOutput
from notrain.corpus.plan import BuildPlan
from notrain.corpus.sources import InputSet
from notrain.corpus.spark_session import (
    first_line,
    import_pyspark,
    spark_errors,
    start_session,
)
from notrain.corpus.spark_types import NULL_TYPE, TIMESTAMPS, spark_type, spelled
from notrain.corpus.storage import LOCAL, HadoopStorage, Storage, is_uri
from notrain.errors import BuildError, InputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_BROADCAST_ROWS = 2_000_000


@dataclass
class SparkEngine:
    master: str | None = None
    """``local[4]``, ``spark://host:7077``, ``yarn``…; None: the active session, or the
    master spark-submit was given, or ``local[threads]``."""
    threads: int | None = None
    memory_limit: str = "1GB"
    broadcast_rows: int = DEFAULT_BROADCAST_ROWS
    """Registry-derived tables up to this many rows are broadcast; larger ones shuffle."""
    _spark: SparkSession | None = field(default=None, init=False, repr=False)
    _loaded: dict[InputSet, DataFrame] = field(default_factory=dict, init=False, repr=False)
    _cached: list[DataFrame] = field(default_factory=list, init=False, repr=False)
    _hadoop: HadoopStorage | None = field(default=None, init=False, repr=False)

    name = "spark"

    def __post_init__(self) -> None:
        import_pyspark()

    @property
    def version(self) -> str:
        import pyspark

        return str(pyspark.__version__)

    # -- the session -------------------------------------------------------------------

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            self._spark = start_session(self.master, self.threads, self.memory_limit)
        return self._spark

    def storage(self, location: str) -> Storage:
        """The local disk for a plain path; for a URI, the session's Hadoop file systems
        (starting the session), configured as the cluster is."""
        if not is_uri(location):
            return LOCAL
        if self._hadoop is None:
            session = self.spark
            jvm = session._jvm
            conf = session._jsc.hadoopConfiguration()
            self._hadoop = HadoopStorage(jvm, conf)
        return self._hadoop

    # -- reading inputs ----------------------------------------------------------------

    @contextmanager
    def _as_input_error(self, label: str, what: str) -> Iterator[None]:
        try:
            yield
        except spark_errors() as exc:
            raise InputError(label, f"{what}: {first_line(exc)}") from None

    def _read(self, source: InputSet) -> DataFrame:
        uris = [source.storage.uri(str(path)) for path in source.files]
        reader = self.spark.read
        with self._as_input_error(source.label, f"unreadable {source.format}"):
            if source.format == "parquet":
                return reader.option("mergeSchema", "true").parquet(*uris)
            if source.format == "jsonl":
                return reader.option("mode", "FAILFAST").json(uris)
            return (
                reader.option("header", "true")
                .option("mode", "FAILFAST")
                .option("multiLine", "true")
                .option("escape", '"')
                .csv(uris)
            )

    def _typed(self, source: InputSet, frame: DataFrame, schema: pa.Schema) -> DataFrame:
        """``frame`` with every contract column cast to its type; others dropped."""
        found = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        textual_ok = source.format != "parquet"
        columns = []
        for column in schema:
            if column.name not in found:
                raise InputError(source.label, "missing", column=column.name)
            target, accepted = spark_type(column.type)
            actual = found[column.name]
            textual = textual_ok and actual == "string"
            if actual not in accepted and not textual and actual != NULL_TYPE:
                raise InputError(
                    source.label,
                    f"has type {spelled(actual)}, expected {spelled(target)}",
                    column=column.name,
                )
            value = f"`{column.name}`"
            if source.format == "csv" and column.nullable:
                value = f"nullif({value}, '')"
            if textual and target.startswith("ARRAY"):
                value = f"from_json({value}, '{target}', map('mode', 'FAILFAST'))"
            elif target == "DATE" and actual in TIMESTAMPS:
                value = f"CAST({value} AS TIMESTAMP)"
            columns.append(f"CAST({value} AS {target}) AS `{column.name}`")
        return frame.selectExpr(*columns)

    def _persist(self, frame: DataFrame) -> DataFrame:
        from pyspark import StorageLevel

        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        self._cached.append(frame)
        return frame

    def _first(self, source: InputSet, sql: str, problem: str) -> None:
        """Fail naming ``source`` when ``sql`` returns a row (formatted into ``problem``)."""
        with self._as_input_error(source.label, "bad value"):
            rows = self.spark.sql(sql).collect()
        if rows:
            raise InputError(source.label, problem.format(*rows[0]))

    def _nulls(self, source: InputSet, view: str, columns: tuple[str, ...]) -> None:
        sums = ", ".join(f"sum(CASE WHEN `{c}` IS NULL THEN 1 ELSE 0 END)" for c in columns)
        with self._as_input_error(source.label, "bad value"):
            row = self.spark.sql(f"SELECT {sums} FROM {view}").collect()[0]
        for column, nulls in zip(columns, row, strict=True):
            if nulls:
                raise InputError(
                    source.label,
                    f"column {column!r}: {nulls} rows are null, the contract requires a value",
                )

    def _load(self, source: InputSet, schema: pa.Schema, view: str) -> DataFrame:
        """Read, type and cache one of the small-to-medium inputs as view ``view``."""
        if source in self._loaded:
            frame = self._loaded[source]
        else:
            frame = self._persist(self._typed(source, self._read(source), schema))
            with self._as_input_error(source.label, "bad value"):
                frame.count()
            self._loaded[source] = frame
        frame.createOrReplaceTempView(view)
        return frame

    def _load_accounts(self, source: InputSet) -> None:
        if source in self._loaded:
            self._load(source, ACCOUNTS, "accounts")
            return
        self._load(source, ACCOUNTS, "accounts")
        self._nulls(source, "accounts", ("user_id", "handle", "country", "created_at"))
        self._first(
            source,
            "SELECT user_id FROM accounts GROUP BY user_id HAVING count(*) > 1 LIMIT 1",
            "column 'user_id': duplicate id {}",
        )
        self._first(
            source,
            "SELECT lower(handle) FROM accounts GROUP BY lower(handle) HAVING count(*) > 1 LIMIT 1",
            "column 'handle': duplicate handle {!r} (handles are compared case-insensitively)",
        )
        self._first(
            source,
            "SELECT country FROM accounts WHERE NOT country RLIKE '^[A-Z]{2}$' LIMIT 1",
            "column 'country': {!r} is not an ISO 3166-1 alpha-2 code",
        )

    def _load_snapshot(self, source: InputSet) -> None:
        if source in self._loaded:
            self._load(source, SNAPSHOT, "snapshot")
            return
        self._load(source, SNAPSHOT, "snapshot")
        kinds = SPARK.strings([k.value for k in DecisionKind])
        self._first(
            source,
            f"SELECT kind FROM snapshot WHERE kind IS NULL OR kind NOT IN ({kinds}) LIMIT 1",
            "column 'kind': unknown decision kind {!r}",
        )
        self._nulls(source, "snapshot", ("effective_at", "request_id"))

    def _load_signals(self, source: InputSet) -> DataFrame:
        raw = self._typed(source, self._read(source), SIGNALS)
        raw.createOrReplaceTempView("signals_in")
        decisions = SPARK.strings([s.value for s in SignalDecision])
        self._first(
            source,
            f"SELECT decision FROM signals_in WHERE decision IS NULL "
            f"OR decision NOT IN ({decisions}) LIMIT 1",
            "column 'decision': unknown decision {!r} (reserved, allowed, unknown or error)",
        )
        return self.spark.sql(
            "SELECT content_id, bool_or(decision = 'reserved') AS reserved, "
            "bool_or(decision = 'unknown') AS unknown, "
            "bool_or(decision = 'error') AS unreadable "
            "FROM signals_in WHERE content_id IS NOT NULL GROUP BY content_id"
        )

    def _load_content(self, source: InputSet, store: Storage, work: str) -> None:
        """The content as view ``content``; JSONL and CSV are first converted to Parquet
        through the contract's casts, so a bad value fails here, naming the input."""
        frame = self._typed(source, self._read(source), CONTENT)
        if source.format != "parquet":
            converted = store.uri(store.child(work, "content"))
            with self._as_input_error(source.label, "bad value"):
                frame.write.parquet(converted)
            frame = self.spark.read.parquet(converted)
        frame.createOrReplaceTempView("content")

    def identifiers(self, snapshot: InputSet, plan_as_of: str) -> list[str]:
        """Identifiers to redact: those of non-members' objections and erasures at as-of."""
        from datetime import datetime

        self._load_snapshot(snapshot)
        as_of = SPARK.timestamp(datetime.fromisoformat(plan_as_of))
        try:
            rows = self.spark.sql(
                "SELECT DISTINCT explode(identifiers) AS identifier FROM snapshot "
                f"WHERE effective_at <= {as_of} "
                "AND kind IN ('objection', 'erasure') AND subject_id IS NULL"
            ).collect()
        except spark_errors() as exc:
            raise BuildError(f"Spark failed: {first_line(exc)}") from None
        return sorted(str(r[0]) for r in rows if r[0] is not None)

    # -- running -----------------------------------------------------------------------

    def _table(self, name: str, sql: str, broadcastable: bool = True) -> int:
        """Run ``sql`` into a cached view ``name``, broadcast to joins while it is small."""
        from pyspark.sql.functions import broadcast

        frame = self._persist(self.spark.sql(sql))
        rows = frame.count()
        if broadcastable and rows <= self.broadcast_rows:
            frame = broadcast(frame)
        frame.createOrReplaceTempView(name)
        return rows

    def _write_sorted(self, frame: DataFrame, parts: int, store: Storage, target: str) -> list[str]:
        """Write ``frame`` as ``parts`` files ranged and sorted by content_id, in order."""
        frame.repartitionByRange(parts, "content_id").sortWithinPartitions(
            "content_id"
        ).write.parquet(store.uri(target))
        files = [
            (int(name.split("-")[1]), path)
            for path in store.listdir(target)
            if (name := store.name(path)).startswith("part-") and name.endswith(".parquet")
        ]
        return [path for _, path in sorted(files)]

    def _shard_of(self, parts: int) -> str:
        """SQL: the shard of a kept row, from ``parts`` ranges of about equal size.

        The range bounds come from the kept rows' ids in the cached ``reasons``, not from
        sampling the kept rows themselves, which would run the redaction twice.
        """
        if parts <= 1:
            return "0"
        fractions = ", ".join(f"{n / parts!r}" for n in range(1, parts))
        row = self.spark.sql(
            f"SELECT percentile_approx(content_id, array({fractions}), 100000) "
            "FROM reasons WHERE reason IS NULL"
        ).collect()[0]
        bounds = sorted({int(b) for b in row[0]})

        def count_at_most(low: int, high: int) -> str:
            # How many bounds are <= content_id, knowing the answer is in [low, high].
            if low == high:
                return str(low)
            mid = (low + high) // 2
            return (
                f"CASE WHEN content_id < {bounds[mid]} THEN {count_at_most(low, mid)} "
                f"ELSE {count_at_most(mid + 1, high)} END"
            )

        return count_at_most(0, len(bounds))

    def _write_shards(self, frame: DataFrame, parts: int, store: Storage, target: str) -> list[str]:
        """Write the kept rows as about ``parts`` files, each one id range, sorted, in order.

        Every row of a shard goes to one task, which writes it as one file under
        ``shard=N/``; the files are returned in shard order.
        """
        shard = self._shard_of(parts)
        frame.selectExpr("*", f"{shard} AS shard").repartition(parts, "shard").sortWithinPartitions(
            "shard", "content_id"
        ).write.partitionBy("shard").parquet(store.uri(target))
        files = []
        for folder in store.listdir(target):
            name = store.name(folder)
            if name.startswith("shard=") and store.is_dir(folder):
                found = [p for p in store.listdir(folder) if p.endswith(".parquet")]
                if len(found) != 1:
                    raise BuildError(f"Spark wrote {len(found)} files for {name}, not 1")
                files.append((int(name.removeprefix("shard=")), found[0]))
        return [path for _, path in sorted(files)]

    @staticmethod
    def _dataset_columns(kept: DataFrame) -> DataFrame:
        """The kept rows with the Parquet "required" flags the DuckDB engine's shards carry.

        A kept row cannot hold a null in a required content column (the plan marks such a
        row invalid), so the ``coalesce`` only tells Spark what the rules guarantee; the
        lists, never null after the plan cleans them, are declared nullable as in the
        contract.
        """
        zero = {"BIGINT": "0L", "STRING": "''", "TIMESTAMP": "TIMESTAMP '1970-01-01 00:00:00'"}
        columns = []
        for column in DATASET:
            name = f"`{column.name}`"
            if column.name in CONTENT.names and not column.nullable:
                columns.append(f"coalesce({name}, {zero[spark_type(column.type)[0]]}) AS {name}")
            elif pa.types.is_list(column.type):
                columns.append(f"CASE WHEN content_id IS NULL THEN NULL ELSE {name} END AS {name}")
            else:
                columns.append(name)
        return kept.selectExpr(*columns)

    @staticmethod
    def _merge(store: Storage, parts: list[str], out: str, schema: pa.Schema) -> None:
        """Concatenate Parquet part files, in order, into one file in ``schema``."""
        with (
            store.open_write(out) as sink,
            pq.ParquetWriter(sink, schema, compression=COMPRESSION) as writer,
        ):
            for part in parts:
                with store.open_read(part) as source:
                    for batch in pq.ParquetFile(source).iter_batches(
                        batch_size=65_536, columns=schema.names
                    ):
                        writer.write_table(pa.Table.from_batches([batch]).cast(schema))

    def execute(
        self,
        plan: BuildPlan,
        content: InputSet,
        accounts: InputSet,
        snapshot: InputSet,
        staging: Path | str,
        chunk_rows: int = 1_000_000,
        progress: Callable[[int], None] | None = None,
        signals: InputSet | None = None,
    ) -> EngineOutput:
        """Run the plan on Spark, writing shards, exclusions and lineage into ``staging``.

        Kept rows are written in shards of about ``chunk_rows`` rows, ranged by
        ``content_id`` and sorted within each shard.
        """
        staged = str(staging)
        store = self.storage(staged)
        work = store.child(staged, ".work")
        store.mkdirs(work)
        output = EngineOutput()
        d = SPARK
        try:
            with output.timed("load accounts and snapshot"):
                self._load_accounts(accounts)
                self._load_snapshot(snapshot)
                if plan.signals:
                    if signals is None:
                        raise BuildError("the plan honours signals but no signals file was given")
                    frame = self._load_signals(signals)
                    frame.createOrReplaceTempView("signals_raw")
                    self._table("signals", "SELECT * FROM signals_raw")
                self._table("decisions", plan.decisions_sql(d))
                # One row per account: broadcast only while the accounts are few.
                self._table("authors", plan.authors_sql(d))
                self._table("blocked", plan.blocked_sql(d))
            self._load_content(content, store, work)
            with output.timed("third parties"):
                self._table("third_party", plan.third_party_sql(d))
            with output.timed("reasons"):
                reasons = self._persist(self.spark.sql(plan.reasons_sql(d)))
                reasons.createOrReplaceTempView("reasons")
                counts = [
                    (r[0], r[1], r[2], int(r[3]))
                    for r in self.spark.sql(
                        "SELECT reason, author_country, kind, count(*) FROM reasons "
                        "GROUP BY reason, author_country, kind"
                    ).collect()
                ]
            output.counts.extend(counts)
            total = sum(count for *_, count in counts)
            if progress:
                progress(total)
            if any(reason and reason.startswith("!") for reason, *_ in counts):
                return output  # the build refuses the input; nothing more to write
            with output.timed("check ids"):
                self._first(
                    content,
                    "SELECT content_id FROM reasons GROUP BY content_id "
                    "HAVING count(*) > 1 LIMIT 1",
                    "column 'content_id': duplicate id {}",
                )
            excluded = sum(count for reason, *_, count in counts if reason is not None)
            kept = total - excluded
            with output.timed("write exclusions"):
                parts = (
                    self._write_sorted(
                        self.spark.sql(
                            "SELECT content_id, reason FROM reasons WHERE reason IS NOT NULL"
                        ),
                        max(1, math.ceil(excluded / chunk_rows)),
                        store,
                        store.child(work, "exclusions"),
                    )
                    if excluded
                    else []
                )
                self._merge(store, parts, store.child(staged, EXCLUSIONS_FILE), EXCLUSIONS)
            shards: list[str] = []
            if kept:
                with output.timed("redact and write shards"):
                    parts = self._write_shards(
                        self._dataset_columns(self.spark.sql(plan.kept_sql(d, reasons="reasons"))),
                        max(1, math.ceil(kept / chunk_rows)),
                        store,
                        store.child(work, "kept"),
                    )
                    for number, part in enumerate(parts):
                        name = f"part-{number:05d}.parquet"
                        shard = store.child(staged, name)
                        store.rename(part, shard)
                        with store.open_read(shard) as handle:
                            rows = int(pq.ParquetFile(handle).metadata.num_rows)
                        output.shards.append((name, rows))
                        shards.append(shard)
            with output.timed("write lineage"):
                self._merge(store, shards, store.child(staged, LINEAGE_FILE), LINEAGE)
        except spark_errors() as exc:
            raise BuildError(f"Spark failed: {first_line(exc)}") from None
        finally:
            self._release()
            store.delete(work)
        return output

    def _release(self) -> None:
        """Drop what this build cached, so a long-lived session does not fill up."""
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()
        self._loaded.clear()
        if self._spark is not None:
            for view in (
                "content", "accounts", "snapshot", "decisions", "authors", "blocked",
                "third_party", "signals", "signals_in", "signals_raw", "reasons",
            ):  # fmt: skip
                self._spark.catalog.dropTempView(view)


__all__ = ["DEFAULT_BROADCAST_ROWS", "SparkEngine", "import_pyspark"]
