"""The labelled redaction cases of ``redaction_cases.txt``, and how a redaction is scored.

A case marks the personal data in its text (``⟪p:…⟫`` phone, ``⟪e:…⟫`` e-mail, ``⟪i:…⟫``
IP). Scoring is by span: a placeholder in the output counts as a true positive only
if it replaced exactly a marked span of its kind; a placeholder over anything else is a
false positive and a marked span not replaced whole is a false negative (a phone that
swallows the date after it is both).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CASES_FILE = Path(__file__).with_name("redaction_cases.txt")
KINDS = {"p": "phone", "e": "email", "i": "ip"}
PLACEHOLDERS = {"phone": "[phone]", "email": "[email]", "ip": "[ip]"}
POSITIVE = ("phone", "email", "ip")
UNTOUCHABLE = ("date", "datetime", "year_range", "time_range", "number", "decimal", "version")
"""Negative categories of which no case may be changed at all."""

_MARK = re.compile(r"⟪([pei]):(.*?)⟫")
_PLACEHOLDER = re.compile(r"\[(phone|email|ip)\]")

Span = tuple[int, int, str]


@dataclass(frozen=True)
class Case:
    line: int
    category: str
    language: str
    text: str  # the input, marks removed
    expected: str  # the input with each marked span replaced by its placeholder
    spans: frozenset[Span]


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        category, language, marked = raw.split("\t")
        text, expected, spans, at = "", "", set(), 0
        for match in _MARK.finditer(marked):
            text += marked[at : match.start()]
            expected += marked[at : match.start()]
            kind = KINDS[match.group(1)]
            spans.add((len(text), len(text) + len(match.group(2)), kind))
            text += match.group(2)
            expected += PLACEHOLDERS[kind]
            at = match.end()
        text += marked[at:]
        expected += marked[at:]
        cases.append(Case(number, category, language, text, expected, frozenset(spans)))
    return cases


def replaced_spans(text: str, output: str) -> frozenset[Span] | None:
    """The spans of ``text`` that ``output`` replaced by placeholders (None: not aligned)."""
    pieces = _PLACEHOLDER.split(output)
    literals, kinds = pieces[0::2], pieces[1::2]
    pattern = "(.+?)".join(re.escape(literal) for literal in literals)
    match = re.fullmatch(pattern, text, re.DOTALL)
    if match is None:
        return None
    return frozenset((match.start(n), match.end(n), kind) for n, kind in enumerate(kinds, start=1))


@dataclass
class Score:
    true: Counter[str]
    false_positive: Counter[str]
    false_negative: Counter[str]
    changed: Counter[str]  # cases whose output is not the expected one, by category
    cases: Counter[str]
    failures: list[tuple[Case, str]]

    def precision(self, kind: str) -> float:
        found = self.true[kind] + self.false_positive[kind]
        return self.true[kind] / found if found else 1.0

    def recall(self, kind: str) -> float:
        wanted = self.true[kind] + self.false_negative[kind]
        return self.true[kind] / wanted if wanted else 1.0


def score(cases: list[Case], outputs: list[str]) -> Score:
    result = Score(Counter(), Counter(), Counter(), Counter(), Counter(), [])
    for case, output in zip(cases, outputs, strict=True):
        result.cases[case.category] += 1
        if output == case.expected:
            predicted = case.spans
        else:
            result.changed[case.category] += 1
            result.failures.append((case, output))
            # Text changed other than by placeholders counts as a false positive of
            # every kind the output holds, and nothing of it as found.
            predicted = replaced_spans(case.text, output) or frozenset(
                (-1, -n, kind) for n, kind in enumerate(_PLACEHOLDER.findall(output), 1)
            )
        for _, _, kind in predicted & case.spans:
            result.true[kind] += 1
        for _, _, kind in predicted - case.spans:
            result.false_positive[kind] += 1
        for _, _, kind in case.spans - predicted:
            result.false_negative[kind] += 1
    return result
