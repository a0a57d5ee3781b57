"""TDMRep: tdmrep.json (first match wins), header, HTML meta; later overrides, absent never
resets, values other than 0/1 are unset."""

from __future__ import annotations

import json

import pytest

from notrain.signals.decision import Finding, Signal, Verdict
from notrain.signals.pattern import url_path
from notrain.signals.tdmrep import FileLayer, file_layer, layered, parse_file

SOURCE = "https://e.com/.well-known/tdmrep.json [200]"


def rules(*items: dict[str, object]) -> bytes:
    return json.dumps(list(items)).encode()


def json_layer(body: bytes, url: str) -> FileLayer:
    return file_layer(parse_file(body), url_path(url), SOURCE)


def verdict(findings: list[Finding]) -> Verdict | None:
    assert all(f.signal is Signal.TDMREP for f in findings)
    return findings[0].verdict if findings else None


NONE = FileLayer(True, None, "no file")
MISSING = FileLayer(False, None, "not captured: https://e.com/.well-known/tdmrep.json")


def test_first_matching_rule_wins() -> None:
    body = rules(
        {"location": "/open/*", "tdm-reservation": 0},
        {"location": "/*", "tdm-reservation": 1, "tdm-policy": "https://e.com/policy.json"},
    )
    assert json_layer(body, "https://e.com/open/a").value == "0"
    layer = json_layer(body, "https://e.com/closed/a")
    assert (layer.value, layer.policy) == ("1", "https://e.com/policy.json")
    [finding] = layered(layer, [], [])
    assert finding.verdict is Verdict.RESERVED
    assert "rule 2" in finding.evidence
    assert "tdm-policy https://e.com/policy.json" in finding.evidence


def test_first_match_wins_even_over_a_more_specific_later_rule() -> None:
    body = rules(
        {"location": "/", "tdm-reservation": 1}, {"location": "/a/b", "tdm-reservation": 0}
    )
    assert json_layer(body, "https://e.com/a/b").value == "1"


def test_a_first_match_with_an_invalid_value_is_unset_and_stops_the_search() -> None:
    body = rules(
        {"location": "/a/*", "tdm-reservation": 5}, {"location": "/*", "tdm-reservation": 1}
    )
    layer = json_layer(body, "https://e.com/a/x")
    assert layer.value == "5"
    assert layered(layer, [], []) == []


def test_locations_match_like_robots_txt() -> None:
    body = rules({"location": "/*.pdf$", "tdm-reservation": 1})
    assert json_layer(body, "https://e.com/docs/a.pdf").value == "1"
    assert json_layer(body, "https://e.com/docs/a.pdf.html").value is None


def test_no_matching_rule_is_unset() -> None:
    body = rules({"location": "/private/", "tdm-reservation": 1})
    assert layered(json_layer(body, "https://e.com/public"), [], []) == []


def test_header_overrides_the_file() -> None:
    layer = json_layer(rules({"location": "/", "tdm-reservation": 1}), "https://e.com/a")
    [finding] = layered(layer, ["0"], [])
    assert finding.verdict is Verdict.ALLOWED
    assert finding.evidence.startswith("header tdm-reservation = 0; overrides")


def test_meta_overrides_the_header() -> None:
    assert verdict(layered(NONE, ["1"], ["0"])) is Verdict.ALLOWED
    assert verdict(layered(NONE, ["0"], ["1"])) is Verdict.RESERVED


def test_an_absent_layer_never_resets() -> None:
    layer = json_layer(rules({"location": "/", "tdm-reservation": 1}), "https://e.com/a")
    assert verdict(layered(layer, [], [])) is Verdict.RESERVED
    assert verdict(layered(NONE, ["1"], [])) is Verdict.RESERVED


@pytest.mark.parametrize("invalid", ["2", "yes", "true", " ", "01", "-1"])
def test_invalid_values_are_unset_and_do_not_override(invalid: str) -> None:
    assert verdict(layered(NONE, [invalid], [])) is None
    assert verdict(layered(NONE, ["1"], [invalid])) is Verdict.RESERVED
    [finding] = layered(NONE, ["1"], [invalid])
    assert "is unset" in finding.evidence


@pytest.mark.parametrize("invalid", [True, False, 2, "1.0", None, [1]])
def test_invalid_json_values_are_unset(invalid: object) -> None:
    layer = json_layer(rules({"location": "/", "tdm-reservation": invalid}), "https://e.com/")
    assert layered(layer, [], []) == []


def test_string_values_in_the_file_are_read() -> None:
    layer = json_layer(rules({"location": "/", "tdm-reservation": "1"}), "https://e.com/")
    assert verdict(layered(layer, [], [])) is Verdict.RESERVED


def test_several_headers_reserve_if_any_says_1() -> None:
    assert verdict(layered(NONE, ["0", "1"], [])) is Verdict.RESERVED


def test_an_uncaptured_file_is_unknown_unless_a_later_layer_speaks() -> None:
    assert verdict(layered(MISSING, [], [])) is Verdict.UNKNOWN
    assert verdict(layered(MISSING, ["0"], [])) is Verdict.ALLOWED
    assert verdict(layered(MISSING, [], ["1"])) is Verdict.RESERVED
    assert verdict(layered(MISSING, ["x"], [])) is Verdict.UNKNOWN


@pytest.mark.parametrize("body", [b"{}", b"not json", b'{"location": "/"}', b"\xff\xfe"])
def test_a_file_that_is_not_an_array_does_not_parse(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_file(body)


def test_rules_without_a_location_are_skipped() -> None:
    parsed = parse_file(rules({"tdm-reservation": 1}, {"location": "/", "tdm-reservation": 0}))
    assert [rule.index for rule in parsed] == [2]


def test_tdm_policy_evidence_names_the_html_policy() -> None:
    [finding] = layered(
        NONE, ["1"], ["1"], ["https://e.com/header-policy"], ["https://e.com/html-policy"]
    )
    assert finding.verdict is Verdict.RESERVED
    assert "meta tdm-reservation = 1 (tdm-policy https://e.com/html-policy)" in finding.evidence
    assert "header-policy" not in finding.evidence.split(";")[0]
    # A header that decides names its own policy, not the page's.
    [header] = layered(NONE, ["1"], [], ["https://e.com/header-policy"], ["https://e.com/x"])
    assert "(tdm-policy https://e.com/header-policy)" in header.evidence


def test_a_location_with_thousands_of_stars_is_matched_in_linear_time() -> None:
    body = rules({"location": "/" + "*x" * 4000 + "*y", "tdm-reservation": 1})
    assert json_layer(body, "https://e.com/" + "x" * 10_000).value is None
    assert json_layer(body, "https://e.com/" + "x" * 10_000 + "y").value == "1"
