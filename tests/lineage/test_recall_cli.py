"""`notrain recall --dataset ID [--registry F] --out DIR` as its users run it: by catalogue
id, with the snapshot exported from the registry database when none is given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from notrain.registry.campaign import read_codes
from notrain.registry.snapshot import verify_snapshot
from notrain.synth import synthesize_platform


@pytest.fixture
def notrain(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    platform = tmp_path / "platform"
    synthesize_platform(platform, 400, seed=11)
    env = {
        **os.environ,
        "NOTRAIN_DATABASE_URL": database_url,
        "NOTRAIN_ACCOUNTS_PATH": str(platform / "accounts.parquet"),
        "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NOTRAIN_SECRET_KEY": "recall-cli-test-secret-key-0123456789",
    }
    env.pop("NOTRAIN_SMTP_HOST", None)

    def run(*args: str, code: int = 0) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "notrain.cli", *args],
            capture_output=True, text=True, check=False, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == code, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        return proc.stdout if code == 0 else proc.stderr

    return run


def _kept_authors(dataset: Path) -> Counter[int]:
    authors = pq.read_table(dataset / "lineage.parquet", columns=["author_id"])["author_id"]
    return Counter(authors.to_pylist())


def test_recall_by_catalogue_id_exports_the_registry_when_no_snapshot_is_given(
    notrain: Callable[..., str], tmp_path: Path
) -> None:
    platform = tmp_path / "platform"
    notrain("registry", "export", "--out", "before.parquet")
    notrain(
        "build", "--content", str(platform / "content.parquet"),
        "--accounts", str(platform / "accounts.parquet"), "--registry", "before.parquet",
        "--as-of", "2026-01-01T00:00:00Z", "--out", "v1",
    )  # fmt: skip
    [parent] = json.loads(notrain("dataset", "list", "--json"))
    # The member with the most kept rows objects after the build, through the workflow.
    member, rows = _kept_authors(tmp_path / "v1").most_common(1)[0]
    accounts = pq.read_table(platform / "accounts.parquet").to_pylist()
    email = next(a["email"] for a in accounts if a["user_id"] == member)
    submitted = notrain("registry", "submit", "--kind", "objection", "--email", email,
                        "--country", "DE")  # fmt: skip
    request_id = submitted.split()[1].rstrip(":")
    assert "accepted" in notrain(
        "registry", "verify", request_id, read_codes(tmp_path / "outbox")[email]
    )

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    notrain("recall", "--dataset", parent["dataset_id"], "--out", "v2", "--as-of", later)

    snapshot = verify_snapshot(tmp_path / "v2.registry.parquet")
    manifest = json.loads((tmp_path / "v2" / "manifest.json").read_text())
    assert manifest["registry_snapshot"]["sha256"] == snapshot.sha256
    assert manifest["parent"]["dataset_id"] == parent["dataset_id"]
    assert manifest["recall"]["removed_by_reason"].get("author_objected") == rows
    assert member not in _kept_authors(tmp_path / "v2")
    # What the recall applied is marked so in the registry, as any export marks it.
    listed = [json.loads(line) for line in notrain("requests", "list", "--json").splitlines()]
    assert {r["id"]: r["state"] for r in listed}[request_id] == "applied"
    catalogued = {d["dataset_id"]: d for d in json.loads(notrain("dataset", "list", "--json"))}
    assert catalogued[manifest["dataset_id"]]["parent_id"] == parent["dataset_id"]

    # An existing --out is refused before anything is exported for it.
    (tmp_path / "v3").mkdir()
    refused = notrain("recall", "--dataset", parent["dataset_id"], "--out", "v3", code=6)
    assert "already exists" in refused
    assert not (tmp_path / "v3.registry.parquet").exists()
    missing = notrain("recall", "--dataset", "ds-0000000000000000", "--out", "v4", code=21)
    assert "not in the catalogue" in missing
    assert not (tmp_path / "v4.registry.parquet").exists()

    # The parent's snapshot gone: every kept row is scored again, said so, same version.
    assert manifest["recall"]["rescored"] == "changed"
    (tmp_path / "before.parquet").rename(tmp_path / "moved.parquet")
    said = notrain(
        "recall", "--dataset", str(tmp_path / "v1"), "--registry", "v2.registry.parquet",
        "--out", "v5", "--as-of", later, "--no-register",
    )  # fmt: skip
    assert "every kept row was scored again" in " ".join(said.split())
    again = json.loads((tmp_path / "v5" / "manifest.json").read_text())
    assert again["recall"]["rescored"] == "all"
    assert [s["sha256"] for s in again["shards"]] == [s["sha256"] for s in manifest["shards"]]
