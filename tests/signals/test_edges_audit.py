"""Edge cases of the opt-out rules, from an audit of the signal readers against them: value
shapes and spellings, validation failures, agents given as user-agent strings, payloads
whose label is wrong, and files that break a reader (an error row, never a crash)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from notrain.signals import xmp
from notrain.signals.aipref import header_findings as content_usage
from notrain.signals.aipref import robots_findings as content_usage_rules
from notrain.signals.content_signal import ai_train
from notrain.signals.decision import Signal, Verdict, decide
from notrain.signals.media import read_signals, scan_path
from notrain.signals.pattern import url_path
from notrain.signals.robots import Agents, RobotsTxt, access_findings, noai_findings
from notrain.signals.tdmrep import file_layer, layered, parse_file
from notrain.signals.warc import scan_warcs
from tests.signals import make
from tests.signals.make import PLUS, VOCAB, Capture, Manifest, SigningKit, html, packet, sign
from tests.signals.make import training_mining as assertion

A = "https://a.example"


def scan(tmp_path: Path, captures: list[Capture], **kw: Any) -> dict[str | None, dict[str, Any]]:
    warc = make.write_warc(tmp_path / "crawl.warc.gz", captures)
    out = tmp_path / "web.parquet"
    scan_warcs([warc], out, workers=0, **kw)
    return {row["url"]: row for row in pq.read_table(out).to_pylist()}


def site(robots_txt: str = "User-agent: *\nAllow: /\n") -> list[Capture]:
    """robots.txt as given, no ai.txt and no tdmrep.json (both answered 404)."""
    return [
        make.robots(robots_txt, A + "/robots.txt"),
        Capture(A + "/ai.txt", b"gone", status=404),
        Capture(A + "/.well-known/tdmrep.json", b"gone", status=404),
    ]


# -- IPTC plus:DataMining in XMP ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        # the code in lower case, inside whitespace, in element form
        f"<plus:DataMining>\n  {VOCAB}dmi-prohibited-seeconstraint\n</plus:DataMining>",
        # a structured value: rdf:parseType="Resource" with rdf:value
        f'<plus:DataMining rdf:parseType="Resource"><rdf:value>{VOCAB}'
        "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR</rdf:value></plus:DataMining>",
        # a resource form with an (empty) end tag rather than self-closing
        f'<plus:DataMining rdf:resource="{VOCAB}DMI-PROHIBITED-SEELINKEDRIGHTSEXPR">'
        "</plus:DataMining>",
        # a bag where an allowing value comes first
        f"<plus:DataMining><rdf:Bag><rdf:li>{VOCAB}DMI-ALLOWED</rdf:li>"
        f'<rdf:li rdf:resource="{VOCAB}DMI-PROHIBITED-AIMLTRAINING"/></rdf:Bag></plus:DataMining>',
    ],
)
def test_data_mining_value_shapes_still_reserve(body: str) -> None:
    description = f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}">{body}</rdf:Description>'
    findings = xmp.read_packet(packet(description), "test")
    assert Verdict.RESERVED in [f.verdict for f in findings]


def test_an_xmp_packet_declaring_an_unknown_encoding_is_an_error(tmp_path: Path) -> None:
    # expat raises LookupError, not ParseError, for an encoding it does not know.
    bogus = b'<?xml version="1.0" encoding="x-no-such-encoding"?>' + make.mining("DMI-PROHIBITED")
    [finding] = xmp.read_packet(bogus, "test")
    assert (finding.signal, finding.verdict) == (Signal.IPTC_DATA_MINING, Verdict.ERROR)
    assert "x-no-such-encoding" in finding.evidence
    path = tmp_path / "photo.jpg"
    path.write_bytes(make.jpeg(bogus))
    decision = scan_path(path)
    assert decision.decision is Verdict.ERROR
    assert "unknown encoding" in (decision.error or "")


# -- C2PA and CAWG training-mining --------------------------------------------------------


def verdict_of(data: bytes) -> tuple[Verdict, str | None, str | None]:
    findings, error = read_signals(io.BytesIO(data))
    decision = decide(findings, error)
    return decision.decision, decision.evidence, decision.error


def test_an_assertion_edited_after_signing_still_reserves(kit: SigningKit) -> None:
    manifest = Manifest([assertion({"ai_training": "notAllowed", "ai_inference": "allowed"})])
    data = bytearray(sign(make.jpeg(), "image/jpeg", manifest, kit).asset)
    at = data.index(b"allowed", data.index(b"ai_inference"))
    data[at : at + 7] = b"allowex"  # the assertion's bytes no longer match the claim's hash
    verdict, evidence, _ = verdict_of(bytes(data))
    assert verdict is Verdict.RESERVED
    assert "assertion.hashedURI.mismatch" in (evidence or "")


def test_a_broken_claim_signature_still_reserves(kit: SigningKit) -> None:
    manifest = Manifest([assertion({"data_mining": "constrained"}, "cawg.training-mining")])
    data = bytearray(sign(make.png(), "image/png", manifest, kit).asset)
    # The COSE_Sign1 in the c2pa.signature box ends with the 64-byte ES256 signature.
    box = data.index(b"cbor", data.index(b"c2pa.signature")) - 4
    end = box + int.from_bytes(data[box : box + 4], "big")
    for i in range(end - 16, end):
        data[i] ^= 0x55
    verdict, evidence, _ = verdict_of(bytes(data))
    assert verdict is Verdict.RESERVED
    assert "claimSignature.mismatch" in (evidence or "")


def test_two_assertions_of_one_label_are_both_read(kit: SigningKit) -> None:
    label = "cawg.training-mining"
    manifest = Manifest(
        [
            assertion({"ai_training": "allowed"}, label),
            assertion({"ai_training": "notAllowed"}, label),
        ]
    )
    verdict, evidence, _ = verdict_of(sign(make.jpeg(), "image/jpeg", manifest, kit).asset)
    assert verdict is Verdict.RESERVED
    assert "use=notAllowed" in (evidence or "")


@pytest.mark.parametrize(
    "data",
    [
        {"entries": ["notAllowed"]},  # entries is not an object
        {"entries": {"c2pa.ai_training": "notAllowed"}},  # an entry is not an object
        "notAllowed",  # the data is not an object
    ],
)
def test_a_malformed_assertion_is_an_error_not_a_crash(
    kit: SigningKit, tmp_path: Path, data: object
) -> None:
    manifest = Manifest([{"label": "c2pa.training-mining", "data": data}])
    path = tmp_path / "photo.jpg"
    path.write_bytes(sign(make.jpeg(), "image/jpeg", manifest, kit).asset)
    decision = scan_path(path)
    assert (decision.decision, decision.signal) == (Verdict.ERROR, "c2pa_training_mining")
    assert "malformed" in (decision.error or "")


def test_a_malformed_assertion_beside_a_reservation_still_reserves(kit: SigningKit) -> None:
    manifest = Manifest(
        [
            {"label": "c2pa.training-mining", "data": {"entries": ["x"]}},
            assertion({"ai_generative_training": "notAllowed"}, "cawg.training-mining"),
        ]
    )
    verdict, _, error = verdict_of(sign(make.webp(), "image/webp", manifest, kit).asset)
    assert verdict is Verdict.RESERVED
    assert "malformed" in (error or "")


# -- X-Robots-Tag, meta robots and the agents they address --------------------------------


@pytest.mark.parametrize(
    ("content", "reserved"),
    [("GPTBot: noai", True), ("GPTBOT:NOAI", True), ("otherbot: noai", False),
     ("otherbot: noindex, gptbot: noai", True)],
)  # fmt: skip
def test_a_prefix_inside_meta_robots_addresses_that_crawler(content: str, reserved: bool) -> None:
    found = noai_findings(
        [('meta name="robots"', None, content)], Agents(), is_image=False, signal=Signal.META_ROBOTS
    )
    assert (Verdict.RESERVED in [f.verdict for f in found]) is reserved


def test_an_agent_given_as_a_user_agent_string_is_matched_by_its_product_token() -> None:
    agents = Agents(ours="MyCrawler/2.0 (+https://crawler.example/about)", ai=("OtherAI/1.1",))
    assert agents.tokens == ("mycrawler", "otherai")
    for robots in ("User-agent: MyCrawler\nDisallow: /\n", "User-agent: otherai\nDisallow: /\n"):
        [finding] = access_findings(RobotsTxt.parse(robots.encode()), "/a", agents, "robots.txt")
        assert finding.verdict is Verdict.RESERVED
    header = [("header X-Robots-Tag", None, "mycrawler: noai")]
    found = noai_findings(header, agents, is_image=False, signal=Signal.X_ROBOTS_TAG)
    assert [f.verdict for f in found] == [Verdict.RESERVED]


def test_our_agent_as_a_user_agent_string_in_a_crawl(tmp_path: Path) -> None:
    captures = [
        *site("User-agent: MyCrawler\nDisallow: /private/\n"),
        Capture(A + "/private/x", html()),
        Capture(A + "/meta", html(head='<meta name="mycrawler" content="noai">')),
    ]
    rows = scan(tmp_path, captures, agents=Agents(ours="MyCrawler/2.0"))
    assert rows[A + "/private/x"]["signal"] == "robots_txt"
    assert rows[A + "/private/x"]["decision"] == "reserved"
    assert (rows[A + "/meta"]["decision"], rows[A + "/meta"]["signal"]) == (
        "reserved",
        "meta_robots",
    )


# -- payloads in a crawl whose label is wrong ---------------------------------------------


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "binary/octet-stream"])
def test_an_image_sent_without_an_image_type_is_read_as_an_image(
    tmp_path: Path, content_type: str | None
) -> None:
    captures = [
        *site(),
        Capture(A + "/xmp", make.jpeg(make.mining("DMI-PROHIBITED-AIMLTRAINING")),
                content_type=content_type),
        Capture(A + "/noimageai", make.png(), headers=[("X-Robots-Tag", "noimageai")],
                content_type=content_type),
        Capture(A + "/bytes", b"\x00\x01 not a picture", headers=[("X-Robots-Tag", "noimageai")],
                content_type=content_type),
    ]  # fmt: skip
    rows = scan(tmp_path, captures)
    assert (rows[A + "/xmp"]["decision"], rows[A + "/xmp"]["signal"]) == (
        "reserved",
        "iptc_data_mining",
    )
    assert (rows[A + "/noimageai"]["decision"], rows[A + "/noimageai"]["signal"]) == (
        "reserved",
        "x_robots_tag",
    )
    assert rows[A + "/bytes"]["decision"] == "allowed"


def test_a_payload_that_breaks_a_reader_is_its_rows_error_and_the_crawl_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> list[Any]:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(xmp, "read_packet", broken)
    captures = [
        *site(),
        Capture(A + "/photo", make.jpeg(make.mining("DMI-ALLOWED")), content_type="image/jpeg"),
        Capture(A + "/after", html()),
    ]
    rows = scan(tmp_path, captures)
    assert rows[A + "/photo"]["decision"] == "error"
    assert "RuntimeError: reader bug" in rows[A + "/photo"]["error"]
    assert rows[A + "/after"]["decision"] == "allowed"
    assert None not in rows  # no error row for the WARC file itself
    path = tmp_path / "photo.jpg"
    path.write_bytes(make.jpeg(make.mining("DMI-ALLOWED")))
    decision = scan_path(path)
    assert decision.decision is Verdict.ERROR
    assert "RuntimeError: reader bug" in (decision.error or "")


# -- robots.txt, ai.txt and tdmrep.json as captured ---------------------------------------


def test_a_gzip_encoded_crlf_robots_txt_applies_to_any_spelling_of_its_origin(
    tmp_path: Path,
) -> None:
    body = gzip.compress(b"User-agent: GPTBot\r\nDisallow: /private/\r\n")
    robots_txt = Capture(
        A + "/robots.txt", body, headers=[("Content-Encoding", "gzip")], content_type="text/plain"
    )
    captures = [
        robots_txt,
        *site()[1:],
        Capture("HTTPS://A.Example:443/private/x#top", html()),
        Capture(A + "/public", html()),
    ]
    rows = scan(tmp_path, captures)
    assert rows["HTTPS://A.Example:443/private/x#top"]["decision"] == "reserved"
    assert rows[A + "/public"]["decision"] == "allowed"


def test_a_server_error_for_ai_txt_is_unknown_and_for_tdmrep_json_is_unset(
    tmp_path: Path,
) -> None:
    captures = [
        make.robots("User-agent: *\nAllow: /\n", A + "/robots.txt"),
        Capture(A + "/ai.txt", b"", status=503),
        Capture(A + "/.well-known/tdmrep.json", b"", status=503),
        Capture(A + "/x", html()),
    ]
    row = scan(tmp_path, captures)[A + "/x"]
    assert (row["decision"], row["signal"]) == ("unknown", "ai_txt")
    assert row["evidence"] == "https://a.example/ai.txt [503]: the content of the file is unknown"


def test_tdmrep_json_with_a_byte_order_mark_and_non_ascii_locations() -> None:
    items = [
        {"location": "/caf\u00e9/*", "tdm-reservation": 1},
        {"location": "/", "tdm-reservation": 0},
    ]
    rules = parse_file(b"\xef\xbb\xbf" + json.dumps(items).encode())
    assert file_layer(rules, url_path("https://e.com/caf%C3%A9/menu"), "f").value == "1"
    assert file_layer(rules, url_path("https://e.com/cafe/menu"), "f").value == "0"


def test_tdmrep_values_are_read_through_whitespace_in_every_layer() -> None:
    rules = parse_file(json.dumps([{"location": "/", "tdm-reservation": " 0 "}]).encode())
    layer = file_layer(rules, "/a", "f")
    assert layered(layer, [], [])[0].verdict is Verdict.ALLOWED
    assert layered(layer, ["\t1 "], [])[0].verdict is Verdict.RESERVED
    assert layered(layer, ["1"], [" 0\n"])[0].verdict is Verdict.ALLOWED


# -- AIPREF Content-Usage and Cloudflare Content-Signal -----------------------------------


def test_content_usage_rule_paths_match_like_robots_txt() -> None:
    parsed = RobotsTxt.parse(b"User-Agent: *\nContent-Usage: /*.pdf$ train-ai=n\n")

    def verdicts(path: str) -> list[Verdict]:
        return [f.verdict for f in content_usage_rules(parsed, path, Agents(), "robots.txt")]

    assert verdicts("/docs/a.pdf") == [Verdict.RESERVED]
    assert verdicts("/docs/a.pdf.html") == []


def test_content_usage_header_whitespace_and_parameters() -> None:
    assert [f.verdict for f in content_usage(["  search=y ,train-ai=n;src=x  "])] == [
        Verdict.RESERVED
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ai-train = no", "no"), ('ai-train="no"', "no"), (" search=yes , AI-TRAIN=No ", "no"),
     ("ai_train=no", None)],
)  # fmt: skip
def test_content_signal_spellings(value: str, expected: str | None) -> None:
    assert ai_train(value) == expected
