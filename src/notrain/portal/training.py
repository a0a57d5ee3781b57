"""What is used for training and what is not: the active policy, for people to read.

Built from the policy model, field by field, so the page cannot say more or less than the
builder does; the builder's own wording (``explain_policy``, in English) is shown beside it.
"""

from __future__ import annotations

from notrain.contracts import ContentKind, Visibility
from notrain.policy.explain import explain_policy
from notrain.policy.loader import LoadedPolicy
from notrain.portal.i18n import N_
from notrain.portal.models import JurisdictionOut, PolicyOut

KIND_LABELS = {
    "post": N_("posts"),
    "photo": N_("photos"),
    "video": N_("videos"),
    "caption": N_("captions"),
    "comment": N_("comments"),
    "story": N_("stories"),
    "ai_chat": N_("chats with the platform's AI assistant"),
    "private_message": N_("private messages"),
}
VISIBILITY_LABELS = {
    "public": N_("public"),
    "followers": N_("shared with followers"),
    "friends": N_("shared with friends"),
    "private": N_("private"),
}
REGIME_LABELS = {
    "objection": N_("used unless you object"),
    "consent": N_("used only with your consent"),
    "excluded": N_("never used"),
}
REQUEST_KIND_LABELS = {
    "objection": N_("Objection to AI training"),
    "objection_withdrawal": N_("Withdrawal of an objection"),
    "consent": N_("Consent to AI training"),
    "consent_withdrawal": N_("Withdrawal of consent"),
    "access": N_("Access: what of mine is in which dataset"),
    "erasure": N_("Erasure"),
}
STAGE_LABELS = {
    "awaiting_code": N_("Waiting for the code sent by e-mail"),
    "received": N_("Confirmed; being handled"),
    "answered": N_("Answered (see your e-mail)"),
}


def policy_data(loaded: LoadedPolicy) -> PolicyOut:
    policy = loaded.policy
    kinds = [k.value for k in policy.content.kinds]
    visible = [v.value for v in policy.content.visibility]
    return PolicyOut(
        name=policy.name,
        purpose=policy.purpose,
        sha256=loaded.sha256,
        kinds_used=kinds,
        kinds_not_used=[k.value for k in ContentKind if k.value not in kinds],
        visibility_used=visible,
        visibility_not_used=[v.value for v in Visibility if v.value not in visible],
        min_age=policy.authors.min_age,
        unknown_age_excluded=policy.authors.unknown_age == "exclude",
        objections_retroactive=policy.objections.retroactive,
        tagged_excluded=policy.third_parties.tagged == "exclude",
        mentions=policy.third_parties.mentioned,
        identifiers_redacted=policy.third_parties.identifiers == "redact",
        signals_honoured=policy.signals.honour,
        redact_emails=policy.redaction.emails,
        redact_phones=policy.redaction.phones,
        jurisdictions=[
            JurisdictionOut(
                name=j.name,
                regime=j.regime.value,
                countries=list(j.countries),
                active_from=j.active_from,
                content_since=j.content_since,
            )
            for j in policy.jurisdictions
        ],
        rules=explain_policy(loaded),
    )
