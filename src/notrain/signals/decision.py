"""What the signals of one item say, combined into one decision.

Each signal family reads its own source by its own rules and reports :class:`Finding`\\ s:
one per thing it saw, each with a verdict and the evidence (which header, file or field,
and the value). :func:`decide` combines them: **any reservation excludes**. Without one,
an error that kept a signal from being read wins over a missing capture, which wins over
"allowed" — a decision is only ``allowed`` when everything that could reserve the item was
read and none did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    RESERVED = "reserved"
    """The rightsholder said no to AI training (or to text and data mining)."""
    ALLOWED = "allowed"
    """Nothing that was read reserves the item. As a finding: a statement that allows it
    (``DMI-ALLOWED``, ``tdm-reservation: 0``, ``train-ai=y``, an explicit ``Allow`` rule)."""
    UNKNOWN = "unknown"
    """A source that could reserve the item was not captured, so it could not be read."""
    ERROR = "error"
    """The item, or one of its signals, could not be read."""


class Signal(StrEnum):
    """The signals notrain reads; the value is what the ``signal`` column holds."""

    FILE = "file"
    """Not a signal: the item itself (unreadable file, record or capture)."""
    IPTC_DATA_MINING = "iptc_data_mining"
    C2PA_TRAINING_MINING = "c2pa_training_mining"
    CAWG_TRAINING_MINING = "cawg_training_mining"
    TDMREP = "tdmrep"
    X_ROBOTS_TAG = "x_robots_tag"
    META_ROBOTS = "meta_robots"
    CONTENT_USAGE = "content_usage"
    CONTENT_SIGNAL = "content_signal"
    ROBOTS_TXT = "robots_txt"
    AI_TXT = "ai_txt"


# When several findings share the winning verdict, the one named in the output is the first
# in this order: an unreadable item first, then what the item carries itself, then what its
# site says about it.
_ORDER = {signal: rank for rank, signal in enumerate(Signal)}
_PRECEDENCE = (Verdict.RESERVED, Verdict.ERROR, Verdict.UNKNOWN, Verdict.ALLOWED)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a signal said about an item."""

    signal: Signal
    verdict: Verdict
    evidence: str

    def __str__(self) -> str:
        return f"{self.signal}: {self.verdict}: {self.evidence}"


@dataclass(frozen=True, slots=True)
class Decision:
    """The combined decision for one item, as written to the output."""

    decision: Verdict
    signal: str | None
    evidence: str | None
    error: str | None
    findings: tuple[Finding, ...]

    @property
    def finding_lines(self) -> list[str]:
        return [str(finding) for finding in self.findings]


def decide(findings: Iterable[Finding], error: str | None = None) -> Decision:
    """Combine findings (and an error reading the item, if any) into one decision.

    ``reserved`` names the first reserving signal and its evidence; the ``error`` field
    still reports any signal that could not be read beside it. ``error`` and
    ``unknown`` name the first such signal and join the evidence of all of them, so the
    report says everything that could not be read. ``allowed`` names the first statement
    that allowed the item, or nothing when no signal said anything.
    """
    given = list(findings)
    if error is not None:
        given.append(Finding(Signal.FILE, Verdict.ERROR, error))
    ordered = tuple(sorted(given, key=lambda f: _ORDER[f.signal]))
    errors = "; ".join(f.evidence for f in ordered if f.verdict is Verdict.ERROR) or None
    for verdict in _PRECEDENCE:
        hits = [f for f in ordered if f.verdict is verdict]
        if not hits:
            continue
        if verdict in (Verdict.RESERVED, Verdict.ALLOWED):
            evidence = hits[0].evidence
        else:
            evidence = "; ".join(f.evidence for f in hits)
        return Decision(verdict, str(hits[0].signal), evidence, errors, ordered)
    return Decision(Verdict.ALLOWED, None, None, None, ordered)
