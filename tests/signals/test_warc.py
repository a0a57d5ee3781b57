"""Whole crawls in WARC files written with warcio: headers, HTML, robots.txt, ai.txt and
tdmrep.json captures, applied per site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from notrain.signals.robots import Agents
from notrain.signals.warc import scan_warcs
from tests.signals import make
from tests.signals.make import Capture, html, robots

A = "https://a.example"


def site(
    origin: str, robots_txt: str | None = "User-agent: *\nAllow: /\n", **kw: Any
) -> list[Capture]:
    """All three site files of ``origin`` captured; None means answered 404."""
    ai_txt: str | None = kw.get("ai_txt")
    tdm: list[dict[str, object]] | None = kw.get("tdm")
    date = kw.get("date", "2025-03-01T11:00:00Z")
    found = []
    for path, body in (
        ("/robots.txt", robots_txt),
        ("/ai.txt", ai_txt),
        ("/.well-known/tdmrep.json", json.dumps(tdm) if tdm is not None else None),
    ):
        if body is None:
            found.append(Capture(origin + path, b"gone", status=404, date=date))
        else:
            found.append(robots(body, origin + path, date=date))
    return found


def scan(tmp_path: Path, *warcs: list[Capture], **kw: Any) -> dict[str | None, dict[str, Any]]:
    files = [
        make.write_warc(tmp_path / f"crawl-{i}.warc.gz", captures)
        for i, captures in enumerate(warcs)
    ]
    out = tmp_path / "web.parquet"
    scan_warcs(files, out, workers=kw.pop("workers", 0), **kw)
    rows = pq.read_table(out).to_pylist()
    return {row["url"]: row for row in rows}


def page(url: str, body: str = "<p>Hello.</p>", head: str = "", **kw: Any) -> Capture:
    return Capture(url, html(body, head), **kw)


def test_all_site_files_captured_and_nothing_reserves_is_allowed(tmp_path: Path) -> None:
    rows = scan(tmp_path, [*site(A), page(A + "/post", "<h1>Title</h1><p>Some   words.</p>")])
    row = rows[A + "/post"]
    assert (row["decision"], row["signal"]) == ("allowed", "robots_txt")
    assert row["text"] == "T\nTitle\nSome words."
    assert row["fetched_at"].isoformat() == "2025-03-01T12:00:00+00:00"
    assert row["warc_file"].endswith("crawl-0.warc.gz")
    assert row["record_id"].startswith("<urn:uuid:")


def test_site_files_not_captured_are_unknown(tmp_path: Path) -> None:
    rows = scan(tmp_path, [page("https://b.example/x")])
    row = rows["https://b.example/x"]
    assert row["decision"] == "unknown"
    assert row["evidence"] == (
        "not captured: https://b.example/.well-known/tdmrep.json; "
        "not captured: https://b.example/robots.txt; not captured: https://b.example/ai.txt"
    )
    assert row["text"] == "T\nHello."  # unknown is allowed by default, so the text is kept


def test_robots_txt_reserves_for_ai_crawlers(tmp_path: Path) -> None:
    text = "User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /private/\n"
    rows = scan(tmp_path, [*site(A, text), page(A + "/private/x"), page(A + "/public")])
    reserved = rows[A + "/private/x"]
    assert (reserved["decision"], reserved["signal"]) == ("reserved", "robots_txt")
    assert "line 5: Disallow: /private/ (group User-agent: gptbot)" in reserved["evidence"]
    assert reserved["text"] is None  # reserved content is not copied out of the crawl
    assert rows[A + "/public"]["decision"] == "allowed"


@pytest.mark.parametrize(
    ("status", "decision"), [(503, "reserved"), (429, "reserved"), (404, "allowed")]
)
def test_robots_txt_status(tmp_path: Path, status: int, decision: str) -> None:
    files = site(A)
    files[0] = Capture(A + "/robots.txt", b"", status=status)
    assert scan(tmp_path, [*files, page(A + "/x")])[A + "/x"]["decision"] == decision


def test_robots_txt_redirects_are_followed_through_the_crawl(tmp_path: Path) -> None:
    http = "http://a.example"
    moved = Capture(http + "/robots.txt", status=301, headers=[("Location", A + "/robots.txt")])
    files = [*site(http)[1:], moved, robots("User-agent: *\nDisallow: /\n", A + "/robots.txt")]
    rows = scan(tmp_path, [*files, page(http + "/x")])
    assert rows[http + "/x"]["decision"] == "reserved"
    assert "(via http://a.example/robots.txt)" in rows[http + "/x"]["evidence"]


def test_a_redirect_to_an_uncaptured_file_is_unknown(tmp_path: Path) -> None:
    moved = Capture(A + "/robots.txt", status=301, headers=[("Location", "/elsewhere/robots.txt")])
    rows = scan(tmp_path, [*site(A)[1:], moved, page(A + "/x")])
    assert rows[A + "/x"]["decision"] == "unknown"
    assert "redirected from https://a.example/robots.txt" in rows[A + "/x"]["evidence"]


def test_the_capture_current_when_the_page_was_fetched_applies(tmp_path: Path) -> None:
    early = robots("User-agent: *\nAllow: /\n", A + "/robots.txt", date="2025-01-01T00:00:00Z")
    late = robots("User-agent: *\nDisallow: /\n", A + "/robots.txt", date="2025-06-01T00:00:00Z")
    rows = scan(
        tmp_path,
        [
            *site(A)[1:],
            late,
            early,
            page(A + "/before", date="2025-03-01T00:00:00Z"),
            page(A + "/after", date="2025-07-01T00:00:00Z"),
            page(A + "/first", date="2024-01-01T00:00:00Z"),  # before any: the first capture
        ],
    )
    assert rows[A + "/before"]["decision"] == "allowed"
    assert rows[A + "/after"]["decision"] == "reserved"
    assert rows[A + "/first"]["decision"] == "allowed"


def test_site_files_in_another_warc_of_the_same_crawl_apply(tmp_path: Path) -> None:
    rows = scan(tmp_path, site(A, "User-agent: CCBot\nDisallow: /\n"), [page(A + "/x")])
    assert rows[A + "/x"]["decision"] == "reserved"


def test_sites_do_not_share_files(tmp_path: Path) -> None:
    rows = scan(
        tmp_path,
        [*site(A, "User-agent: *\nDisallow: /\n"), page("https://other.example/x")],
    )
    assert rows["https://other.example/x"]["decision"] == "unknown"


def test_ai_txt(tmp_path: Path) -> None:
    spawning = "# Spawning AI\nUser-Agent: *\nDisallow: *.jpg\nAllow: /\n"
    image = Capture(A + "/art/cat.jpg", make.jpeg(), content_type="image/jpeg")
    rows = scan(tmp_path, [*site(A, ai_txt=spawning), image, page(A + "/about")])
    assert (rows[A + "/art/cat.jpg"]["decision"], rows[A + "/art/cat.jpg"]["signal"]) == (
        "reserved",
        "ai_txt",
    )
    assert rows[A + "/about"]["decision"] == "allowed"


def test_x_robots_tag_headers(tmp_path: Path) -> None:
    def with_tag(path: str, *values: str, ctype: str = "text/html") -> Capture:
        headers = [("X-Robots-Tag", v) for v in values]
        return Capture(A + path, html(), headers=headers, content_type=ctype)

    rows = scan(
        tmp_path,
        [
            *site(A),
            with_tag("/ua", "GPTBot: noai"),
            with_tag("/other-ua", "bingbot: noai"),
            with_tag("/several", "noindex", "NoAI"),
            with_tag("/noimageai-page", "noimageai"),
            Capture(A + "/img", make.jpeg(), headers=[("x-robots-tag", "noimageai")],
                    content_type="image/jpeg"),
        ],
    )  # fmt: skip
    assert rows[A + "/ua"]["decision"] == "reserved"
    assert rows[A + "/ua"]["evidence"] == "header X-Robots-Tag: GPTBot: noai"
    assert rows[A + "/other-ua"]["decision"] == "allowed"
    assert rows[A + "/several"]["decision"] == "reserved"
    assert rows[A + "/noimageai-page"]["decision"] == "allowed"
    assert (rows[A + "/img"]["decision"], rows[A + "/img"]["signal"]) == (
        "reserved",
        "x_robots_tag",
    )


def test_meta_robots(tmp_path: Path) -> None:
    rows = scan(
        tmp_path,
        [
            *site(A),
            page(A + "/robots", head='<meta name="Robots" content="noindex, NOAI">'),
            page(A + "/gptbot", head='<meta name="GPTBot" content="noai">'),
            page(A + "/other", head='<meta name="otherbot" content="noai">'),
            page(A + "/in-body", body='<p>x</p><meta content="noai" name="robots">'),
        ],
    )
    assert rows[A + "/robots"]["signal"] == "meta_robots"
    assert rows[A + "/robots"]["evidence"] == 'meta name="robots": noindex, NOAI'
    assert rows[A + "/gptbot"]["decision"] == "reserved"
    assert rows[A + "/other"]["decision"] == "allowed"
    assert rows[A + "/in-body"]["decision"] == "reserved"


def test_tdmrep_layers(tmp_path: Path) -> None:
    rules = [
        {"location": "/free/*", "tdm-reservation": 0},
        {"location": "/*", "tdm-reservation": 1},
    ]
    rows = scan(
        tmp_path,
        [
            *site(A, tdm=rules),
            page(A + "/free/a"),
            page(A + "/closed"),
            page(A + "/closed-but-header-0", headers=[("TDM-Reservation", "0")]),
            page(A + "/free/meta-1", head='<meta name="tdm-reservation" content="1">'),
            page(A + "/closed-invalid-header", headers=[("tdm-reservation", "2")]),
            page(
                A + "/closed-header-0-meta-absent",
                headers=[("tdm-reservation", "0")],
                head='<meta name="description" content="x">',
            ),
        ],
    )
    assert rows[A + "/free/a"]["decision"] == "allowed"
    assert rows[A + "/free/a"]["signal"] == "tdmrep"
    assert rows[A + "/closed"]["decision"] == "reserved"
    assert rows[A + "/closed-but-header-0"]["decision"] == "allowed"
    assert rows[A + "/free/meta-1"]["decision"] == "reserved"
    assert rows[A + "/closed-invalid-header"]["decision"] == "reserved"
    assert "'2' is unset" in rows[A + "/closed-invalid-header"]["evidence"]
    assert rows[A + "/closed-header-0-meta-absent"]["decision"] == "allowed"


def test_tdmrep_header_speaks_when_the_file_was_not_captured(tmp_path: Path) -> None:
    files = site(A)[:2]  # robots.txt and ai.txt, no tdmrep.json capture
    rows = scan(
        tmp_path,
        [*files, page(A + "/h0", headers=[("tdm-reservation", "0")]), page(A + "/none")],
    )
    assert rows[A + "/h0"]["decision"] == "allowed"
    assert rows[A + "/none"]["decision"] == "unknown"


def test_content_usage_and_content_signal(tmp_path: Path) -> None:
    text = (
        "User-Agent: *\nAllow: /\n"
        "Content-Usage: /news train-ai=n\nContent-Signal: /shop ai-train=no\n"
    )
    rows = scan(
        tmp_path,
        [
            *site(A, text),
            page(A + "/header", headers=[("content-usage", "train-ai=n")]),
            page(A + "/header-upper", headers=[("Content-Usage", "Train-AI=n")]),
            page(A + "/signal", headers=[("Content-Signal", "ai-train=no, search=yes")]),
            page(A + "/news/1"),
            page(A + "/shop/1"),
        ],
    )
    assert rows[A + "/header"]["signal"] == "content_usage"
    assert rows[A + "/header-upper"]["decision"] == "allowed"
    assert rows[A + "/signal"]["signal"] == "content_signal"
    assert rows[A + "/news/1"]["signal"] == "content_usage"
    assert rows[A + "/shop/1"]["signal"] == "content_signal"


def test_embedded_xmp_in_a_captured_image(tmp_path: Path) -> None:
    image = Capture(
        A + "/photo",
        make.png(make.mining("DMI-PROHIBITED-GENAIMLTRAINING")),
        content_type="image/png",
    )
    rows = scan(tmp_path, [*site(A), image])
    assert (rows[A + "/photo"]["decision"], rows[A + "/photo"]["signal"]) == (
        "reserved",
        "iptc_data_mining",
    )


def test_only_successful_documents_are_rows(tmp_path: Path) -> None:
    rows = scan(tmp_path, [*site(A), Capture(A + "/gone", b"", status=404), page(A + "/ok")])
    assert set(rows) == {A + "/ok"}


def test_plain_text_is_kept_and_scripts_are_not_text(tmp_path: Path) -> None:
    rows = scan(
        tmp_path,
        [
            *site(A),
            Capture(A + "/a.txt", "caf\u00e9 au lait".encode("latin-1"),
                    content_type="text/plain; charset=iso-8859-1"),
            page(A + "/js", "<script>var x = 1;</script><style>p{}</style><p>visible</p>"),
        ],
    )  # fmt: skip
    assert rows[A + "/a.txt"]["text"] == "caf\u00e9 au lait"
    assert rows[A + "/js"]["text"] == "T\nvisible"


def test_our_agent_is_configurable(tmp_path: Path) -> None:
    text = "User-agent: MyCrawler\nDisallow: /\n"
    files = [*site(A, text), page(A + "/x")]
    assert scan(tmp_path, files)[A + "/x"]["decision"] == "allowed"
    mine = scan(tmp_path / "..", files, agents=Agents(ours="MyCrawler"), overwrite=True)
    assert mine[A + "/x"]["decision"] == "reserved"


# -- broken input never ends the scan -----------------------------------------------------


def test_a_truncated_warc_keeps_its_rows_and_gets_an_error_row(tmp_path: Path) -> None:
    path = make.write_warc(tmp_path / "t.warc.gz", [*site(A), page(A + "/1"), page(A + "/2")])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 60])
    out = tmp_path / "o.parquet"
    scan_warcs([path], out, workers=0)
    rows = pq.read_table(out).to_pylist()
    assert [r["url"] for r in rows] == [A + "/1", None]  # /2 is cut short: not a document
    assert rows[1]["decision"] == "error"
    assert "unreadable after the record at offset" in rows[1]["error"]
    assert rows[1]["warc_file"] == str(path)


def test_a_file_that_is_no_warc_is_an_error_row(tmp_path: Path) -> None:
    junk = tmp_path / "junk.warc"
    junk.write_bytes(b"this is not a WARC file\r\n" * 10)
    good = make.write_warc(tmp_path / "g.warc.gz", [*site(A), page(A + "/x")])
    out = tmp_path / "o.parquet"
    summary = scan_warcs([junk, good], out, workers=0)
    rows = pq.read_table(out).to_pylist()
    assert [(r["url"], r["decision"]) for r in rows] == [(None, "error"), (A + "/x", "allowed")]
    assert "unreadable at the start: BrokenWarc: not a WARC" in rows[0]["error"]
    assert summary.by_decision == {"error": 1, "allowed": 1}


def test_a_wrong_content_length_is_the_files_error(tmp_path: Path) -> None:
    path = make.write_warc(tmp_path / "l.warc", [*site(A), page(A + "/x")], gzip=False)
    data = path.read_bytes()
    at = data.rindex(b"Content-Length: ")
    end = data.index(b"\r\n", at)
    length = int(data[at + 16 : end])
    path.write_bytes(data[: at + 16] + str(length - 5).encode() + data[end:])
    out = tmp_path / "o.parquet"
    scan_warcs([path], out, workers=0)
    rows = pq.read_table(out).to_pylist()
    assert rows[-1]["url"] is None
    assert "Content-Length" in rows[-1]["error"]


def test_worker_processes_give_the_same_output(tmp_path: Path) -> None:
    crawl = [[*site(A, "User-agent: *\nDisallow: /p\n")], [page(A + "/p"), page(A + "/q")]]
    inline = scan(tmp_path / "..", *crawl, overwrite=True)
    pooled = scan(tmp_path, *crawl, workers=2)
    strip = {"warc_file", "record_id"}
    assert [{k: v for k, v in r.items() if k not in strip} for r in inline.values()] == [
        {k: v for k, v in r.items() if k not in strip} for r in pooled.values()
    ]


# -- site files moved by a redirect -----------------------------------------------------------


def moved(url: str, to: str, status: int = 301) -> Capture:
    return Capture(url, status=status, headers=[("Location", to)])


def test_tdmrep_json_redirected_to_another_path_on_the_same_host(tmp_path: Path) -> None:
    files = site(A)[:2]  # robots.txt and ai.txt, no tdmrep.json of its own
    target = json.dumps([{"location": "/", "tdm-reservation": 1}])
    rows = scan(
        tmp_path,
        [
            *files,
            moved(A + "/.well-known/tdmrep.json", "/static/tdmrep.json"),
            Capture(A + "/static/tdmrep.json", target.encode(), content_type="application/json"),
            page(A + "/post"),
        ],
    )
    row = rows[A + "/post"]
    assert (row["decision"], row["signal"]) == ("reserved", "tdmrep")
    assert "https://a.example/static/tdmrep.json (via " in row["evidence"]
    assert A + "/static/tdmrep.json" not in rows  # a followed site file is no document


def test_robots_txt_redirected_to_another_path_is_no_document(tmp_path: Path) -> None:
    # The redirect and its target in two WARC files, read apart by the first pass.
    rows = scan(
        tmp_path,
        [*site(A)[1:], moved(A + "/robots.txt", "/static/robots.txt", 302), page(A + "/x")],
        [robots("User-agent: GPTBot\nDisallow: /\n", A + "/static/robots.txt")],
    )
    assert set(rows) == {A + "/x"}
    assert rows[A + "/x"]["decision"] == "reserved"
    assert "line 2: Disallow: /" in rows[A + "/x"]["evidence"]


def test_a_site_file_redirected_through_hops_to_another_host_and_path(tmp_path: Path) -> None:
    cdn = "https://cdn.example"
    rows = scan(
        tmp_path,
        [
            *site(A)[:1],
            *site(A)[2:],
            moved(A + "/ai.txt", "http://a.example/files/ai"),
            moved("http://a.example/files/ai", cdn + "/sites/a/ai-policy.txt", 308),
            robots("User-agent: *\nDisallow: *.jpg\n", cdn + "/sites/a/ai-policy.txt"),
            Capture(A + "/cat.jpg", make.jpeg(), content_type="image/jpeg"),
        ],
    )
    assert rows[A + "/cat.jpg"]["decision"] == "reserved"
    assert rows[A + "/cat.jpg"]["signal"] == "ai_txt"
    assert cdn + "/sites/a/ai-policy.txt" not in rows


def test_a_redirect_loop_leaves_the_site_file_unknown(tmp_path: Path) -> None:
    rows = scan(
        tmp_path,
        [
            *site(A)[1:],
            moved(A + "/robots.txt", "/r1"),
            moved(A + "/r1", "/r2"),
            moved(A + "/r2", "/robots.txt"),
            page(A + "/x"),
        ],
    )
    assert rows[A + "/x"]["decision"] == "unknown"
    assert "a redirect loop at: https://a.example/robots.txt" in rows[A + "/x"]["evidence"]


def test_more_than_five_redirects_leave_the_site_file_unknown(tmp_path: Path) -> None:
    hops = [moved(A + ("/robots.txt" if i == 0 else f"/r{i}"), f"/r{i + 1}") for i in range(6)]
    rows = scan(
        tmp_path,
        [*site(A)[1:], *hops, robots("User-agent: *\nDisallow: /\n", A + "/r6"), page(A + "/x")],
    )
    assert rows[A + "/x"]["decision"] == "unknown"
    assert "more than 5 redirects at: https://a.example/r5" in rows[A + "/x"]["evidence"]
    # Not followed, /r6 stays what the crawl says it is: a document.
    assert A + "/r6" in rows
