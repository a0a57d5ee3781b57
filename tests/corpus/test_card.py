"""Every built dataset carries a Hugging Face dataset card that the HF tools read.

The dataset is built by the real CLI; ``datasets`` loads it from the folder (through the
card's ``configs``, offline) and ``huggingface_hub`` parses the card's YAML header.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from notrain.corpus import card
from notrain.corpus.dataset import verify
from notrain.synth import SNAPSHOT_FILE, synthesize_platform, synthesize_snapshot

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("card")
    result = synthesize_platform(root, 3000, seed=5, batch_rows=10_000)
    synthesize_snapshot(result.accounts_path, root / SNAPSHOT_FILE, seed=5, non_member_rate=0.01)
    out = root / "dataset"
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "build",
         "--content", str(root / "content.parquet"),
         "--accounts", str(root / "accounts.parquet"),
         "--registry", str(root / SNAPSHOT_FILE),
         "--as-of", AS_OF.isoformat(), "--out", str(out), "--chunk-rows", "2000",
         "--no-register"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def _manifest(out: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Nothing reaches the network: the HF libraries read only the folder.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))


def test_the_card_is_part_of_the_dataset_and_verified(built: Path) -> None:
    manifest = _manifest(built)
    assert card.CARD in manifest["files"]
    assert verify(built) == []
    (built / card.CARD).write_text("tampered\n", encoding="utf-8")
    try:
        assert any(card.CARD in problem for problem in verify(built))
    finally:
        (built / card.CARD).write_text(card.render(manifest), encoding="utf-8")
    assert verify(built) == []


def test_huggingface_hub_parses_the_card(
    built: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _offline(monkeypatch, tmp_path)
    from huggingface_hub import DatasetCard

    manifest = _manifest(built)
    parsed = DatasetCard.load(built / card.CARD)
    data = parsed.data.to_dict()
    kept = int(manifest["counts"]["kept"])
    assert data["size_categories"] == [card.size_category(kept)]
    assert data["license"] == "other"
    assert data["task_categories"]
    assert data["configs"][0]["data_files"]
    assert data["language"]  # estimated from where the kept rows' authors live
    body = parsed.text
    assert manifest["dataset_id"] in body
    assert manifest["policy"]["name"] in body
    # Every reason rows were left out for is named with its count.
    for reason, count in manifest["counts"]["excluded_by_reason"].items():
        if count:
            assert reason in body
    assert "notrain dataset verify" in body


def test_datasets_loads_the_kept_rows_and_nothing_else(
    built: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _offline(monkeypatch, tmp_path)
    import datasets

    loaded = datasets.load_dataset(str(built), cache_dir=str(tmp_path / "cache"))
    split = loaded["train"]
    shards = sorted(built.glob("part-*.parquet"))
    assert shards
    expected = sum(pq.ParquetFile(s).metadata.num_rows for s in shards)
    assert split.num_rows == expected == int(_manifest(built)["counts"]["kept"])
    assert "content_id" in split.column_names
    assert "reason" not in split.column_names  # exclusions.parquet is not read as data
