"""notrain's decisions next to datadiligence's, on the same fixtures.

Builds a set of labelled cases — media files with XMP and C2PA, and a crawl in a WARC file
with headers, HTML, robots.txt, ai.txt and tdmrep.json — runs notrain's scans on them and,
when the ``datadiligence`` package is importable, its offline rules on the same bytes
(``C2PAMetadataRule`` on files and image bodies; ``XRobotsTagHeader`` and
``TDMRepHeader`` on each response's headers as warcio gives them, a list of pairs). Its
Spawning API rule needs the network and is not run. Prints a Markdown table: the decision
the rules of the issue call for, notrain's, and datadiligence's.

This script installs nothing. datadiligence belongs in a throwaway environment:

    python3 -m venv /tmp/dd-venv
    /tmp/dd-venv/bin/pip install datadiligence pyarrow warcio defusedxml http-sf
    PYTHONPATH=src /tmp/dd-venv/bin/python benchmarks/compare_datadiligence.py
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any


def _bench() -> ModuleType:
    """The fixture makers of benchmarks/signals.py (a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "bench_signals", Path(__file__).with_name("signals.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _bench()


@dataclass
class Case:
    name: str
    correct: str  # the decision the rules call for
    media: bytes | None = None  # a media file, or
    responses: list[Any] = field(default_factory=list)  # site files and one document
    url: str | None = None  # the document's URL
    notrain: str = "?"
    datadiligence: str = "?"


def media_cases(kit: Any) -> list[Case]:
    jpeg: Callable[..., bytes] = lambda xmp=None: bench.image("JPEG", xmp, size=32)  # noqa: E731
    png = bench.image("PNG", None, size=32)
    signed = bench.sign
    tampered = bytearray(signed(jpeg(), "image/jpeg", kit, {"ai_training": "notAllowed"}))
    tampered[-20] ^= 0xFF
    return [
        Case("JPEG, XMP plus:DataMining = DMI-PROHIBITED-AIMLTRAINING", "reserved",
             jpeg(bench.xmp_mining("DMI-PROHIBITED-AIMLTRAINING"))),
        Case("PNG, XMP DMI-PROHIBITED-SEECONSTRAINT", "reserved",
             bench.image("PNG", bench.xmp_mining("DMI-PROHIBITED-SEECONSTRAINT"), size=32)),
        Case("WebP, XMP DMI-PROHIBITED", "reserved",
             bench.image("WEBP", bench.xmp_mining("DMI-PROHIBITED"), size=32)),
        Case("JPEG, XMP DMI-ALLOWED", "allowed", jpeg(bench.xmp_mining("DMI-ALLOWED"))),
        Case("JPEG, C2PA c2pa.ai_training notAllowed", "reserved",
             signed(jpeg(), "image/jpeg", kit, {"ai_training": "notAllowed"})),
        Case("JPEG, C2PA c2pa.ai_generative_training constrained", "reserved",
             signed(jpeg(), "image/jpeg", kit, {"ai_generative_training": "constrained"})),
        Case("PNG, CAWG cawg.training-mining ai_training notAllowed", "reserved",
             signed(png, "image/png", kit, {"ai_training": "notAllowed"},
                    "cawg.training-mining")),
        Case("JPEG, C2PA notAllowed, pixels edited after signing", "reserved",
             bytes(tampered)),
        Case("JPEG, C2PA manifest only remote (offline)", "unknown",
             signed(jpeg(), "image/jpeg", kit, {"ai_training": "notAllowed"},
                    remote_url="http://127.0.0.1:9/m.c2pa")),
        Case("JPEG, C2PA everything allowed", "allowed",
             signed(jpeg(), "image/jpeg", kit,
                    dict.fromkeys(["ai_training", "ai_generative_training", "data_mining"],
                                  "allowed"))),
        Case("JPEG, corrupt (segment overruns the file)", "error",
             jpeg()[:4] + b"\xff\xf0" + jpeg()[6:]),
        Case("JPEG, no metadata", "allowed", jpeg()),
    ]  # fmt: skip


def web_cases() -> list[Case]:
    cases: list[Case] = []

    def case(
        name: str,
        correct: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        head: str = "",
        path: str = "/page",
        robots: str = "User-agent: *\nAllow: /\n",
        ai_txt: str | None = None,
        tdm: Any = None,
        site_files: bool = True,
        body: bytes | None = None,
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        origin = f"https://case{len(cases):02d}.example"
        page = f"<html><head>{head}</head><body><p>Words.</p></body></html>".encode()
        document = bench.Response(
            origin + path,
            page if body is None else body,
            headers=headers or [],
            content_type=content_type,
        )
        files = bench.site_files(origin, robots, ai_txt, tdm) if site_files else []
        cases.append(Case(name, correct, responses=[*files, document], url=origin + path))

    case("X-Robots-Tag: noai", "reserved", headers=[("X-Robots-Tag", "noai")])
    case("x-robots-tag: noai (lower-case name)", "reserved", headers=[("x-robots-tag", "noai")])
    case("X-Robots-Tag: NoAI (value case)", "reserved", headers=[("X-Robots-Tag", "NoAI")])
    case("X-Robots-Tag: noai, then X-Robots-Tag: noindex", "reserved",
         headers=[("X-Robots-Tag", "noai"), ("X-Robots-Tag", "noindex")])  # fmt: skip
    case("X-Robots-Tag: GPTBot: noai", "reserved", headers=[("X-Robots-Tag", "GPTBot: noai")])
    case("X-Robots-Tag: bingbot: noai (another crawler)", "allowed",
         headers=[("X-Robots-Tag", "bingbot: noai")])  # fmt: skip
    case("X-Robots-Tag: noimageai on an HTML page (text)", "allowed",
         headers=[("X-Robots-Tag", "noimageai")])  # fmt: skip
    case('<meta name="robots" content="noai">', "reserved",
         head='<meta name="robots" content="noai">')  # fmt: skip
    case("tdm-reservation: 1", "reserved", headers=[("tdm-reservation", "1")])
    case("TDM-Reservation: 1 (name case)", "reserved", headers=[("TDM-Reservation", "1")])
    case("tdmrep.json reserves /*", "reserved", tdm=[{"location": "/*", "tdm-reservation": 1}])
    case(
        "tdmrep.json 1, header tdm-reservation: 0 (later layer)",
        "allowed",
        tdm=[{"location": "/*", "tdm-reservation": 1}],
        headers=[("tdm-reservation", "0")],
    )
    case(
        "tdmrep.json 1, header tdm-reservation: 2 (invalid: unset)",
        "reserved",
        tdm=[{"location": "/*", "tdm-reservation": 1}],
        headers=[("tdm-reservation", "2")],
    )
    case('<meta name="tdm-reservation" content="1">', "reserved",
         head='<meta name="tdm-reservation" content="1">')  # fmt: skip
    case("robots.txt: User-agent: GPTBot / Disallow: /", "reserved",
         robots="User-agent: GPTBot\nDisallow: /\n")  # fmt: skip
    case("robots.txt answered 503", "reserved", robots="")
    case("ai.txt: Disallow: *.jpg, an image URL", "reserved", path="/art/cat.jpg",
         ai_txt="User-Agent: *\nDisallow: *.jpg\n", body=bench.image("JPEG", None, size=16),
         content_type="image/jpeg")  # fmt: skip
    case("Content-Usage: train-ai=n", "reserved", headers=[("Content-Usage", "train-ai=n")])
    case("robots.txt Content-Usage: / train-ai=n", "reserved",
         robots="User-agent: *\nAllow: /\nContent-Usage: / train-ai=n\n")  # fmt: skip
    case(
        "robots.txt Content-Signal: ai-train=no",
        "reserved",
        robots="User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
    )
    case("image with XMP DMI-PROHIBITED", "reserved", path="/photo",
         body=bench.image("PNG", bench.xmp_mining("DMI-PROHIBITED"), size=16),
         content_type="image/png")  # fmt: skip
    case("no site files captured", "unknown", site_files=False)
    case("site files captured, nothing reserves", "allowed")
    for item in cases:
        if item.name == "robots.txt answered 503":
            item.responses[0].status = 503
    return cases


# -- running both tools ------------------------------------------------------------------


def run_notrain(media: list[Case], web: list[Case], tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from notrain.signals.scan import scan_media
    from notrain.signals.warc import scan_warcs

    root = tmp / "media"
    root.mkdir()
    for i, item in enumerate(media):
        assert item.media is not None
        (root / f"{i}.bin").write_bytes(item.media)
    pq.write_table(
        pa.table({"content_id": pa.array(range(len(media)), pa.int64()),
                  "media_uri": [f"{i}.bin" for i in range(len(media))]}),
        tmp / "content.parquet",
    )  # fmt: skip
    scan_media(str(tmp / "content.parquet"), root, tmp / "media.parquet", workers=0)
    for row in pq.read_table(tmp / "media.parquet").to_pylist():
        media[row["content_id"]].notrain = row["decision"]
    warc = bench.write_warc(tmp / "crawl.warc.gz", [r for c in web for r in c.responses])
    scan_warcs([warc], tmp / "web.parquet", workers=0)
    decided = {
        row["url"]: row["decision"] for row in pq.read_table(tmp / "web.parquet").to_pylist()
    }
    for item in web:
        item.notrain = decided.get(item.url, "no row")


def run_datadiligence(media: list[Case], web: list[Case], tmp: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    rules = importlib.import_module("datadiligence.rules")  # not a dependency: untyped here

    def verdict(*checks: Callable[[], bool]) -> str:
        try:
            return "allowed" if all(check() for check in checks) else "reserved"
        except Exception as exc:
            return f"error ({type(exc).__name__})"

    c2pa_rule = rules.C2PAMetadataRule()
    for i, item in enumerate(media):
        path = str(tmp / f"{i}.jpg")
        Path(path).write_bytes(item.media or b"")
        item.datadiligence = verdict(lambda p=path: c2pa_rule.is_allowed(path=p))  # type: ignore[misc]
    x_robots, tdm = rules.XRobotsTagHeader(), rules.TDMRepHeader()
    by_url: dict[str, tuple[list[tuple[str, str]], bytes, str]] = {}
    with (tmp / "crawl.warc.gz").open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "response":
                headers = list(record.http_headers.headers)
                ctype = record.http_headers.get_header("Content-Type") or ""
                by_url[record.rec_headers.get_header("WARC-Target-URI")] = (
                    headers,
                    record.content_stream().read(),
                    ctype,
                )
    for item in web:
        assert item.url is not None
        headers, body, ctype = by_url[item.url]
        checks: list[Callable[[], bool]] = [
            lambda h=headers: x_robots.is_allowed(headers=h),  # type: ignore[misc]
            lambda h=headers: tdm.is_allowed(headers=h),  # type: ignore[misc]
        ]
        if ctype.startswith("image/"):
            checks.append(lambda b=body: c2pa_rule.is_allowed(body=b))  # type: ignore[misc]
        item.datadiligence = verdict(*checks)


def table(cases: list[Case], have_dd: bool) -> str:
    def mark(decision: str, correct: str) -> str:
        return f"{decision} {'✓' if decision == correct else '✗'}"

    lines = [
        "| # | fixture | correct | notrain | datadiligence |",
        "|---|---|---|---|---|",
    ]
    for i, item in enumerate(cases, start=1):
        dd = mark(item.datadiligence, item.correct) if have_dd else "not run"
        lines.append(
            f"| {i} | {item.name} | {item.correct} | {mark(item.notrain, item.correct)} | {dd} |"
        )
    right = sum(c.notrain == c.correct for c in cases)
    dd_right = sum(c.datadiligence == c.correct for c in cases)
    dd_total = f"**{dd_right}/{len(cases)}**" if have_dd else "—"
    lines.append(f"| | **right** | | **{right}/{len(cases)}** | {dd_total} |")
    return "\n".join(lines)


def main() -> None:
    have_dd = importlib.util.find_spec("datadiligence") is not None
    kit = bench.signing_kit()
    media, web = media_cases(kit), web_cases()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        run_notrain(media, web, tmp)
        if have_dd:
            run_datadiligence(media, web, tmp)
    if not have_dd:
        print("datadiligence is not importable here; see this script's docstring to run it.\n")
    else:
        version = importlib.import_module("datadiligence").__version__
        print(f"datadiligence {version}\n")
    print(table([*media, *web], have_dd))


if __name__ == "__main__":
    main()
