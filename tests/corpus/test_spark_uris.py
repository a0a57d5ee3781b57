"""``notrain build --engine spark`` with its inputs and output given as URIs.

Every location is a ``file://`` URI, so the driver's file work — expanding inputs, hashing
them, the snapshot's sidecar, staging, merging, the manifest, the publish and the cleanup —
runs through Hadoop's ``FileSystem`` API (its ``LocalFileSystem``), the code path HDFS and
S3 take. HDFS and S3 themselves are not tested: there is no cluster, no network and no
hadoop-aws here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.corpus.build import BuildRequest, BuildResult, build_dataset
from notrain.corpus.dataset import verify
from notrain.errors import InputError, OutputError, SnapshotIntegrityError
from notrain.policy.loader import load_default_policy
from tests.corpus.test_inputs import _content_with, sample_world
from tests.corpus.world import World

pytestmark = pytest.mark.slow

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def uri(path: Path) -> str:
    return f"file://{path}"


def _world() -> World:
    """sample_world and a few more: kept rows, every kind of exclusion, a signal."""
    w = sample_world()
    cy = w.account(3, handle="cy", country="DE")
    for n in range(5):
        w.item(cy, text=f"note {n}, write to cy@example.org", mentions=[1] if n % 2 else [])
    w.item(cy, visibility="private")
    photo = w.item(cy, kind="photo", text=None)
    w.signal(photo, "reserved")
    return w


def _write(root: Path) -> dict[str, Path]:
    w = _world()
    accounts, content, registry = w.write(root)
    signals = root / "signals.parquet"
    pq.write_table(pa.Table.from_pylist(w.signals or []), signals)
    return {"content": content, "accounts": accounts, "registry": registry, "signals": signals}


def _build(paths: dict[str, str], out: Path | str, engine: str = "spark") -> BuildResult:
    return build_dataset(
        BuildRequest(
            content=paths["content"],
            accounts=paths["accounts"],
            registry=paths["registry"],
            signals=paths.get("signals"),
            out=out,
            policy=load_default_policy(),
            as_of=AS_OF,
            engine=engine,
            chunk_rows=3,
        )
    )


def _rows(out: Path, pattern: str) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(out.glob(pattern)):
        rows.extend(pq.read_table(name).to_pylist())
    return sorted(rows, key=lambda r: r["content_id"])


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".staging-")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _write(tmp_path_factory.mktemp("uris") / "in")


@pytest.fixture(scope="module")
def plain(inputs: dict[str, Path], spark: Any) -> BuildResult:
    del spark
    return _build({k: str(v) for k, v in inputs.items()}, inputs["content"].parent.parent / "plain")


@pytest.fixture(scope="module")
def through_hadoop(inputs: dict[str, Path], spark: Any) -> BuildResult:
    del spark
    out = inputs["content"].parent.parent / "hadoop"
    return _build({k: uri(v) for k, v in inputs.items()}, uri(out))


def test_file_uris_build_what_plain_paths_build(
    inputs: dict[str, Path], plain: BuildResult, through_hadoop: BuildResult
) -> None:
    assert through_hadoop.out == uri(inputs["content"].parent.parent / "hadoop")
    mine, theirs = through_hadoop.manifest, plain.manifest
    assert mine["counts"] == theirs["counts"]
    assert mine["counts"]["kept"] >= 3
    assert mine["counts"]["excluded_by_reason"]["signal_reserved"] == 1
    assert mine["registry_snapshot"]["sha256"] == theirs["registry_snapshot"]["sha256"]
    assert mine["registry_snapshot"]["sidecar_verified"] is True
    assert mine["registry_snapshot"]["taken_at"] == theirs["registry_snapshot"]["taken_at"]
    assert [s["rows"] for s in mine["shards"]] == [s["rows"] for s in theirs["shards"]]
    # The inputs are recorded under their URIs, with the sha256 of their bytes.
    for role in ("content", "accounts", "signals"):
        path = inputs[role]
        assert mine["inputs"][role] == {uri(path): hashlib.sha256(path.read_bytes()).hexdigest()}
        assert list(theirs["inputs"][role].values()) == list(mine["inputs"][role].values())
    snapshot = inputs["registry"]
    assert mine["registry_snapshot"]["files"] == {
        uri(snapshot): hashlib.sha256(snapshot.read_bytes()).hexdigest()
    }

    out, reference = inputs["content"].parent.parent / "hadoop", Path(plain.out)
    for pattern in ("part-*.parquet", "exclusions.parquet", "lineage.parquet"):
        assert _rows(out, pattern) == _rows(reference, pattern), pattern
    assert json.loads((out / "manifest.json").read_text()) == mine
    assert verify(out) == []
    assert _leftovers(out.parent) == []


def test_a_directory_and_a_glob_uri(
    tmp_path: Path, inputs: dict[str, Path], plain: BuildResult
) -> None:
    content = pq.read_table(inputs["content"])
    shards = tmp_path / "content"
    shards.mkdir()
    half = content.num_rows // 2
    pq.write_table(content.slice(0, half), shards / "a.parquet")
    pq.write_table(content.slice(half), shards / "b.parquet")
    (shards / "_SUCCESS").write_bytes(b"")  # what a Spark job leaves: not an input
    paths = {k: uri(v) for k, v in inputs.items()}
    paths["content"] = uri(shards)
    paths["accounts"] = uri(inputs["accounts"].parent / "acc*.parquet")
    result = _build(paths, uri(tmp_path / "out"))
    assert result.manifest["counts"] == plain.manifest["counts"]
    recorded = result.manifest["inputs"]
    # Hadoop names the files it listed in its own spelling of the URI (file:/...).
    assert [Path(k.removeprefix("file:")).name for k in recorded["content"]] == [
        "a.parquet",
        "b.parquet",
    ]
    assert list(recorded["accounts"]) == [f"file:{inputs['accounts']}"]
    assert _rows(tmp_path / "out", "part-*.parquet") == _rows(Path(plain.out), "part-*.parquet")


def test_an_existing_output_uri_is_refused(tmp_path: Path, inputs: dict[str, Path]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("someone else's")
    with pytest.raises(OutputError, match="already exists"):
        _build({k: uri(v) for k, v in inputs.items()}, uri(out))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "someone else's"
    assert _leftovers(tmp_path) == []


def test_a_bad_input_found_by_spark_leaves_no_staging(tmp_path: Path, spark: Any) -> None:
    del spark
    accounts, content, registry = _content_with(tmp_path, "duplicate id")
    out = tmp_path / "out"
    paths = {"content": uri(content), "accounts": uri(accounts), "registry": uri(registry)}
    with pytest.raises(InputError, match="column 'content_id': duplicate id"):
        _build(paths, uri(out))
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_a_changed_snapshot_is_refused_through_hadoop(
    tmp_path: Path, inputs: dict[str, Path], spark: Any
) -> None:
    del spark
    paths = {k: uri(v) for k, v in inputs.items()}
    registry = tmp_path / "registry.parquet"
    registry.write_bytes(inputs["registry"].read_bytes() + b"\0")
    sidecar = inputs["registry"].with_name("registry.parquet.json")
    (tmp_path / "registry.parquet.json").write_bytes(sidecar.read_bytes())
    paths["registry"] = uri(registry)
    with pytest.raises(SnapshotIntegrityError, match="does not match"):
        _build(paths, uri(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_the_duckdb_engine_refuses_uris(tmp_path: Path, inputs: dict[str, Path]) -> None:
    paths = {k: str(v) for k, v in inputs.items()}
    with pytest.raises(InputError, match="use --engine spark"):
        _build({**paths, "content": uri(inputs["content"])}, tmp_path / "out", engine="duckdb")
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "build", "--content", paths["content"],
         "--accounts", paths["accounts"], "--registry", paths["registry"],
         "--out", uri(tmp_path / "out"), "--no-register"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == InputError.exit_code, proc.stderr
    assert "use --engine spark" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_dataset_verify_takes_a_uri(
    tmp_path: Path, inputs: dict[str, Path], through_hadoop: BuildResult
) -> None:
    from typer.testing import CliRunner

    from notrain.cli import app

    built = Path(str(through_hadoop.out).removeprefix("file://"))
    assert built == inputs["content"].parent.parent / "hadoop"
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    runner = CliRunner()
    result = runner.invoke(app, ["dataset", "verify", uri(copy)])
    assert result.exit_code == 0, result.output
    assert "every file matches its manifest" in result.output
    (copy / "lineage.parquet").unlink()
    result = runner.invoke(app, ["dataset", "verify", uri(copy)])
    assert result.exit_code == 8
    assert "lineage.parquet: missing" in result.output
