"""Starting (or joining) the Spark session the engine runs on, and Spark's errors."""

from __future__ import annotations

import os
import re
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from notrain.corpus.dataset import COMPRESSION
from notrain.errors import EngineUnavailableError, ExtraNotInstalled

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Set on every session the engine uses, whoever created it: they decide what the plan's
# SQL means (UTC timestamps, errors on bad casts) and what the files look like.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": COMPRESSION,
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
    "spark.sql.sources.partitionOverwriteMode": "STATIC",
}


def import_pyspark() -> None:
    """Import PySpark, or fail with the install hint; silences its pandas-version notice."""
    try:
        with warnings.catch_warnings():
            # PySpark warns on import about pandas versions it has not been tested with;
            # the engine never moves data through pandas.
            warnings.filterwarnings(
                "ignore", message="PySpark does not yet fully support", category=FutureWarning
            )
            import pyspark.sql
            import pyspark.testing.utils  # noqa: F401  (py4j imports it on first use)
    except ImportError:
        raise ExtraNotInstalled("spark", ["pyspark"]) from None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return re.sub(r"\s*SQLSTATE: \w+\s*$", "", line)


def spark_errors() -> tuple[type[BaseException], ...]:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def _spark_memory(limit: str) -> str:
    """``1GB`` (DuckDB's spelling, the CLI's) as ``1g`` (the JVM's)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", limit, re.IGNORECASE)
    if not match:
        return limit
    number, unit = match.groups()
    return f"{number}{unit.lower() or 'b'}"


def start_session(master: str | None, threads: int | None, memory_limit: str) -> SparkSession:
    """The active session if it runs on ``master`` (or none is asked for), else a new one;
    configured with :data:`SESSION_CONF` either way."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master in (None, active.conf.get("spark.master")):
        session = active
    else:
        # Under spark-submit the launcher has started the JVM with the cluster's
        # configuration (master, memory, executors); only a plain process starts one.
        submitted = "PYSPARK_GATEWAY_PORT" in os.environ
        if not submitted and shutil.which("java") is None and not _java_home():
            raise EngineUnavailableError(
                "the Spark engine needs a Java 17 runtime and none was found "
                "(install openjdk-17-jre-headless, or run scripts/java.sh)"
            )
        builder = SparkSession.builder.appName("notrain build")
        if master is None and not submitted:
            master = f"local[{threads or '*'}]"
        if master is not None:
            builder = builder.master(master)
        if master is not None and master.startswith("local") and not submitted:
            # One machine: stay on loopback, and size shuffles to its cores rather
            # than Spark's cluster default of 200 partitions.
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            cores = threads or os.cpu_count() or 1
            builder = (
                builder.config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.memory", _spark_memory(memory_limit))
                .config("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
            )
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        try:
            session = builder.getOrCreate()
        except spark_errors() as exc:
            raise EngineUnavailableError(
                f"Spark could not start on {master or 'the submitted master'}: {first_line(exc)}"
            ) from None
        session.sparkContext.setLogLevel("ERROR")
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session


def _java_home() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home) and Path(home or "", "bin", "java").exists()


__all__ = ["SESSION_CONF", "import_pyspark", "spark_errors", "start_session"]
