"""The Spark engine and the DuckDB engine build the same dataset from the same inputs.

One synthetic platform, a policy that makes every rule fire (a consent regime, an
excluded jurisdiction, one not yet active, one with ``content_since``, countries no
jurisdiction covers, opt-out signals with unknowns left out), built by both engines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from notrain.corpus.build import BuildRequest, BuildResult, build_dataset
from notrain.corpus.dataset import verify
from notrain.policy.loader import load_policy_text
from notrain.policy.model import REASON_ORDER
from notrain.synth import SNAPSHOT_FILE, synthesize_platform, synthesize_snapshot
from tests.corpus.world import assert_in_shard_order

pytestmark = pytest.mark.slow

USERS = 20_000  # x 10 items each: 200,000 content rows
CHUNK_ROWS = 40_000
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)

POLICY = """
name = "parity"
purpose = "every rule fires"
[content]
kinds = ["post", "photo", "video", "caption", "comment"]
visibility = ["public"]
[authors]
min_age = 18
unknown_age = "exclude"
[[jurisdictions]]
name = "Consent first"
countries = ["DE", "AT", "NL"]
regime = "consent"
active_from = 2024-01-01
[[jurisdictions]]
name = "Never"
countries = ["CH", "IN"]
regime = "excluded"
active_from = 2024-01-01
[[jurisdictions]]
name = "France, recent content only"
countries = ["FR"]
regime = "objection"
active_from = 2024-01-01
content_since = 2024-06-01
[[jurisdictions]]
name = "Brazil, not yet"
countries = ["BR"]
regime = "objection"
active_from = 2027-01-01
[[jurisdictions]]
name = "Europe"
countries = [
    "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "GR", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB",
]
regime = "objection"
active_from = 2025-05-27
[[jurisdictions]]
name = "Elsewhere (not NG or ZA)"
countries = ["US", "MX", "CA", "JP", "KR", "AU"]
regime = "objection"
active_from = 2023-09-27
[objections]
retroactive = true
[third_parties]
tagged = "exclude"
mentioned = "redact"
identifiers = "redact"
[signals]
honour = true
unknown = "exclude"
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parity")
    result = synthesize_platform(root, USERS, seed=5, batch_rows=50_000)
    synthesize_snapshot(
        result.accounts_path, root / SNAPSHOT_FILE, seed=5, consent_rate=0.3, non_member_rate=0.01
    )
    # Signals for a tenth of the media, as `notrain signals scan-media` would write them.
    content = pq.read_table(result.content_path, columns=["content_id", "kind"])
    media = content.filter(pc.is_in(content["kind"], pa.array(["photo", "video"])))
    rng = np.random.default_rng(5)
    picked = rng.choice(media.num_rows, size=media.num_rows // 10, replace=False)
    ids = media["content_id"].take(pa.array(np.sort(picked))).to_pylist()
    decisions = rng.choice(["reserved", "allowed", "unknown", "error"], size=len(ids)).tolist()
    signals = pa.table(
        {
            "content_id": pa.array([*ids, None], pa.int64()),
            "decision": [*decisions, "error"],
            "evidence": ["test"] * (len(ids) + 1),
        }
    )
    pq.write_table(signals, root / "signals.parquet")
    return root


def _build(platform: Path, out: Path, engine: str) -> BuildResult:
    return build_dataset(
        BuildRequest(
            content=str(platform / "content.parquet"),
            accounts=str(platform / "accounts.parquet"),
            registry=str(platform / SNAPSHOT_FILE),
            signals=str(platform / "signals.parquet"),
            out=out,
            policy=load_policy_text(POLICY, "parity.toml"),
            as_of=AS_OF,
            chunk_rows=CHUNK_ROWS,
            engine=engine,
        )
    )


@pytest.fixture(scope="module")
def duckdb_built(platform: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return _build(platform, tmp_path_factory.mktemp("duckdb") / "dataset", "duckdb")


@pytest.fixture(scope="module")
def spark_built(
    platform: Path, tmp_path_factory: pytest.TempPathFactory, spark: Any
) -> BuildResult:
    del spark  # the engine runs on the session the fixture started
    return _build(platform, tmp_path_factory.mktemp("spark") / "dataset", "spark")


def _shards(out: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(s) for s in sorted(out.glob("part-*.parquet")))


def _assert_same_rows(left: pa.Table, right: pa.Table, what: str) -> None:
    left, right = left.sort_by("content_id"), right.sort_by("content_id")
    # Spark records its own schema in the file's key-value metadata; the columns must agree.
    assert left.schema.remove_metadata() == right.schema.remove_metadata(), what
    assert left.num_rows == right.num_rows, what
    for name in left.column_names:
        if not left[name].equals(right[name]):
            a, b = left[name].to_pylist(), right[name].to_pylist()
            first = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            cid = left["content_id"][first].as_py()
            pytest.fail(
                f"{what}: {name} of content_id {cid}: duckdb {a[first]!r}, spark {b[first]!r}"
            )


def test_every_rule_fires(duckdb_built: BuildResult) -> None:
    counts = duckdb_built.counts
    for reason in REASON_ORDER:
        assert counts["excluded_by_reason"][reason.value] > 0, reason
    assert counts["kept"] > 0
    texts = " ".join(t or "" for t in _shards(Path(duckdb_built.out))["text"].to_pylist())
    for placeholder in ("[email]", "[phone]", "@[redacted]", " [redacted]"):
        assert placeholder in texts, placeholder


def test_same_counts_and_manifest(duckdb_built: BuildResult, spark_built: BuildResult) -> None:
    mine, theirs = spark_built.manifest, duckdb_built.manifest
    assert mine["counts"] == theirs["counts"]
    assert mine["engine"]["name"] == "spark"
    assert mine["dataset_id"] != theirs["dataset_id"]  # the engine is part of the identity
    for key in ("as_of", "policy", "registry_snapshot", "inputs", "reason_order", "redaction"):
        assert mine[key] == theirs[key], key
    assert sum(s["rows"] for s in mine["shards"]) == mine["counts"]["kept"]
    assert len(mine["shards"]) == -(-mine["counts"]["kept"] // CHUNK_ROWS)
    assert verify(Path(spark_built.out)) == []


def test_same_kept_rows_and_redacted_text(
    duckdb_built: BuildResult, spark_built: BuildResult
) -> None:
    _assert_same_rows(_shards(Path(duckdb_built.out)), _shards(Path(spark_built.out)), "kept rows")


def test_each_spark_shard_is_sorted_and_ranged(spark_built: BuildResult) -> None:
    previous_last = None
    for shard in sorted(Path(spark_built.out).glob("part-*.parquet")):
        ids = pq.read_table(shard, columns=["content_id"])["content_id"].to_pylist()
        assert ids == sorted(ids), shard.name
        if previous_last is not None:
            assert ids[0] > previous_last, shard.name
        previous_last = ids[-1]


def test_lineage_lists_the_shards_rows_in_order(
    duckdb_built: BuildResult, spark_built: BuildResult
) -> None:
    # A recall makes its lineage from the parent's by row position: both engines must
    # write it in shard order.
    assert_in_shard_order(Path(duckdb_built.out))
    assert_in_shard_order(Path(spark_built.out))


def test_same_exclusions_and_lineage(duckdb_built: BuildResult, spark_built: BuildResult) -> None:
    for name in ("exclusions.parquet", "lineage.parquet"):
        _assert_same_rows(
            pq.read_table(Path(duckdb_built.out) / name),
            pq.read_table(Path(spark_built.out) / name),
            name,
        )
        assert pq.read_schema(Path(spark_built.out) / name) == pq.read_schema(
            Path(duckdb_built.out) / name
        )


def test_spark_timestamps_are_utc_micros(spark_built: BuildResult) -> None:
    shard = sorted(Path(spark_built.out).glob("part-*.parquet"))[0]
    assert pq.read_schema(shard).field("created_at").type == pa.timestamp("us", tz="UTC")
    manifest = json.loads((Path(spark_built.out) / "manifest.json").read_text())
    assert manifest["engine"]["version"]
