"""IPTC plus:DataMining and TDMRep in XMP packets: every value, every RDF form."""

from __future__ import annotations

import pytest

from notrain.signals.decision import Signal, Verdict
from notrain.signals.xmp import read_packet
from tests.signals.make import PLUS, PROHIBITED, RDF, VOCAB, mining, packet, tdm_xmp

FORMS = ["attribute", "element", "resource"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("value", PROHIBITED)
def test_every_prohibited_value_reserves_in_every_form(value: str, form: str) -> None:
    [finding] = read_packet(mining(value, form), "test")
    assert finding.signal is Signal.IPTC_DATA_MINING
    assert finding.verdict is Verdict.RESERVED
    assert finding.evidence == f"XMP (test) plus:DataMining = {VOCAB}{value}"


@pytest.mark.parametrize("form", FORMS)
def test_allowed_is_a_statement_that_allows(form: str) -> None:
    [finding] = read_packet(mining("DMI-ALLOWED", form), "test")
    assert finding.verdict is Verdict.ALLOWED


@pytest.mark.parametrize("form", FORMS)
def test_unspecified_says_nothing(form: str) -> None:
    assert read_packet(mining("DMI-UNSPECIFIED", form), "test") == []


def test_an_unknown_code_is_unset() -> None:
    assert read_packet(mining("DMI-SOMETHING-ELSE"), "test") == []
    assert read_packet(mining("http://example.com/vocab/whatever"), "test") == []


def test_a_bare_code_without_the_uri_is_read() -> None:
    [finding] = read_packet(mining("DMI-PROHIBITED-AIMLTRAINING", "bare"), "test")
    assert finding.verdict is Verdict.RESERVED


def test_a_value_inside_an_rdf_container_is_read() -> None:
    body = (
        f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}"><plus:DataMining><rdf:Alt>'
        f"<rdf:li>{VOCAB}DMI-PROHIBITED-GENAIMLTRAINING</rdf:li>"
        "</rdf:Alt></plus:DataMining></rdf:Description>"
    )
    [finding] = read_packet(packet(body), "test")
    assert finding.verdict is Verdict.RESERVED


def test_two_descriptions_one_prohibiting() -> None:
    body = (
        f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}" plus:DataMining="{VOCAB}DMI-ALLOWED"/>'
        f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}">'
        f'<plus:DataMining rdf:resource="{VOCAB}DMI-PROHIBITED"/></rdf:Description>'
    )
    verdicts = sorted(f.verdict for f in read_packet(packet(body), "test"))
    assert verdicts == [Verdict.ALLOWED, Verdict.RESERVED]


def test_another_namespace_with_the_same_local_name_is_not_read() -> None:
    body = (
        '<rdf:Description rdf:about="" xmlns:fake="http://example.com/ns/" '
        f'fake:DataMining="{VOCAB}DMI-PROHIBITED"/>'
    )
    assert read_packet(packet(body), "test") == []


@pytest.mark.parametrize(("value", "verdict"), [("1", Verdict.RESERVED), ("0", Verdict.ALLOWED)])
def test_tdmrep_in_xmp(value: str, verdict: Verdict) -> None:
    [finding] = read_packet(tdm_xmp(value), "test")
    assert (finding.signal, finding.verdict) == (Signal.TDMREP, verdict)


@pytest.mark.parametrize("value", ["2", "yes", "", "true"])
def test_tdmrep_values_other_than_0_or_1_are_unset(value: str) -> None:
    assert read_packet(tdm_xmp(value), "test") == []


def test_malformed_xml_is_an_error_not_silence() -> None:
    [finding] = read_packet(mining("DMI-PROHIBITED")[:-40], "test")
    assert finding.verdict is Verdict.ERROR
    assert "not well-formed" in finding.evidence


def test_a_packet_with_entities_is_refused() -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "DMI-PROHIBITED">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + RDF.encode() + b'">'
        b'<rdf:Description xmlns:plus="' + PLUS.encode() + b'" plus:DataMining="&e;"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    [finding] = read_packet(hostile, "test")
    assert finding.verdict is Verdict.ERROR
    assert "DTD" in finding.evidence
