"""Builds and recalls killed with SIGKILL at random points never leave a partial dataset.

After every kill, the output either does not exist or is complete and verifies against its
manifest; the next run cleans what the killed one left; a run to completion then gives the
same bytes as a build that was never interrupted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.contracts import SNAPSHOT
from notrain.corpus.dataset import STAGING_PREFIX, verify
from notrain.registry.snapshot import write_snapshot
from notrain.synth import SNAPSHOT_FILE, synthesize_platform, synthesize_snapshot
from tests.corpus.world import utc

KILLS = int(os.environ.get("NOTRAIN_CRASH_KILLS", "12"))
ENV = {**os.environ, "NOTRAIN_DATABASE_URL": "sqlite:///:memory:"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash")
    result = synthesize_platform(root, 3000, seed=5, batch_rows=5000)
    synthesize_snapshot(result.accounts_path, root / SNAPSHOT_FILE, seed=5, non_member_rate=0.01)
    return root


def build_cmd(platform: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "notrain.cli", "build",
        "--content", str(platform / "content.parquet"),
        "--accounts", str(platform / "accounts.parquet"),
        "--registry", str(platform / SNAPSHOT_FILE),
        "--as-of", "2026-06-01T00:00:00Z", "--out", str(out),
        "--chunk-rows", "4000", "--no-register",
    ]  # fmt: skip


def files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def kill_at_random(cmd: list[str], out: Path, rng: random.Random, longest: float) -> int:
    """Start and SIGKILL ``cmd`` again and again; returns how many kills hit mid-write."""
    midway = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, longest))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if list(out.parent.glob(f"{STAGING_PREFIX}{out.name}-*")):
            midway += 1
        if out.exists():
            assert verify(out) == [], "a visible dataset must be complete"
            break  # the kill came after publishing; nothing left to interrupt
    return midway


def test_killed_builds_publish_nothing_partial_and_rerun_identically(
    platform: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    subprocess.run(build_cmd(platform, reference), env=ENV, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(build_cmd(platform, tmp_path / "timing"), env=ENV, check=True)
    longest = time.perf_counter() - start

    out = tmp_path / "dataset"
    midway = kill_at_random(build_cmd(platform, out), out, random.Random(7), longest)
    assert midway >= 1, "no kill landed while the build was writing"
    if not out.exists():
        done = subprocess.run(build_cmd(platform, out), env=ENV, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert verify(out) == []
    assert files(out) == files(reference)
    assert not list(tmp_path.glob(f"{STAGING_PREFIX}dataset-*")), "leftovers were cleaned"


def test_killed_recalls_publish_nothing_partial_and_rerun_identically(
    platform: Path, tmp_path: Path
) -> None:
    parent = tmp_path / "parent"
    subprocess.run(build_cmd(platform, parent), env=ENV, check=True, capture_output=True)
    later = tmp_path / "later.parquet"
    rows = pa.Table.from_pylist(
        [{"subject_id": uid, "identifiers": [], "kind": "objection",
          "effective_at": utc("2026-06-10"), "request_id": f"late-{uid}"} for uid in range(1, 60)],
        schema=SNAPSHOT,
    )  # fmt: skip
    old = pq.read_table(platform / SNAPSHOT_FILE).cast(SNAPSHOT)
    write_snapshot(pa.concat_tables([old, rows]), later)

    def recall_cmd(out: Path) -> list[str]:
        return [
            sys.executable, "-m", "notrain.cli", "recall", "--dataset", str(parent),
            "--registry", str(later), "--as-of", "2026-07-01T00:00:00Z",
            "--out", str(out), "--no-register",
        ]  # fmt: skip

    reference = tmp_path / "reference"
    subprocess.run(recall_cmd(reference), env=ENV, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(recall_cmd(tmp_path / "timing"), env=ENV, check=True, capture_output=True)
    longest = time.perf_counter() - start

    out = tmp_path / "recalled"
    midway = kill_at_random(recall_cmd(out), out, random.Random(11), longest)
    assert midway >= 1, "no kill landed while the recall was writing"
    if not out.exists():
        subprocess.run(recall_cmd(out), env=ENV, check=True, capture_output=True)
    assert verify(out) == []
    assert files(out) == files(reference)
