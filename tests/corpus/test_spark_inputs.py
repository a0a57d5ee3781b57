"""Inputs on the Spark engine: the formats the DuckDB engine reads, the same errors, and
how ``notrain build --engine spark`` fails when PySpark or Java is missing."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from notrain.corpus.build import BuildRequest, BuildResult, build_dataset
from notrain.corpus.dataset import verify
from notrain.errors import EngineUnavailableError, ExtraNotInstalled
from tests.corpus import test_inputs
from tests.corpus.test_inputs import sample_world

pytestmark = pytest.mark.slow


def _on_spark(request: BuildRequest, progress: Any = None) -> BuildResult:
    return build_dataset(dataclasses.replace(request, engine="spark"), progress)


@pytest.fixture
def on_spark(spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    del spark
    monkeypatch.setattr(test_inputs, "build_dataset", _on_spark)


def test_jsonl_csv_directories_and_globs_on_spark(
    tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """test_inputs.py's format test: the reference built by DuckDB, every other by Spark."""
    del spark
    engines: list[str] = []

    def duckdb_then_spark(request: BuildRequest, progress: Any = None) -> BuildResult:
        request = dataclasses.replace(request, engine="spark" if engines else "duckdb")
        engines.append(request.engine)
        return build_dataset(request, progress)

    monkeypatch.setattr(test_inputs, "build_dataset", duckdb_then_spark)
    test_inputs.test_jsonl_csv_directories_and_globs_give_the_same_dataset(tmp_path)
    assert engines == ["duckdb", "spark", "spark", "spark", "spark"]


@pytest.mark.usefixtures("on_spark")
@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ("missing column", "column 'visibility': missing"),
        ("wrong type", "column 'content_id': has type VARCHAR, expected BIGINT"),
        ("unknown kind", "1 rows with unknown kind"),
        ("duplicate id", "column 'content_id': duplicate id"),
        ("null author", "1 rows with null author_id"),
    ],
)
def test_bad_content_is_refused_on_spark(tmp_path: Path, mutate: str, message: str) -> None:
    test_inputs.test_bad_content_is_refused(tmp_path, mutate, message)


@pytest.mark.usefixtures("on_spark")
def test_unreadable_and_bad_values_on_spark(tmp_path: Path) -> None:
    test_inputs.test_unreadable_file(tmp_path / "unreadable")
    test_inputs.test_bad_value_in_jsonl(tmp_path / "jsonl")
    test_inputs.test_duplicate_handles_case_insensitive(tmp_path / "handles")


def _cli(*args: str, env: dict[str, str] | None = None, code: str = "") -> Any:
    """``notrain build`` in a child process, after ``code`` (to take something away)."""
    program = f"{code}\nfrom notrain.cli import main\nmain()"
    return subprocess.run(
        [sys.executable, "-c", program, "build", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _inputs(tmp_path: Path) -> list[str]:
    accounts, content, registry = sample_world().write(tmp_path / "in")
    return ["--content", str(content), "--accounts", str(accounts), "--registry", str(registry),
            "--as-of", "2026-06-01", "--no-register"]  # fmt: skip


def test_without_pyspark_the_build_fails_with_an_install_hint(tmp_path: Path) -> None:
    out = tmp_path / "out"
    hide = "import sys; sys.modules['pyspark'] = None"  # as if the extra were not installed
    proc = _cli(*_inputs(tmp_path), "--engine", "spark", "--out", str(out), code=hide)
    assert proc.returncode == ExtraNotInstalled.exit_code, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: this needs the 'spark' extra (pyspark missing): pip install 'notrain[spark]'"
    ]
    assert not out.exists()


@pytest.mark.usefixtures("spark_runtime")
def test_without_java_the_build_fails_saying_so(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path / "no-java-here")
    proc = _cli(*_inputs(tmp_path), "--engine", "spark", "--out", str(out), env=env)
    assert proc.returncode == EngineUnavailableError.exit_code, proc.stderr
    assert "Java 17" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.usefixtures("spark_runtime")
def test_cli_builds_on_spark_in_local_mode(tmp_path: Path) -> None:
    """The whole command in its own process: its own JVM, local[1], JSON manifest out."""
    out = tmp_path / "out"
    proc = _cli(*_inputs(tmp_path), "--engine", "spark", "--spark-master", "local[1]",
                "--out", str(out), "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)
    assert manifest["engine"]["name"] == "spark"
    assert manifest["counts"]["kept"] == 1
    assert manifest["counts"]["excluded_by_reason"]["third_party_objected"] == 1
    assert verify(out) == []
