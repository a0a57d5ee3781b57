"""A policy in plain English: the rules a build applies, in the order it applies them.

The numbered rules follow :data:`REASON_ORDER` exactly and name each reason code, so the
explanation can be read side by side with a manifest's counts of excluded rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from notrain.contracts import ContentKind, Visibility
from notrain.policy.loader import LoadedPolicy
from notrain.policy.model import (
    REASON_ORDER,
    WILDCARD,
    ExclusionReason,
    Jurisdiction,
    Policy,
    Regime,
)

_INDENT = "   "


def explain_policy(loaded: LoadedPolicy) -> list[str]:
    """The policy's rules as lines of text, one or more per exclusion reason."""
    policy = loaded.policy
    lines = [
        f"Policy {policy.name!r} ({loaded.source}, sha256 {loaded.sha256})",
        f"Purpose: {policy.purpose}",
        "",
        "A row is left out for the first of these reasons that applies, in this order:",
    ]
    for number, reason in enumerate(REASON_ORDER, start=1):
        first, *rest = _RULES[reason](policy)
        lines.append(f"{number}. {reason.value} — {first}")
        lines.extend(_INDENT + line for line in rest)
    lines.append("")
    lines.extend(_redactions(policy))
    return lines


def _kinds(policy: Policy) -> list[str]:
    kept = [kind.value for kind in policy.content.kinds]
    left_out = [kind.value for kind in ContentKind if kind not in policy.content.kinds]
    lines = [f"only these kinds are used: {_join(kept)}; {_join(left_out)} are left out."]
    lines.append("private_message is never used, whatever a policy says.")
    return lines


def _visibility(policy: Policy) -> list[str]:
    kept = [value.value for value in policy.content.visibility]
    left_out = [value.value for value in Visibility if value not in policy.content.visibility]
    line = f"only content whose visibility is {_join(kept, 'or')} is used"
    if left_out:
        line += f"; {_join(left_out)} content is left out"
    return [line + "."]


def _unknown_author(_: Policy) -> list[str]:
    return [
        "content whose author is not in the accounts table is left out: nothing is known "
        "of their age, country or wishes."
    ]


def _jurisdictions(policy: Policy) -> list[str]:
    lines = ["the author's country of residence decides the rules:"]
    lines.extend(f"- {_jurisdiction(jurisdiction)}" for jurisdiction in policy.jurisdictions)
    has_wildcard = any(WILDCARD in j.countries for j in policy.jurisdictions)
    if not has_wildcard:
        lines.append("Authors living in a country not listed here are left out.")
    if any(j.regime is Regime.EXCLUDED for j in policy.jurisdictions):
        lines.append("Content of authors in an 'excluded' jurisdiction is always left out.")
    lines.append("A build dated before a jurisdiction's start date leaves out all its content.")
    if any(j.content_since is not None for j in policy.jurisdictions):
        lines.append("Content created before a jurisdiction's 'content since' date is left out.")
    return lines


def _jurisdiction(jurisdiction: Jurisdiction) -> str:
    named = [code for code in jurisdiction.countries if code != WILDCARD]
    if WILDCARD in jurisdiction.countries:
        where = "every country not named elsewhere"
        if named:
            where = f"{_join(named)} and {where}"
    else:
        where = _join(named)
    line = f"{jurisdiction.name}: {jurisdiction.regime.value}, from {jurisdiction.active_from}"
    if jurisdiction.content_since is not None:
        line += f", content created since {jurisdiction.content_since} only"
    return f"{line} ({where})"


def _minor(policy: Policy) -> list[str]:
    if policy.authors.min_age > 0:
        first = (
            f"content is left out when its author was younger than {policy.authors.min_age}"
            " when it was created, even if they are older now."
        )
    else:
        first = "no minimum age is set."
    if policy.authors.unknown_age == "exclude":
        second = "Authors whose birth date is unknown are left out as well."
    else:
        second = "Authors whose birth date is unknown are kept (unknown_age = include)."
    return [first, second]


def _erased(_: Policy) -> list[str]:
    return [
        "all content of an author who asked for erasure (GDPR Art. 17) is left out,"
        " whenever it was created."
    ]


