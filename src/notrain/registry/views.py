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


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission or a resend: the same whoever the address belongs to."""

    request_id: str
    message: str = RECEIPT_MESSAGE


@dataclass(frozen=True)
class Outcome:
    """The answer to a verified code, for the person who proved the address is theirs."""

    request_id: str
    state: str
    due_at: datetime
    message: str


@dataclass(frozen=True)
class PublicStatus:
    """What anyone holding the request id may see: the stage, never the decision's basis."""

    request_id: str
    stage: str  # awaiting_code, received, answered
    due_at: datetime | None


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

    @classmethod
    def of(cls, request: Request, events: list[AuditEvent] | None = None) -> RequestView:
        return cls(
            id=request.id,
            kind=request.kind,
            state=request.state,
            email=request.email,
            handle=request.handle,
            country=request.country,
            note=request.note,
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
