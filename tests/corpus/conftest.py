"""Fixtures shared by the corpus tests: one local Spark session per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from notrain.errors import ExtraNotInstalled

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _missing(problem: str) -> None:
    """Like the other tests that need a system program: fail in CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def spark_runtime() -> None:
    """PySpark and a Java runtime are there (tests that start their own Spark use this)."""
    from notrain.corpus.spark_engine import import_pyspark

    try:
        import_pyspark()
    except ExtraNotInstalled as exc:
        _missing(str(exc))
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _missing("no Java runtime for Spark (scripts/java.sh installs one)")


@pytest.fixture(scope="session")
def spark(spark_runtime: None) -> Iterator[SparkSession]:
    """Spark in local mode on two cores, loopback only, no UI; the Spark engine uses it."""
    del spark_runtime
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("notrain tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
