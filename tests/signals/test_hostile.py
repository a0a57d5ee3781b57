"""Hostile inputs do not stall a scan: patterns in linear time, and a time bound per item."""

from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from notrain.signals import page, warc, xmp
from notrain.signals.deadline import ItemTimeout, time_limit
from notrain.signals.scan import scan_media
from notrain.signals.site import SiteSignals
from notrain.signals.warc import scan_warcs
from tests.signals import make
from tests.signals.make import Capture, html, robots
from tests.signals.test_scan import content

A = "https://a.example"
HANG_GUARD_SECONDS = 600  # generous: a backtracking matcher takes hours on these files


def hostile_crawl(directory: str) -> dict[str, tuple[str, str]]:
    """Scan a crawl whose site files hold thousands of stars, for pages whose URLs are
    thousands of characters long; (decision, signal) per URL."""
    root = Path(directory)
    stars = "*" * 3000
    robots_txt = "User-agent: *\n" + "".join(
        f"Disallow: /{'*a' * 400}*{i}.pdf$\n" for i in range(100)
    )
    robots_txt += f"Allow: {stars}/{stars}.js\nDisallow: /*****.pdf\n"
    ai_txt = f"User-agent: *\nDisallow: {'*x' * 2000}*.mp3\n"
    tdm = [{"location": f"/{'*b' * 2000}*.tar", "tdm-reservation": 1}] * 50
    long = "/inlife/daily/" + "a" * 6000
    pages = {
        "plain": A + long,
        "pdf": A + long + "/7.pdf",
        "mp3": A + "/" + "x" * 5000 + "/song.mp3",
        "tar": A + "/" + "b" * 5000 + ".tar",
    }
    path = make.write_warc(
        root / "hostile.warc.gz",
        [
            robots(robots_txt, A + "/robots.txt"),
            robots(ai_txt, A + "/ai.txt"),
            robots(json.dumps(tdm), A + "/.well-known/tdmrep.json"),
            *(Capture(url, html()) for url in pages.values()),
        ],
    )
    out = root / "out.parquet"
    scan_warcs([path], out, workers=0)
    rows = {row["url"]: row for row in pq.read_table(out).to_pylist()}
    return {name: (rows[url]["decision"], rows[url]["signal"]) for name, url in pages.items()}


def test_a_crawl_with_hostile_site_files_finishes(tmp_path: Path) -> None:
    # In its own process, so that a hang fails the test instead of stopping the suite.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(hostile_crawl, str(tmp_path))
        try:
            found = future.result(timeout=HANG_GUARD_SECONDS)
        except TimeoutError:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pytest.fail(f"the scan did not finish in {HANG_GUARD_SECONDS} s")
    assert found == {
        "plain": ("allowed", None),
        "pdf": ("reserved", "robots_txt"),
        "mp3": ("reserved", "ai_txt"),
        "tar": ("reserved", "tdmrep"),
    }


# -- the time bound ---------------------------------------------------------------------------


def spin_like_a_reader() -> None:
    with time_limit(0.05, "spinning"):
        try:
            while True:
                pass
        except Exception:  # what a reader does with a bad file
            pytest.fail("the bound was absorbed")


def test_the_bound_is_not_absorbed_by_a_reader_catching_every_exception() -> None:
    with pytest.raises(ItemTimeout, match=r"spinning took longer than 0\.05 s"):
        spin_like_a_reader()


def test_no_bound_and_work_that_ends_in_time_are_left_alone() -> None:
    with time_limit(None, "x"):
        time.sleep(0.01)
    with time_limit(30, "x"):
        assert sum(range(10)) == 45


def slow_when(marker: bytes, original: Any) -> Any:
    def slow(body: bytes, *args: Any) -> Any:
        if marker in body:
            time.sleep(30)  # interrupted by the bound, else the test fails on the decision
        return original(body, *args)

    return slow


def test_a_record_that_takes_too_long_is_an_error_row_and_the_scan_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warc, "parse_html", slow_when(b"stuck", page.parse_html))
    path = make.write_warc(
        tmp_path / "c.warc.gz",
        [
            robots("User-agent: *\nAllow: /\n", A + "/robots.txt"),
            Capture(A + "/stuck", html("<p>stuck</p>")),
            Capture(A + "/fine", html("<p>fine</p>")),
        ],
    )
    out = tmp_path / "out.parquet"
    scan_warcs([path], out, workers=0, item_seconds=0.2)
    rows = {row["url"]: row for row in pq.read_table(out).to_pylist()}
    assert rows[A + "/stuck"]["decision"] == "error"
    assert rows[A + "/stuck"]["evidence"] == "reading this record took longer than 0.2 s; given up"
    assert rows[A + "/stuck"]["record_id"].startswith("<urn:uuid:")
    assert rows[A + "/fine"]["text"] == "T\nfine"


def test_a_document_that_takes_too_long_to_decide_is_an_error_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = SiteSignals.findings

    def slow(self: SiteSignals, url: str, at: Any) -> Any:
        if url.endswith("/stuck"):
            time.sleep(30)
        return original(self, url, at)

    monkeypatch.setattr(SiteSignals, "findings", slow)
    path = make.write_warc(
        tmp_path / "c.warc.gz",
        [Capture(A + "/stuck", html()), Capture(A + "/fine", html())],
    )
    out = tmp_path / "out.parquet"
    scan_warcs([path], out, workers=0, item_seconds=0.2)
    rows = {row["url"]: row for row in pq.read_table(out).to_pylist()}
    assert rows[A + "/stuck"]["decision"] == "error"
    assert "deciding this document took longer than 0.2 s" in rows[A + "/stuck"]["error"]
    assert rows[A + "/fine"]["decision"] == "unknown"  # no site files: read normally


def test_a_media_file_that_takes_too_long_is_an_error_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xmp, "read_packet", slow_when(b"DMI-PROHIBITED", xmp.read_packet))
    root = tmp_path / "media"
    root.mkdir()
    (root / "stuck.jpg").write_bytes(make.jpeg(make.mining("DMI-PROHIBITED")))
    (root / "fine.jpg").write_bytes(make.jpeg(make.mining("DMI-ALLOWED")))
    rows_in = content(tmp_path / "content.parquet", [(1, "stuck.jpg"), (2, "fine.jpg")])
    out = tmp_path / "out.parquet"
    scan_media(str(rows_in), root, out, workers=0, item_seconds=0.2)
    rows = {row["content_id"]: row for row in pq.read_table(out).to_pylist()}
    assert rows[1]["decision"] == "error"
    assert rows[1]["evidence"] == "reading this file took longer than 0.2 s; given up"
    assert rows[2]["decision"] == "allowed"
