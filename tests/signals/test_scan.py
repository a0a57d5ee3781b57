"""The media scan from a content table, and the parallel runner that survives crashes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.errors import InputError, OutputError, ScanError
from notrain.signals import scan
from notrain.signals.output import MEDIA_SCHEMA
from notrain.signals.scan import Runner, resolve_media, scan_media
from tests.signals import crashy, make
from tests.signals.make import Manifest, SigningKit, sign, training_mining


def content(path: Path, rows: list[tuple[int, str | None]]) -> Path:
    table = pa.table(
        {
            "content_id": pa.array([r[0] for r in rows], pa.int64()),
            "kind": pa.array(["photo"] * len(rows)),
            "media_uri": pa.array([r[1] for r in rows], pa.string()),
        }
    )
    pq.write_table(table, path)
    return path


@pytest.fixture
def media(tmp_path: Path, kit: SigningKit) -> Path:
    root = tmp_path / "media"
    (root / "2025").mkdir(parents=True)
    (root / "2025" / "xmp.jpg").write_bytes(make.jpeg(make.mining("DMI-PROHIBITED")))
    (root / "2025" / "plain.png").write_bytes(make.png())
    manifest = Manifest([training_mining({"ai_training": "notAllowed"}, "cawg.training-mining")])
    (root / "2025" / "signed.webp").write_bytes(
        sign(make.webp(), "image/webp", manifest, kit).asset
    )
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(10))
    (tmp_path / "secret.jpg").write_bytes(make.jpeg())
    (root / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    return root


ROWS: list[tuple[int, str | None]] = [
    (1, "2025/xmp.jpg"),
    (2, "2025/plain.png"),
    (3, "2025/signed.webp"),
    (4, "corrupt.jpg"),
    (5, "2025/missing.jpg"),
    (6, None),  # a post without media: no row
    (7, "../secret.jpg"),
    (8, "2025/../../secret.jpg"),
    (9, "/etc/hostname"),
    (10, "link.jpg"),
    (11, "https://cdn.example/x.jpg"),
    (12, "2025/xmp.jpg"),  # the same file again
]


def run(tmp_path: Path, media: Path, workers: int) -> list[dict[str, object]]:
    out = tmp_path / f"media-{workers}.parquet"
    seen: list[tuple[str, int, int | None]] = []
    summary = scan_media(
        str(content(tmp_path / "content.parquet", ROWS)),
        media,
        out,
        workers=workers,
        chunk=3,
        progress=lambda phase, done, total: seen.append((phase, done, total)),
    )
    assert summary.rows == 11
    assert seen[-1] == ("scanning media", 11, 11)
    assert pq.read_schema(out).equals(MEDIA_SCHEMA)
    rows: list[dict[str, object]] = pq.read_table(out).to_pylist()
    return rows


def test_one_row_per_content_row_with_media(tmp_path: Path, media: Path) -> None:
    rows = {r["content_id"]: r for r in run(tmp_path, media, workers=0)}
    assert set(rows) == {1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12}
    assert (rows[1]["decision"], rows[1]["signal"]) == ("reserved", "iptc_data_mining")
    assert (rows[2]["decision"], rows[2]["signal"]) == ("allowed", None)
    assert (rows[3]["decision"], rows[3]["signal"]) == ("reserved", "cawg_training_mining")
    assert rows[4]["decision"] == "error"
    assert "corrupt JPEG" in str(rows[4]["error"])
    assert rows[5]["error"] == "file not found"
    for escaped in (7, 8, 10):
        assert rows[escaped]["decision"] == "error"
        assert "leads outside the media root" in str(rows[escaped]["error"])
    for foreign in (9, 11):
        assert "is not a path relative to the media root" in str(rows[foreign]["error"])
    assert rows[12]["decision"] == "reserved"
    assert rows[1]["media_uri"] == "2025/xmp.jpg"


def test_worker_processes_give_the_same_rows(tmp_path: Path, media: Path) -> None:
    assert run(tmp_path, media, workers=2) == run(tmp_path, media, workers=0)


def test_resolve_media_rejects_traversal(tmp_path: Path) -> None:
    assert resolve_media(tmp_path, "a/b.jpg")[0] == str(tmp_path.resolve() / "a" / "b.jpg")
    for bad in ("", "..", "a/../../b", "/abs", "C:/x", "s3://b/k", "a\x00b"):
        path, problem = resolve_media(tmp_path, bad)
        assert path is None
        assert problem


def test_content_in_jsonl(tmp_path: Path, media: Path) -> None:
    lines = tmp_path / "content.jsonl"
    lines.write_text('{"content_id": 1, "media_uri": "2025/xmp.jpg"}\n{"content_id": 2}\n')
    out = tmp_path / "o.parquet"
    scan_media(str(lines), media, out, workers=0)
    assert pq.read_table(out).column("decision").to_pylist() == ["reserved"]


def test_a_content_file_without_media_uri_is_an_input_error(tmp_path: Path, media: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"content_id": pa.array([1], pa.int64())}), path)
    with pytest.raises(InputError, match="media_uri"):
        scan_media(str(path), media, tmp_path / "o.parquet", workers=0)


def test_a_wrongly_typed_content_id_is_an_input_error(tmp_path: Path, media: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"content_id": ["1"], "media_uri": ["a.jpg"]}), path)
    with pytest.raises(InputError, match="content_id"):
        scan_media(str(path), media, tmp_path / "o.parquet", workers=0)


def test_an_existing_output_is_kept_unless_overwrite(tmp_path: Path, media: Path) -> None:
    path = content(tmp_path / "c.parquet", [(1, "2025/plain.png")])
    out = tmp_path / "o.parquet"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="exists already"):
        scan_media(str(path), media, out, workers=0)
    assert out.read_bytes() == b"keep me"
    scan_media(str(path), media, out, workers=0, overwrite=True)
    assert pq.read_table(out).num_rows == 1
    assert not list(tmp_path.glob(".o.parquet.*"))  # no staging file left behind


def test_a_missing_media_root_is_an_input_error(tmp_path: Path) -> None:
    path = content(tmp_path / "c.parquet", [(1, "a.jpg")])
    with pytest.raises(InputError, match="media root"):
        scan_media(str(path), tmp_path / "nope", tmp_path / "o.parquet", workers=0)


def test_a_crashing_file_becomes_its_own_result_and_the_rest_go_on() -> None:
    items = ["a", "b", "boom", "c", "d", "e", "f", "g"]
    with Runner(2) as runner:
        results = [r for c in runner.run(crashy.work, crashy.crashed, items, chunk=3) for r in c]
        assert results == ["A", "B", "crashed:boom", "C", "D", "E", "F", "G"]
        assert runner.restarts >= 1
        # The runner goes on with a fresh pool.
        again = [r for c in runner.run(crashy.work, crashy.crashed, ["h", "i"]) for r in c]
        assert again == ["H", "I"]


def test_an_item_stuck_beyond_the_workers_own_bound_is_stopped_by_the_runner() -> None:
    with Runner(1, slack=0.5) as runner:
        chunks = runner.run(
            crashy.work, crashy.crashed, ["a", "hang", "b"], chunk=3,
            seconds=0.5, overdue=crashy.overdue,
        )  # fmt: skip
        assert [r for c in chunks for r in c] == ["A", "overdue:hang", "B"]
        assert runner.restarts == 1


def test_the_runner_keeps_input_order_inline_too() -> None:
    runner = Runner(0)
    chunks = list(runner.run(crashy.work, crashy.crashed, ["x", "y", "z"], chunk=2))
    assert chunks == [["X", "Y"], ["Z"]]


def test_workers_that_cannot_start_are_a_scan_error_not_bad_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(workers: int) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(workers, mp_context=context, initializer=crashy.die)

    monkeypatch.setattr(scan, "_spawn", broken)
    with Runner(1) as runner, pytest.raises(ScanError, match="cannot start"):
        list(runner.run(crashy.work, crashy.crashed, ["a", "b"]))
