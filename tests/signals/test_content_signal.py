"""Cloudflare Content-Signal: ai-train=no reserves, in robots.txt and as a header."""

from __future__ import annotations

import pytest

from notrain.signals.content_signal import ai_train, header_findings, robots_findings
from notrain.signals.decision import Signal, Verdict
from notrain.signals.robots import Agents, RobotsTxt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("search=yes, ai-train=no", "no"),
        ("AI-Train=NO", "no"),
        ("search=yes,ai-train=yes,ai-input=no", "yes"),
        ("search=yes, ai-input=no", None),
        ("ai-train=maybe", None),
        ("ai-train", None),
    ],
)
def test_ai_train_is_read_case_insensitively(value: str, expected: str | None) -> None:
    assert ai_train(value) == expected


def test_header_no_reserves_yes_allows() -> None:
    [reserved] = header_findings(["search=yes", "ai-train=no"])
    assert (reserved.signal, reserved.verdict) == (Signal.CONTENT_SIGNAL, Verdict.RESERVED)
    assert reserved.evidence == "header Content-Signal: ai-train=no"
    [allowed] = header_findings(["ai-train=yes"])
    assert allowed.verdict is Verdict.ALLOWED
    assert header_findings(["search=no"]) == []


def test_cloudflare_managed_robots_txt() -> None:
    robots = (
        "# As a condition of accessing this website, you agree to abide by the following\n"
        "# content signals: ...\n"
        "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"
    )
    [finding] = robots_findings(RobotsTxt.parse(robots.encode()), "/page", Agents(), "robots.txt")
    assert finding.verdict is Verdict.RESERVED
    assert "line 4: Content-Signal: search=yes, ai-train=no" in finding.evidence


def test_robots_content_signal_by_group_and_path() -> None:
    robots = (
        "User-agent: *\nContent-Signal: ai-train=yes\n\n"
        "User-agent: GPTBot\nContent-Signal: /blog ai-train=no\n"
    )
    parsed = RobotsTxt.parse(robots.encode())
    assert robots_findings(parsed, "/blog/1", Agents(), "r")[0].verdict is Verdict.RESERVED
    assert robots_findings(parsed, "/shop", Agents(), "r")[0].verdict is Verdict.ALLOWED
