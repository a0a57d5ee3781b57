"""One small synthetic platform and snapshot, shared by the synth tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.synth import SynthResult, synthesize_platform, synthesize_snapshot
from notrain.synth.snapshot import SNAPSHOT_FILE

USERS = 3000
SEED = 7
# Small batches, so the run writes several row groups and crosses batch boundaries.
BATCH_ROWS = 8000


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("platform")
    return synthesize_platform(out, USERS, seed=SEED, batch_rows=BATCH_ROWS, orphan_rate=0.002)


@pytest.fixture(scope="session")
def accounts(platform: SynthResult) -> pa.Table:
    return pq.read_table(platform.accounts_path)


@pytest.fixture(scope="session")
def content(platform: SynthResult) -> pa.Table:
    return pq.read_table(platform.content_path)


@pytest.fixture(scope="session")
def snapshot_path(platform: SynthResult) -> Path:
    path = platform.accounts_path.parent / SNAPSHOT_FILE
    synthesize_snapshot(platform.accounts_path, path, seed=SEED)
    return path
