"""IETF AIPREF Content-Usage: the header and the robots.txt rule."""

from __future__ import annotations

import pytest

from notrain.signals.aipref import header_findings, preferences, robots_findings
from notrain.signals.decision import Signal, Verdict
from notrain.signals.robots import Agents, RobotsTxt

AGENTS = Agents()


def header(*values: str) -> Verdict | None:
    found = header_findings(list(values))
    assert all(f.signal is Signal.CONTENT_USAGE for f in found)
    return found[0].verdict if found else None


def test_train_ai_n_reserves_and_y_allows() -> None:
    assert header("train-ai=n") is Verdict.RESERVED
    assert header("train-ai=y, search=n") is Verdict.ALLOWED
    assert header("search=n, ai-use=n") is None


def test_train_genai_n_reserves() -> None:
    assert header("train-genai=n") is Verdict.RESERVED
    assert header("train-ai=y, train-genai=n") is Verdict.RESERVED


@pytest.mark.parametrize(
    "value",
    [
        "Train-AI=n",  # keys are case-sensitive: does not parse
        'train-ai="n"',  # a String, not a Token
        "train-ai=N",  # a Token, but not y or n
        "train-ai",  # a Boolean
        "train-ai=n;",  # a parse error
        "train-ai=n,,",  # a parse error
        "train-ai=\u00f1",  # not ASCII
    ],
)
def test_anything_but_a_token_y_or_n_states_nothing(value: str) -> None:
    assert header(value) is None


def test_parameters_are_ignored() -> None:
    assert header("train-ai=n;because=1") is Verdict.RESERVED


def test_the_last_of_duplicate_keys_applies() -> None:
    assert header("train-ai=n, train-ai=y") is Verdict.ALLOWED
    assert header("train-ai=y, train-ai=n") is Verdict.RESERVED
    assert preferences('train-ai=n, train-ai="n"') == {}


def test_several_header_lines_are_one_field() -> None:
    assert header("search=y", "train-ai=n") is Verdict.RESERVED
    assert header("train-ai=n", "train-ai=y") is Verdict.ALLOWED


def test_evidence_quotes_the_field() -> None:
    [finding] = header_findings(["search=y", "train-ai=n"])
    assert finding.evidence == "header Content-Usage: search=y, train-ai=n (train-ai=n)"


def rule(robots: str, path: str) -> Verdict | None:
    found = robots_findings(RobotsTxt.parse(robots.encode()), path, AGENTS, "robots.txt")
    return found[0].verdict if found else None


ROBOTS = """User-Agent: *
Allow: /
Disallow: /never/
Content-Usage: / train-ai=n
Content-Usage: /ai-ok/ train-ai=y
"""


def test_robots_rule_longest_path_wins() -> None:
    assert rule(ROBOTS, "/test") is Verdict.RESERVED
    assert rule(ROBOTS, "/ai-ok/test") is Verdict.ALLOWED


def test_robots_rule_does_not_apply_where_crawling_is_disallowed() -> None:
    assert rule(ROBOTS, "/never/test") is None


def test_robots_rules_with_the_same_path_combine_most_restrictive() -> None:
    robots = "User-Agent: *\nContent-Usage: /a train-ai=y\nContent-Usage: /a train-ai=n\n"
    assert rule(robots, "/a/b") is Verdict.RESERVED


def test_robots_rule_follows_groups() -> None:
    robots = (
        "User-Agent: *\nContent-Usage: / train-ai=y\n\n"
        "User-Agent: CCBot\nAllow: /\nContent-Usage: / train-ai=n\n"
    )
    [finding] = robots_findings(RobotsTxt.parse(robots.encode()), "/x", AGENTS, "robots.txt")
    assert finding.verdict is Verdict.RESERVED
    assert "ccbot" in finding.evidence


def test_robots_rule_without_a_path_covers_the_site() -> None:
    assert rule("User-Agent: *\nContent-Usage: train-ai=n\n", "/any") is Verdict.RESERVED


def test_robots_rule_with_a_tab_separator() -> None:
    assert rule("User-Agent: *\nContent-Usage: /docs\ttrain-ai=n\n", "/docs/1") is Verdict.RESERVED
    assert rule("User-Agent: *\nContent-Usage: /docs\ttrain-ai=n\n", "/else") is None
