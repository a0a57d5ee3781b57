"""Combining findings: any reservation excludes; then error, then unknown, then allowed."""

from __future__ import annotations

from notrain.signals.decision import Finding, Signal, Verdict, decide

R = Finding(Signal.AI_TXT, Verdict.RESERVED, "ai.txt says no")
R2 = Finding(Signal.IPTC_DATA_MINING, Verdict.RESERVED, "xmp says no")
A = Finding(Signal.CONTENT_USAGE, Verdict.ALLOWED, "train-ai=y")
U = Finding(Signal.ROBOTS_TXT, Verdict.UNKNOWN, "not captured: robots.txt")
U2 = Finding(Signal.TDMREP, Verdict.UNKNOWN, "not captured: tdmrep.json")
E = Finding(Signal.C2PA_TRAINING_MINING, Verdict.ERROR, "manifest unreadable")


def test_any_reservation_wins_over_everything() -> None:
    decision = decide([A, U, E, R])
    assert (decision.decision, decision.signal, decision.evidence) == (
        Verdict.RESERVED,
        "ai_txt",
        "ai.txt says no",
    )
    assert decision.error == "manifest unreadable"


def test_what_the_item_carries_is_named_before_what_its_site_says() -> None:
    assert decide([R, R2]).signal == "iptc_data_mining"


def test_error_beats_unknown_and_allowed() -> None:
    decision = decide([A, U], error="corrupt JPEG")
    assert (decision.decision, decision.signal) == (Verdict.ERROR, "file")
    assert decision.error == "corrupt JPEG"


def test_unknown_joins_all_that_was_not_captured() -> None:
    decision = decide([A, U, U2])
    assert decision.decision is Verdict.UNKNOWN
    assert decision.evidence == "not captured: tdmrep.json; not captured: robots.txt"


def test_allowed_names_the_first_statement_or_nothing() -> None:
    assert decide([A]).signal == "content_usage"
    nothing = decide([])
    assert (nothing.decision, nothing.signal, nothing.evidence) == (Verdict.ALLOWED, None, None)


def test_findings_are_all_kept_for_the_report() -> None:
    assert decide([A, R, U]).finding_lines == [
        "content_usage: allowed: train-ai=y",
        "robots_txt: unknown: not captured: robots.txt",
        "ai_txt: reserved: ai.txt says no",
    ]
