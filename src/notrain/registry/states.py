"""Request kinds and the request lifecycle, as an explicit state machine.

::

    submitted ──► verified ──► accepted ──► applied
                     │  ╲
                     │   ╲──► rejected
                     ▼          ▲
                needs_review ───┘ (or ──► accepted)

A request is *submitted* by a person, *verified* when the e-mail code is right, then
*accepted* at once (a verified member's objection or withdrawal of one, or withdrawal of
consent) or put to a person (*needs_review*), who accepts or *rejects* it with a reason. An
accepted decision is *applied* when it is in effect: written into a registry snapshot, or
(access) answered. Every transition goes through :func:`transition`, which records it in
the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from notrain.errors import RequestStateError
from notrain.registry import audit
from notrain.registry.models import Request


class RequestKind(StrEnum):
    OBJECTION = "objection"  # GDPR Art. 21, to AI training
    CONSENT = "consent"  # Art. 7, for opt-in jurisdictions
    CONSENT_WITHDRAWAL = "consent_withdrawal"  # Art. 7(3)
    OBJECTION_WITHDRAWAL = "objection_withdrawal"  # the person allows use again
    ACCESS = "access"  # Art. 15: what of mine went into which dataset
    ERASURE = "erasure"  # Art. 17


class RequestState(StrEnum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    NEEDS_REVIEW = "needs_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    APPLIED = "applied"


S = RequestState
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    S.SUBMITTED: frozenset({S.VERIFIED}),
    S.VERIFIED: frozenset({S.ACCEPTED, S.REJECTED, S.NEEDS_REVIEW}),
    S.NEEDS_REVIEW: frozenset({S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.APPLIED}),
    S.REJECTED: frozenset(),
    S.APPLIED: frozenset(),
}

# States in which the controller owes the requester an answer (the deadline runs).
OPEN_STATES = (S.VERIFIED, S.NEEDS_REVIEW, S.ACCEPTED)
# States waiting for the requester (the code) or for nobody.
DECIDED_STATES = (S.ACCEPTED, S.REJECTED, S.APPLIED)
# Kinds whose accepted decisions go into the registry snapshot.
SNAPSHOT_KINDS = (
    RequestKind.OBJECTION,
    RequestKind.ERASURE,
    RequestKind.CONSENT,
    RequestKind.CONSENT_WITHDRAWAL,
    RequestKind.OBJECTION_WITHDRAWAL,
)
# Verified members' requests of these kinds are accepted without review. An objection and
# a withdrawal of consent only ever narrow what may be used. A withdrawal of an objection
# widens it, but only for the accounts of the address the person has just proved is theirs
# (a handle of another address, or identifiers, still go to review): the person's own
# choice about their own content, which an officer could not refuse.
AUTO_ACCEPTED_KINDS = (
    RequestKind.OBJECTION,
    RequestKind.CONSENT_WITHDRAWAL,
    RequestKind.OBJECTION_WITHDRAWAL,
)


def can_transition(current: RequestState | str, to: RequestState) -> bool:
    return to in TRANSITIONS[RequestState(current)]


def transition(
    session: Session,
    request: Request,
    to: RequestState,
    *,
    at: datetime,
    actor: str,
    reason: str | None = None,
    **detail: Any,
) -> None:
    """Move ``request`` to ``to`` and audit it, in the caller's transaction."""
    current = RequestState(request.state)
    if not can_transition(current, to):
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (it is final)"
        raise RequestStateError(
            f"request {request.id} is {current}; it cannot become {to} (it can become {allowed})"
        )
    request.state = to.value
    if to is S.VERIFIED:
        request.verified_at = at
    elif to in (S.ACCEPTED, S.REJECTED):
        request.decided_at = at
        request.decision_reason = reason
    elif to is S.APPLIED:
        request.applied_at = at
    audit.record(
        session,
        at=at,
        actor=actor,
        action="transition",
        request_id=request.id,
        from_state=current.value,
        to_state=to.value,
        reason=reason,
        **detail,
    )
