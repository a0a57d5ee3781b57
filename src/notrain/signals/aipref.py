"""IETF AIPREF usage preferences: the ``Content-Usage`` header and robots.txt rule.

The header is a Structured Field Dictionary (RFC 9651), parsed strictly with ``http-sf``:
keys are case-sensitive, so ``Train-AI=n`` does not parse and states nothing, exactly as
the vocabulary draft says. A preference is the Token ``y`` or ``n``; any other value, a
duplicate key's earlier value, or a parse failure leaves the category unknown (not an
error). Several header lines are one field, joined with ", " before parsing.

``train-ai=n`` reserves the item, ``train-ai=y`` allows it. ``train-genai`` (generative
training, from earlier drafts of the vocabulary) also reserves on ``n``: a dataset may end
up training a generative model. Other labels (``search``, ``ai-use``) are not about
training and are ignored.

In robots.txt, ``Content-Usage: <path> <preferences>`` lines belong to a group like
``Allow``/``Disallow``; for each of our crawlers the rule with the longest matching path
applies, rules with the same path combine (a ``n`` in any wins), and paths the crawler may
not fetch carry no preference (robots.txt itself reserves those).
"""

from __future__ import annotations

from collections.abc import Sequence

import http_sf

from notrain.signals.decision import Finding, Signal, Verdict
from notrain.signals.robots import Agents, RobotsTxt

TRAINING_LABELS = ("train-ai", "train-genai")


def preferences(value: str) -> dict[str, str]:
    """The ``y``/``n`` preferences of one serialised statement; ``{}`` if it does not parse."""
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (http_sf.StructuredFieldError, UnicodeEncodeError):
        return {}
    if not isinstance(parsed, dict):
        return {}
    prefs: dict[str, str] = {}
    for key, member in parsed.items():
        item = member[0] if isinstance(member, tuple) else member
        if isinstance(item, http_sf.Token) and str(item) in ("y", "n"):
            prefs[key] = str(item)
    return prefs


def _verdict(prefs: dict[str, str]) -> tuple[Verdict, str] | None:
    for label in TRAINING_LABELS:
        if prefs.get(label) == "n":
            return Verdict.RESERVED, f"{label}=n"
    if prefs.get("train-ai") == "y":
        return Verdict.ALLOWED, "train-ai=y"
    return None


def header_findings(values: Sequence[str]) -> list[Finding]:
    """The finding of all ``Content-Usage`` header lines of one response."""
    if not values:
        return []
    joined = ", ".join(v.strip() for v in values)
    result = _verdict(preferences(joined))
    if result is None:
        return []
    verdict, pref = result
    return [Finding(Signal.CONTENT_USAGE, verdict, f"header Content-Usage: {joined} ({pref})")]


def robots_findings(parsed: RobotsTxt, path: str, agents: Agents, source: str) -> list[Finding]:
    """The finding of the ``Content-Usage`` rules of a robots.txt for ``path``."""
    allowed: Finding | None = None
    for agent in parsed.representatives(agents.tokens):
        if not parsed.may_fetch(agent, path).allowed:
            continue
        rules = parsed.longest("content-usage", agent, path)
        combined: dict[str, str] = {}
        for rule in rules:
            for label, pref in preferences(rule.value).items():
                combined[label] = "n" if "n" in (pref, combined.get(label)) else pref
        result = _verdict(combined)
        if result is None:
            continue
        verdict, pref = result
        lines = ", ".join(rule.describe() for rule in rules)
        finding = Finding(
            Signal.CONTENT_USAGE, verdict, f"{source} {lines} ({pref} for {agent} at {path})"
        )
        if verdict is Verdict.RESERVED:
            return [finding]
        allowed = allowed or finding
    return [allowed] if allowed else []
