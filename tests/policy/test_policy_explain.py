"""The plain-English policy follows REASON_ORDER and says what the policy actually says."""

from __future__ import annotations

import re

from notrain.policy import (
    REASON_ORDER,
    LoadedPolicy,
    default_policy_text,
    explain_policy,
    load_default_policy,
    load_policy_text,
)

NUMBERED = re.compile(r"^(\d+)\. ([a-z_]+) — (.+)$")


def variant(old: str, new: str) -> LoadedPolicy:
    text = default_policy_text()
    assert text.count(old) == 1, old
    return load_policy_text(text.replace(old, new), "variant.toml")


def rule(lines: list[str], code: str) -> str:
    """The numbered line of ``code`` and the indented lines under it, as one string."""
    start = next(i for i, line in enumerate(lines) if re.match(rf"^\d+\. {code} — ", line))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("   "):
            break
        block.append(line)
    return "\n".join(block)


def test_reasons_are_numbered_in_reason_order() -> None:
    lines = explain_policy(load_default_policy())
    numbered = [match.groups() for line in lines if (match := NUMBERED.match(line))]
    assert [code for _, code, _ in numbered] == [reason.value for reason in REASON_ORDER]
    assert [int(number) for number, _, _ in numbered] == list(range(1, len(REASON_ORDER) + 1))


def test_header_names_policy_source_and_hash() -> None:
    loaded = load_default_policy()
    lines = explain_policy(loaded)
    assert "notrain-default" in lines[0]
    assert "<default>" in lines[0]
    assert loaded.sha256 in lines[0]
    assert lines[1] == f"Purpose: {loaded.policy.purpose}"


def test_default_rules_in_words() -> None:
    lines = explain_policy(load_default_policy())
    assert rule(lines, "kind_not_allowed").startswith(
        "1. kind_not_allowed — only these kinds are used: post, photo, video, caption and "
        "comment; story, ai_chat and private_message are left out."
    )
    assert "followers, friends and private" in rule(lines, "not_public")
    jurisdictions = rule(lines, "jurisdiction_excluded")
    assert "EU, EEA, UK and Switzerland: objection, from 2025-05-27" in jurisdictions
    assert "GB and CH" in jurisdictions
    assert "Brazil: objection, from 2024-08-30 (BR)" in jurisdictions
    assert "Rest of the world: objection, from 2023-09-27" in jurisdictions
    assert "every country not named elsewhere" in jurisdictions
    assert "not listed here" not in jurisdictions
    assert "not in the accounts table" in rule(lines, "author_unknown")
    assert "asked for erasure (GDPR Art. 17)" in rule(lines, "author_erased")
    assert "younger than 18" in rule(lines, "author_minor")
    assert "birth date is unknown are left out" in rule(lines, "author_minor")
    objected = rule(lines, "author_objected")
    assert "retroactive" in objected
    assert "before objecting" in objected
    assert "never has to be repeated" in objected
    assert "leaves nothing out" in rule(lines, "no_consent")
    third = rule(lines, "third_party_objected")
    assert "tags someone who objected" in third
    assert "@[redacted]" in third
    assert "[redacted]" in third
    assert "machine-readable reservation" in rule(lines, "signal_reserved")


def test_redactions_are_listed_after_the_rules() -> None:
    lines = explain_policy(load_default_policy())
    start = lines.index("In kept text:")
    assert lines[start + 1 :] == [
        "- e-mail addresses → [email]",
        "- phone numbers → [phone]",
        "- IP addresses → [ip]",
        "- @handles of people who objected or were erased → @[redacted]",
        "- identifiers of non-members from the registry → [redacted]",
    ]


def test_explanation_follows_the_policy() -> None:
    lines = explain_policy(variant("\nretroactive = true", "\nretroactive = false"))
    assert "not retroactive" in rule(lines, "author_objected")
    assert "before objecting may still be used" in rule(lines, "author_objected")

    lines = explain_policy(variant('tagged = "exclude"', 'tagged = "keep"'))
    assert "tagged = keep" in rule(lines, "third_party_objected")

    lines = explain_policy(variant('mentioned = "redact"', 'mentioned = "exclude"'))
    assert "@mentions such a person is left out" in rule(lines, "third_party_objected")
    assert not any("@[redacted]" in line for line in lines)

    lines = explain_policy(variant('unknown_age = "exclude"', 'unknown_age = "include"'))
    assert "are kept" in rule(lines, "author_minor")

    lines = explain_policy(variant('kinds = ["post", ', 'kinds = ["story", "post", '))
    assert "used: story, post," in rule(lines, "kind_not_allowed")


def test_consent_wildcard_and_content_since() -> None:
    text = default_policy_text()
    text = text.replace('countries = ["BR"]\nregime = "objection"', 'countries = ["BR"]\n'
                        'regime = "consent"\ncontent_since = 2024-09-01')  # fmt: skip
    text = text.replace('countries = ["*"]', 'countries = ["US"]')
    lines = explain_policy(load_policy_text(text, "variant.toml"))
    jurisdictions = rule(lines, "jurisdiction_excluded")
    assert "Brazil: consent, from 2024-08-30, content created since 2024-09-01 only" in (
        jurisdictions
    )
    assert "not listed here are left out" in jurisdictions
    assert "content since" in jurisdictions
    assert "in Brazil (regime consent)" in rule(lines, "no_consent")


def test_no_redaction_at_all() -> None:
    text = default_policy_text()
    for old, new in [("emails = true", "emails = false"), ("phones = true", "phones = false"),
                     ("ips = true", "ips = false"),
                     ('mentioned = "redact"', 'mentioned = "exclude"'),
                     ('identifiers = "redact"', 'identifiers = "keep"')]:  # fmt: skip
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    lines = explain_policy(load_policy_text(text, "bare.toml"))
    assert lines[-1] == "Kept text is not redacted."
