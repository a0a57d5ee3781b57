"""Redaction measured on the labelled cases of ``redaction_cases.txt``, and its switches.

The cases were written from the formats people use (phones of fifteen countries,
e-mail addresses of several scripts, IPs) and from the numbers that look like them
(dates, amounts, versions, ISBNs, codes, coordinates); each names its category.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from notrain.corpus.redaction import GUARD_CLOSE, GUARD_OPEN, redact_texts
from notrain.policy.loader import default_policy_text, load_default_policy, load_policy_text
from notrain.policy.model import Policy
from tests.corpus import world
from tests.corpus.redaction_cases import (
    POSITIVE,
    UNTOUCHABLE,
    Case,
    load_cases,
    replaced_spans,
    score,
)

CASES = load_cases()


def _policy(**switches: bool) -> Policy:
    text = default_policy_text()
    for name, on in switches.items():
        text = text.replace(f"{name} = true", f"{name} = {'true' if on else 'false'}")
    return load_policy_text(text, "<test>").policy


def test_the_corpus_is_large_varied_and_mostly_negative() -> None:
    categories = Counter(case.category for case in CASES)
    negatives = sum(n for category, n in categories.items() if category not in POSITIVE)
    assert len(CASES) >= 400
    assert negatives * 2 >= len(CASES)
    assert len({case.language for case in CASES}) >= 10
    assert set(UNTOUCHABLE) <= set(categories)
    # Every positive case marks data of its own kind; no negative is only plain text.
    for case in CASES:
        if case.category in POSITIVE:
            assert any(kind == case.category for _, _, kind in case.spans), case.line


def test_precision_and_recall_of_phones_emails_and_ips() -> None:
    outputs = redact_texts([case.text for case in CASES], load_default_policy().policy)
    result = score(CASES, outputs)
    report = {kind: (result.precision(kind), result.recall(kind)) for kind in POSITIVE}
    for kind in POSITIVE:
        assert result.precision(kind) >= 0.95, report
        assert result.recall(kind) >= 0.95, report


def test_no_date_number_or_version_is_touched() -> None:
    untouchable = [case for case in CASES if case.category in UNTOUCHABLE]
    outputs = redact_texts([case.text for case in untouchable], load_default_policy().policy)
    touched = [
        (case.text, output)
        for case, output in zip(untouchable, outputs, strict=True)
        if output != case.expected
    ]
    assert touched == []


def test_ips_never_become_phones_even_when_not_redacted() -> None:
    ips = [case for case in CASES if case.category == "ip"]
    outputs = redact_texts([case.text for case in ips], _policy(ips=False))
    assert all("[phone]" not in output and "[ip]" not in output for output in outputs)
    assert outputs == [case.text for case in ips]


@pytest.mark.parametrize("switch", ["emails", "phones", "ips"])
def test_each_category_can_be_switched_off(switch: str) -> None:
    placeholder = {"emails": "[email]", "phones": "[phone]", "ips": "[ip]"}[switch]
    cases = [case for case in CASES if case.spans]
    on = redact_texts([case.text for case in cases], load_default_policy().policy)
    off = redact_texts([case.text for case in cases], _policy(**{switch: False}))
    assert sum(output.count(placeholder) for output in on) > 10
    assert not any(placeholder in output for output in off)
    # The other categories are redacted as before (in cases of their own: an address
    # "user@[192.0.2.1]" left alone keeps an IP that is then redacted).
    kind = switch.removesuffix("s")
    for case, before, after in zip(cases, on, off, strict=True):
        if case.category != kind:
            for other in {"[email]", "[phone]", "[ip]"} - {placeholder}:
                assert after.count(other) == before.count(other), case.line


def test_nothing_is_redacted_when_every_switch_is_off() -> None:
    texts = [case.text for case in CASES]
    assert redact_texts(texts, _policy(emails=False, phones=False, ips=False)) == texts


def test_markers_in_the_input_do_not_survive() -> None:
    """The guard markers are noncharacters; any found in a text are taken out."""
    text = f"a{GUARD_OPEN}b{GUARD_CLOSE}c 2024-06-26 call 06 12 34 56 78"
    assert redact_texts([text], load_default_policy().policy) == ["abc 2024-06-26 call [phone]"]


def _full_width(text: str) -> str:
    """Digits and hyphens as Japanese text often writes them (U+FF10..U+FF19, U+FF0D)."""
    return text.translate({ord("-"): 0xFF0D, **{ord(d): 0xFF10 + int(d) for d in "0123456789"}})


def test_phones_in_a_row_and_next_to_other_numbers() -> None:
    texts = [
        "0612345678,0698765432/0145678901",
        "26.06.2024 06 12 34 56 78 75001",
        "(415) 555-0132 (415) 555-0133 (415) 555-0134",
        _full_width("2024-06-26 03-1234-5678"),
    ]
    assert redact_texts(texts, load_default_policy().policy) == [
        "[phone],[phone]/[phone]",
        "26.06.2024 [phone] 75001",
        "[phone] [phone] [phone]",
        _full_width("2024-06-26") + " [phone]",
    ]


def test_scoring_counts_a_swallowed_date_as_both_errors() -> None:
    case = Case(0, "phone", "en", "call 0612345678 2024", "call [phone] 2024",
                frozenset({(5, 15, "phone")}))  # fmt: skip
    assert replaced_spans(case.text, "call [phone]") == frozenset({(5, 20, "phone")})
    result = score([case], ["call [phone]"])
    assert (result.true["phone"], result.false_positive["phone"]) == (0, 1)
    assert result.false_negative["phone"] == 1


def test_the_manifest_records_the_categories_applied(tmp_path: Path) -> None:
    w = world.World()
    cid = w.item(w.account(1), text="ip 192.0.2.1, mail a@example.org, tel 06 12 34 56 78")
    built = w.build(tmp_path / "all")
    assert built.manifest["redaction"]["applied"] == ["email", "phone", "ip"]
    assert built.text(cid) == "ip [ip], mail [email], tel [phone]"
    text = default_policy_text().replace("ips = true", "ips = false")
    partial = w.build(tmp_path / "partial", policy=load_policy_text(text, "<test>"))
    assert partial.manifest["redaction"]["applied"] == ["email", "phone"]
    assert partial.text(cid) == "ip 192.0.2.1, mail [email], tel [phone]"


def test_patterns_use_only_syntax_both_engines_share() -> None:
    """No look-around (RE2 has none), no ``\\s``/``\\d``/``\\w`` (RE2 and Java differ)."""
    from notrain.corpus import redaction

    patterns = [redaction.EMAIL, redaction.PHONE, redaction.IP, redaction.PHONE_GATE,
                redaction.IP_GATE]  # fmt: skip
    for pattern in patterns:
        for construct in ("(?=", "(?!", "(?<", "\\s", "\\d", "\\w", "\\b"):
            assert construct not in pattern, construct
