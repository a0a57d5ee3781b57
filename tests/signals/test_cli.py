"""``notrain signals``: help everywhere, exit codes, real runs through the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain import signals
from notrain.errors import ExtraNotInstalled
from tests.signals import make


def notrain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notrain.cli", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (["signals"], ["scan-media", "scan-warc"]),
        (["signals", "scan-media"], ["--content", "--media-root", "--out", "--workers"]),
        (["signals", "scan-warc"], ["WARC", "--out", "--agent", "--also-agent", "--overwrite"]),
    ],
)
def test_help(command: list[str], words: list[str]) -> None:
    result = notrain(*command, "--help")
    assert result.returncode == 0, result.stderr
    for word in words:
        assert word in result.stdout


def test_scan_media_and_warc_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    (root / "a.jpg").write_bytes(make.jpeg(make.mining("DMI-PROHIBITED-AIMLTRAINING")))
    table = pa.table({"content_id": pa.array([7], pa.int64()), "media_uri": ["a.jpg"]})
    pq.write_table(table, tmp_path / "content.parquet")
    out = tmp_path / "media.parquet"
    result = notrain(
        "signals", "scan-media", "--content", str(tmp_path / "content.parquet"),
        "--media-root", str(root), "--out", str(out), "--workers", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "reserved" in result.stdout
    assert pq.read_table(out).to_pylist()[0]["signal"] == "iptc_data_mining"

    warc = make.write_warc(
        tmp_path / "c.warc.gz",
        [make.robots("User-agent: ExampleBot\nDisallow: /\n", "https://e.com/robots.txt"),
         make.Capture("https://e.com/p", make.html())],
    )  # fmt: skip
    web = tmp_path / "web.parquet"
    result = notrain(
        "signals", "scan-warc", str(warc), "--out", str(web), "--also-agent", "ExampleBot"
    )
    assert result.returncode == 0, result.stderr
    assert pq.read_table(web).to_pylist()[0]["decision"] == "reserved"

    again = notrain("signals", "scan-warc", str(warc), "--out", str(web))
    assert again.returncode == 6
    assert again.stderr.startswith("error: ")
    assert "--overwrite" in again.stderr


def test_input_errors_exit_3(tmp_path: Path) -> None:
    pq.write_table(pa.table({"content_id": [1]}), tmp_path / "c.parquet")
    result = notrain(
        "signals", "scan-media", "--content", str(tmp_path / "c.parquet"),
        "--media-root", str(tmp_path), "--out", str(tmp_path / "o.parquet"),
    )  # fmt: skip
    assert result.returncode == 3
    assert "column 'media_uri': missing column" in result.stderr
    missing = notrain("signals", "scan-warc", str(tmp_path / "no.warc"), "--out", "x.parquet")
    assert missing.returncode == 3


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(signals.EXTRA_MODULES, "no_such_module_xyz", "no-such-package")
    with pytest.raises(ExtraNotInstalled) as caught:
        signals.require_extra()
    assert caught.value.exit_code == 18
    assert "pip install 'notrain[signals]'" in str(caught.value)
    assert "no-such-package" in str(caught.value)
