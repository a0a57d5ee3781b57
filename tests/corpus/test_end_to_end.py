"""From a synthetic platform to a verified dataset, through the real CLI and library."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from notrain.corpus.build import BuildRequest, build_dataset
from notrain.corpus.dataset import verify
from notrain.policy.loader import load_default_policy
from notrain.synth import SNAPSHOT_FILE, synthesize_platform, synthesize_snapshot

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
PHONE_DIGITS = re.compile(r"(?<![\w@+])\+?\(?\d(?:[ .()\-]{0,3}\d){6,}(?!\w)")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    result = synthesize_platform(root, 4000, seed=11, batch_rows=10_000)
    synthesize_snapshot(result.accounts_path, root / SNAPSHOT_FILE, seed=11, non_member_rate=0.01)
    return root


@pytest.fixture(scope="module")
def built(platform: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "dataset"
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "build",
         "--content", str(platform / "content.parquet"),
         "--accounts", str(platform / "accounts.parquet"),
         "--registry", str(platform / SNAPSHOT_FILE),
         "--as-of", AS_OF.isoformat(), "--out", str(out), "--chunk-rows", "5000", "--json",
         "--no-register"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dataset_id"].startswith("ds-")
    return out


def _kept(out: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for shard in sorted(out.glob("part-*.parquet")):
        rows.extend(pq.read_table(shard).to_pylist())
    return rows


def test_counts_add_up(platform: Path, built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    counts = manifest["counts"]
    content_ids = pq.read_table(platform / "content.parquet", columns=["content_id"])
    kept = [r["content_id"] for r in _kept(built)]
    excluded = pq.read_table(built / "exclusions.parquet")["content_id"].to_pylist()
    assert counts["input"] == content_ids.num_rows
    assert counts["kept"] == len(kept) == sum(s["rows"] for s in manifest["shards"])
    assert counts["excluded"] == len(excluded) == sum(counts["excluded_by_reason"].values())
    assert sorted(kept + excluded) == sorted(content_ids["content_id"].to_pylist())
    assert len(manifest["shards"]) > 1
    assert sum(counts["kept_by_country"].values()) == counts["kept"]
    assert sum(counts["excluded_by_kind"].values()) == counts["excluded"]
    for reason in ("kind_not_allowed", "not_public", "author_unknown", "author_minor",
                   "author_erased", "author_objected", "third_party_objected"):  # fmt: skip
        assert counts["excluded_by_reason"][reason] > 0, reason


def test_manifest_hashes_verify(platform: Path, built: Path) -> None:
    assert verify(built) == []
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["policy"]["sha256"] == load_default_policy().sha256
    assert manifest["registry_snapshot"]["sidecar_verified"] is True
    sidecar = json.loads((platform / (SNAPSHOT_FILE + ".json")).read_text())
    assert manifest["registry_snapshot"]["sha256"] == sidecar["sha256"]
    shard = sorted(built.glob("part-*.parquet"))[0]
    shard.write_bytes(shard.read_bytes() + b"tampered")
    try:
        assert verify(built) == [f"{shard.name}: sha256 does not match the manifest"]
    finally:
        shard.write_bytes(shard.read_bytes()[: -len(b"tampered")])


def test_no_objector_content_or_identifier_in_any_shard(platform: Path, built: Path) -> None:
    snapshot = pq.read_table(platform / SNAPSHOT_FILE).to_pylist()
    accounts = {a["user_id"]: a for a in pq.read_table(platform / "accounts.parquet").to_pylist()}
    stopping = [
        d for d in snapshot if d["kind"] in ("objection", "erasure") and d["effective_at"] <= AS_OF
    ]
    blocked = {d["subject_id"] for d in stopping if d["subject_id"] is not None}
    handles = {accounts[b]["handle"].lower() for b in blocked if b in accounts}
    identifiers = {i.lower() for d in stopping if d["subject_id"] is None for i in d["identifiers"]}
    assert blocked
    assert identifiers
    kept = _kept(built)
    assert kept
    mention = re.compile(r"(?<![\w.@])@([A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)")
    for row in kept:
        assert row["author_id"] not in blocked
        assert not blocked & set(row["mentions"])
        assert not blocked & set(row["tags"])
        text = row["text"] or ""
        lowered = text.lower()
        assert not {m.lower() for m in mention.findall(text)} & handles, text
        for ident in identifiers:
            for found in re.finditer(re.escape(ident), lowered):
                before = lowered[found.start() - 1] if found.start() else " "
                after = lowered[found.end()] if found.end() < len(lowered) else " "
                assert before.isalnum() or before == "_" or after.isalnum() or after == "_", text
        assert not EMAIL.search(text), text
        assert not PHONE_DIGITS.search(text), text
    lineage = pq.read_table(built / "lineage.parquet").to_pylist()
    assert {r["content_id"] for r in lineage} == {r["content_id"] for r in kept}
    assert all(not blocked & set(r["mentions"] + r["tags"]) for r in lineage)


def test_redaction_happened(built: Path) -> None:
    texts = " ".join(r["text"] or "" for r in _kept(built))
    for placeholder in ("[email]", "[phone]", "@[redacted]", "[redacted]"):
        assert placeholder in texts


def test_rerun_is_byte_identical(platform: Path, built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_dataset(
        BuildRequest(
            content=str(platform / "content.parquet"),
            accounts=str(platform / "accounts.parquet"),
            registry=str(platform / SNAPSHOT_FILE),
            out=again,
            policy=load_default_policy(),
            as_of=AS_OF,
            chunk_rows=5000,
            threads=1,
        )
    )
    names = sorted(p.name for p in built.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (built / name).read_bytes() == (again / name).read_bytes(), name
