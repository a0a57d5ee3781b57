"""The build engines, and how a build picks one.

Every engine runs the same :class:`~notrain.corpus.plan.BuildPlan`; they differ only in
where the work happens. DuckDB (the default) runs in-process on one machine; Spark runs
on a cluster, or in local mode. PySpark is an optional extra, imported only when chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from notrain.corpus.duckdb_engine import DuckDBEngine, EngineOutput
from notrain.corpus.plan import BuildPlan
from notrain.corpus.sources import InputSet
from notrain.corpus.storage import Storage
from notrain.errors import UserError

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    """What a build needs of an engine."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def storage(self, location: str) -> Storage:
        """Where the driver reads and writes ``location``; refuses what the engine cannot."""
        ...

    def identifiers(self, snapshot: InputSet, plan_as_of: str) -> list[str]: ...

    def execute(
        self,
        plan: BuildPlan,
        content: InputSet,
        accounts: InputSet,
        snapshot: InputSet,
        staging: Path | str,
        chunk_rows: int = ...,
        progress: Callable[[int], None] | None = ...,
        signals: InputSet | None = ...,
    ) -> EngineOutput: ...


def create_engine(
    name: str,
    *,
    threads: int | None = None,
    memory_limit: str = "1GB",
    temp_dir: Path | None = None,
    spark_master: str | None = None,
    broadcast_rows: int | None = None,
) -> Engine:
    """The engine called ``name``, configured for one build.

    Raises :class:`~notrain.errors.ExtraNotInstalled` when ``spark`` is asked for without
    PySpark installed.
    """
    if name == "duckdb":
        if spark_master:
            raise UserError("--spark-master only applies to --engine spark")
        return DuckDBEngine(threads=threads, memory_limit=memory_limit, temp_dir=temp_dir)
    if name == "spark":
        from notrain.corpus.spark_engine import DEFAULT_BROADCAST_ROWS, SparkEngine

        return SparkEngine(
            master=spark_master,
            threads=threads,
            memory_limit=memory_limit,
            broadcast_rows=DEFAULT_BROADCAST_ROWS if broadcast_rows is None else broadcast_rows,
        )
    raise UserError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
