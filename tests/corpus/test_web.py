"""Web documents from a real WARC, scanned for signals, built through the same plan."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.contracts import SNAPSHOT
from notrain.corpus.dataset import verify
from notrain.corpus.web import WebBuildRequest, build_web_dataset
from notrain.policy.loader import load_default_policy
from notrain.registry.snapshot import write_snapshot
from tests.corpus.world import AS_OF, utc

pytest.importorskip("warcio")

from notrain.signals.warc import scan_warcs
from tests.signals.make import Capture, html, robots, write_warc


def test_reserved_pages_are_left_out_and_kept_text_is_redacted(tmp_path: Path) -> None:
    warc = write_warc(
        tmp_path / "crawl.warc.gz",
        [
            robots("User-agent: *\nAllow: /\n", "https://open.example/robots.txt"),
            Capture(
                "https://open.example/a",
                html("<p>Write to maria.g@example.net or Maria Gonzalez, +33 6 12 34 56 78.</p>"),
            ),
            Capture("https://open.example/empty", b""),
            Capture(
                "https://open.example/b",
                html("<p>No AI here.</p>"),
                headers=[("X-Robots-Tag", "noai")],
            ),
            # A JPEG whose segment overruns the file: its signals cannot be read.
            Capture(
                "https://open.example/c.jpg",
                b"\xff\xd8\xff\xe1\xff\xffshort",
                content_type="image/jpeg",
            ),
        ],
    )
    documents = tmp_path / "documents.parquet"
    scan_warcs([warc], documents, workers=0)
    snapshot = tmp_path / "registry.parquet"
    write_snapshot(
        pa.Table.from_pylist(
            [{"subject_id": None, "identifiers": ["maria gonzalez"], "kind": "objection",
              "effective_at": utc("2025-01-01"), "request_id": "r1"}],
            schema=SNAPSHOT,
        ),
        snapshot,
    )  # fmt: skip
    out = tmp_path / "web"
    result = build_web_dataset(
        WebBuildRequest(str(documents), str(snapshot), out, load_default_policy(), as_of=AS_OF)
    )
    kept = pq.read_table(out / "part-00000.parquet").to_pylist()
    assert [row["url"] for row in kept] == ["https://open.example/a"]
    assert "Write to [email] or [redacted], [phone]." in kept[0]["text"]
    reasons = {
        row["url"]: row["reason"] for row in pq.read_table(out / "exclusions.parquet").to_pylist()
    }
    assert reasons["https://open.example/b"] == "signal_reserved"
    assert reasons["https://open.example/empty"] == "no_text"
    assert reasons["https://open.example/c.jpg"] == "signal_unreadable"
    counts = result.counts
    assert counts["kept"] + counts["excluded"] == counts["input"]
    assert verify(out) == []