def _objected(policy: Policy) -> list[str]:
    if policy.objections.retroactive:
        return [
            "all content of an author who objected is left out, including what they created"
            " before objecting.",
            "Objections are retroactive: one objection covers everything the person ever"
            " posted and holds for every later build; it never has to be repeated.",
        ]
    return [
        "content an author created after their objection took effect is left out.",
        "Objections are not retroactive: what they created before objecting may still be used.",
    ]


def _consent(policy: Policy) -> list[str]:
    consent = [j.name for j in policy.jurisdictions if j.regime is Regime.CONSENT]
    if not consent:
        return ["no jurisdiction asks for consent, so this rule leaves nothing out."]
    return [
        f"in {_join(consent)} (regime consent) content is used only if its author consented;"
        " the rest is left out."
    ]


def _third_parties(policy: Policy) -> list[str]:
    rules = policy.third_parties
    if rules.tagged == "exclude":
        tagged = "a photo or video that tags someone who objected or asked for erasure is left out."
    else:
        tagged = "tags of people who objected do not leave content out (tagged = keep)."
    if rules.mentioned == "exclude":
        mentioned = "Content whose text @mentions such a person is left out."
    else:
        mentioned = "An @mention of such a person is replaced by @[redacted]; the content is kept."
    if rules.identifiers == "redact":
        identifiers = (
            "Identifiers of non-members who objected (e-mail, handle, name) are replaced by"
            " [redacted] in kept text."
        )
    else:
        identifiers = "Identifiers of non-members are left in kept text (identifiers = keep)."
    return [tagged, mentioned, identifiers]


def _signals(policy: Policy) -> list[str]:
    if not policy.signals.honour:
        return ["embedded opt-out signals are not honoured by this policy (honour = false)."]
    unknown = (
        "Items for which a source that could reserve them was not captured are left out as well."
        if policy.signals.unknown == "exclude"
        else "Items for which a source that could reserve them was not captured are kept."
    )
    return [
        "an item whose media or page carries a machine-readable reservation against AI "
        "training (read by `notrain signals`, given to the build with --signals) is left out.",
        unknown,
    ]


def _unreadable(policy: Policy) -> list[str]:
    if not policy.signals.honour:
        return ["unreadable signals are not looked at by this policy (honour = false)."]
    if policy.signals.unreadable == "allow":
        return ["items whose signals could not be read are kept (unreadable = allow)."]
    return [
        "an item whose signals could not be read (a corrupt file or manifest, a format the "
        "reader refuses, a file that took too long) is left out: a reservation that could "
        "not be read cannot be honoured."
    ]


_RULES: dict[ExclusionReason, Callable[[Policy], list[str]]] = {
    ExclusionReason.KIND_NOT_ALLOWED: _kinds,
    ExclusionReason.NOT_PUBLIC: _visibility,
    ExclusionReason.AUTHOR_UNKNOWN: _unknown_author,
    ExclusionReason.JURISDICTION_EXCLUDED: _jurisdictions,
    ExclusionReason.AUTHOR_MINOR: _minor,
    ExclusionReason.AUTHOR_ERASED: _erased,
    ExclusionReason.AUTHOR_OBJECTED: _objected,
    ExclusionReason.NO_CONSENT: _consent,
    ExclusionReason.THIRD_PARTY_OBJECTED: _third_parties,
    ExclusionReason.SIGNAL_RESERVED: _signals,
    ExclusionReason.SIGNAL_UNREADABLE: _unreadable,
}


def _redactions(policy: Policy) -> list[str]:
    replacements = []
    if policy.redaction.emails:
        replacements.append("e-mail addresses → [email]")
    if policy.redaction.phones:
        replacements.append("phone numbers → [phone]")
    if policy.redaction.ips:
        replacements.append("IP addresses → [ip]")
    if policy.third_parties.mentioned == "redact":
        replacements.append("@handles of people who objected or were erased → @[redacted]")
    if policy.third_parties.identifiers == "redact":
        replacements.append("identifiers of non-members from the registry → [redacted]")
    if not replacements:
        return ["Kept text is not redacted."]
    return ["In kept text:", *(f"- {replacement}" for replacement in replacements)]


def _join(items: Sequence[str], last: str = "and") -> str:
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {last} {items[-1]}"
