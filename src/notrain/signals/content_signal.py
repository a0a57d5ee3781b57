"""Cloudflare's Content Signals: ``Content-Signal: search=yes, ai-input=no, ai-train=no``.

The statement is a comma list of ``name=yes|no`` pairs, read case-insensitively. It appears
as a line in a robots.txt group (Cloudflare's managed robots.txt puts it under
``User-agent: *``), optionally after a path as AIPREF's rule does, and as a response
header. ``ai-train=no`` reserves the item; ``ai-train=yes`` allows it; ``search`` and
``ai-input`` are not about training and are ignored. A value other than yes or no, or a
missing ``ai-train``, says nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from notrain.signals.decision import Finding, Signal, Verdict
from notrain.signals.robots import Agents, RobotsTxt


def ai_train(value: str) -> str | None:
    """``"yes"``, ``"no"`` or None: the ai-train signal of one statement."""
    found: str | None = None
    for pair in value.split(","):
        name, sep, setting = pair.partition("=")
        if sep and name.strip().lower() == "ai-train":
            setting = setting.strip().strip('"').lower()
            found = setting if setting in ("yes", "no") else found
    return found


def header_findings(values: Sequence[str]) -> list[Finding]:
    """The finding of every ``Content-Signal`` header of one response; any ``no`` wins."""
    settings = [(v, ai_train(v)) for v in values]
    for value, setting in settings:
        if setting == "no":
            evidence = f"header Content-Signal: {value.strip()}"
            return [Finding(Signal.CONTENT_SIGNAL, Verdict.RESERVED, evidence)]
    for value, setting in settings:
        if setting == "yes":
            evidence = f"header Content-Signal: {value.strip()}"
            return [Finding(Signal.CONTENT_SIGNAL, Verdict.ALLOWED, evidence)]
    return []


def robots_findings(parsed: RobotsTxt, path: str, agents: Agents, source: str) -> list[Finding]:
    """The finding of the ``Content-Signal`` lines of a robots.txt for ``path``."""
    allowed: Finding | None = None
    for agent in parsed.representatives(agents.tokens):
        rules = parsed.longest("content-signal", agent, path)
        settings = [(rule, ai_train(rule.value)) for rule in rules]
        for rule, setting in settings:
            if setting is None:
                continue
            _, group = parsed.rules_for(agent)
            evidence = f"{source} {rule.describe()} (group User-agent: {group})"
            if setting == "no":
                return [Finding(Signal.CONTENT_SIGNAL, Verdict.RESERVED, evidence)]
            allowed = allowed or Finding(Signal.CONTENT_SIGNAL, Verdict.ALLOWED, evidence)
    return [allowed] if allowed else []
