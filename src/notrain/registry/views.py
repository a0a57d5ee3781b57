"""What the registry answers with: plain frozen dataclasses, the same for CLI and portal.

Requesters see :class:`Receipt`, :class:`Outcome` and :class:`PublicStatus`, which say
nothing about accounts until the address is verified; officers see :class:`RequestView`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from notrain.registry import audit
from notrain.registry.models import AuditEvent, Request
from notrain.registry.states import RequestState

RECEIPT_MESSAGE = (
    "Thank you. If the address can receive mail, a six-digit code is on its way to it; "
    "enter it to confirm the request."
)


# Why a verified request waits for a person, by code (recorded in the audit trail with the
# transition to needs_review, the text as its reason).
REVIEW_REASONS = {
    "no_account": "no account has this address",
    "handle_elsewhere": "the handle is not an account with this address",
    "identifiers": "identifiers beyond the address",
    "needs_person": "{kind} requests are decided by a person",
}
# Kinds whose acceptance hands over or removes someone's data: accepting one that names
# more than the proved address needs the officer to say the identity was checked.
IDENTITY_KINDS = ("access", "erasure")


def beyond_address(request: Request) -> bool:
    """Whether the request reaches beyond the address its requester proved: identifiers
    other than that address, or an account matched by a handle alone."""
    return any(i.kind != "email" or i.value != request.email for i in request.identifiers) or any(
        s.matched_by != "email" for s in request.subjects
    )


def review_reasons_of(events: list[AuditEvent]) -> list[str]:
    """The codes of why the request was put to review, from its transition event (requests
    routed before the codes were recorded: read back from the reason's words)."""
    for event in events:
        detail = audit.detail_of(event)
        if event.action != "transition" or detail.get("to_state") != "needs_review":
            continue
        codes = detail.get("review")
        if isinstance(codes, list):
            return [str(c) for c in codes]
        found = []
        for part in str(detail.get("reason") or "").split("; "):
            for code, text in REVIEW_REASONS.items():
                if part == text or (code == "needs_person" and part.endswith(text[6:])):
                    found.append(code)
        return found
    return []


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission or a resend: the same whoever the address belongs to."""

    request_id: str
    message: str = RECEIPT_MESSAGE


@dataclass(frozen=True)
class Outcome:
    """The answer to a verified code, for the person who proved the address is theirs."""

    request_id: str  # the request the code opened: a duplicate's is the pending one's
    state: str
    due_at: datetime
    message: str
    status_token: str  # opens the request's status and answer; given only here


@dataclass(frozen=True)
class PublicStatus:
    """What the holder of the request's status token sees: the stage, never the decision's
    basis."""

    request_id: str
    stage: str  # awaiting_code, received, answered
    due_at: datetime | None
    language: str = "en"  # of the request's mails


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEntry:
        return cls(event.seq, event.at, event.actor, event.action, audit.detail_of(event))


@dataclass(frozen=True)
class RequestView:
    """A request as the privacy officer sees it."""

    id: str
    kind: str
    state: str
    email: str
    handle: str | None
    country: str
    note: str | None
    source: str
    language: str
    member: bool | None
    received_at: datetime
    due_at: datetime
    extended_months: int
    extension_reason: str | None
    verified_at: datetime | None
    decided_at: datetime | None
    decision_reason: str | None
    applied_at: datetime | None
    identifiers: list[tuple[str, str]]
    subjects: list[tuple[int, str]]
    events: list[AuditEntry] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)  # REVIEW_REASONS codes
    beyond_address: bool = False
    identity_check: bool = False  # accepting it needs the officer to confirm the identity

    @classmethod
    def of(
        cls,
        request: Request,
        events: list[AuditEvent] | None = None,
        review: list[str] | None = None,
    ) -> RequestView:
        beyond = beyond_address(request)
        return cls(
            id=request.id,
            kind=request.kind,
            state=request.state,
            email=request.email,
            handle=request.handle,
            country=request.country,
            note=request.note,
            language=request.language,
            source=request.source,
            member=request.member,
            received_at=request.received_at,
            due_at=request.due_at,
            extended_months=request.extended_months,
            extension_reason=request.extension_reason,
            verified_at=request.verified_at,
            decided_at=request.decided_at,
            decision_reason=request.decision_reason,
            applied_at=request.applied_at,
            identifiers=[(i.kind, i.value) for i in request.identifiers],
            subjects=[(s.subject_id, s.matched_by) for s in request.subjects],
            events=[AuditEntry.of(e) for e in events or []],
            review_reasons=review if review is not None else review_reasons_of(events or []),
            beyond_address=beyond,
            identity_check=beyond and request.kind in IDENTITY_KINDS,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings."""
        data: dict[str, Any] = _jsonable(asdict(self))
        return data


def stage_of(state: str) -> str:
    match RequestState(state):
        case RequestState.SUBMITTED:
            return "awaiting_code"
        case RequestState.VERIFIED | RequestState.NEEDS_REVIEW:
            return "received"
        case _:
            return "answered"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class QueueRow:
    """A request as the console's queue lists it: never its address or names."""

    id: str
    kind: str
    state: str
    country: str
    member: bool | None
    received_at: datetime
    due_at: datetime
    extended_months: int
    overdue: bool
    due_soon: bool


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, and the cursors of the pages beside it (None: no more)."""

    rows: list[QueueRow]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True)
class BulkProgress:
    """Where a bulk decision stands."""

    job_id: str
    action: str
    total: int
    done: int
    skipped: int
    finished: bool
