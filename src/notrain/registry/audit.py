"""The audit trail: append-only events, each chained to the one before by its hash.

An event's hash is the sha256 of its position (``seq``), time, actor, action, request,
detail and the previous event's hash, so changing, removing or reordering any event breaks
the chain at that point. The last event is also kept in ``audit_head``: appends lock that
row, which keeps the chain a line when several processes write, and ``verify`` compares
the chain's end against it, which catches events cut from the end. The database refuses
UPDATE and DELETE on the events table (a trigger), so tampering takes a deliberate act.

Anyone able to rewrite the whole table and the head could recompute every hash; to guard
against that, keep a head hash elsewhere (``notrain audit verify`` and every
``notrain registry export`` print it) and pass it back with ``--expect-head``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import AuditChainBroken
from notrain.registry.models import AuditEvent, AuditHead

GENESIS = "0" * 64
_REORDER_WINDOW = 64  # how far away to look for the place a moved event came from
_MAX_PROBLEMS = 50


def _canonical(detail: dict[str, Any]) -> str:
    return json.dumps(
        detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def event_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    request_id: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    moment = at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = json.dumps(
        [seq, moment, actor, action, request_id, detail, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _hash_of(event: AuditEvent, seq: int | None = None) -> str:
    return event_hash(
        event.seq if seq is None else seq,
        event.at,
        event.actor,
        event.action,
        event.request_id,
        event.detail,
        event.prev_hash,
    )


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    request_id: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with it)."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    # Times are kept to the microsecond, as both databases store them.
    at = at.astimezone(UTC)
    text = _canonical(detail)
    seq = head.seq + 1
    digest = event_hash(seq, at, actor, action, request_id, text, head.hash)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        request_id=request_id,
        detail=text,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    head.seq = seq
    head.hash = digest
    session.flush()
    return event


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    kind: str  # changed, removed, reordered, broken_link, truncated
    message: str


@dataclass
class AuditReport:
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def raise_if_broken(self) -> None:
        if self.problems:
            first = self.problems[0]
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise AuditChainBroken(f"audit trail: {first.message}{more}", seq=first.seq)


def _events(session: Session) -> Iterator[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    yield from session.scalars(stmt)


def _moved_from(event: AuditEvent) -> int | None:
    """The position an event was recorded at, if its content matches a nearby one."""
    for seq in range(max(1, event.seq - _REORDER_WINDOW), event.seq + _REORDER_WINDOW + 1):
        if seq != event.seq and _hash_of(event, seq) == event.hash:
            return seq
    return None


def verify(session: Session) -> AuditReport:
    """Walk the whole chain and say where it breaks; an empty problem list means intact."""
    report = AuditReport()
    expected_seq = 1
    prev_hash = GENESIS

    def problem(seq: int, kind: str, message: str) -> None:
        if len(report.problems) < _MAX_PROBLEMS:
            report.problems.append(AuditProblem(seq, kind, message))

    moved: dict[int, str] = {}  # hashes of events found away from where they were recorded
    for event in _events(session):
        report.events += 1
        gap = event.seq != expected_seq
        if event.seq > expected_seq:
            missing = (
                f"event {expected_seq}"
                if event.seq == expected_seq + 1
                else f"events {expected_seq}-{event.seq - 1}"
            )
            problem(expected_seq, "removed", f"{missing} removed (the chain jumps to {event.seq})")
        if _hash_of(event) != event.hash:
            origin = _moved_from(event)
            if origin is not None:
                moved[origin] = event.hash
                problem(
                    event.seq,
                    "reordered",
                    f"event {event.seq} was recorded as event {origin}: events were reordered",
                )
            else:
                problem(
                    event.seq,
                    "changed",
                    f"event {event.seq} ({event.action} at {event.at.isoformat()}) was changed: "
                    "its content no longer matches its hash",
                )
        elif event.prev_hash != moved.get(event.seq - 1, prev_hash) and not gap:
            problem(
                event.seq,
                "broken_link",
                f"event {event.seq} does not follow event {event.seq - 1}: an event before it "
                "was changed, removed or reordered and its hash recomputed",
            )
        prev_hash = event.hash
        expected_seq = event.seq + 1
        report.head_seq = event.seq
        report.head_hash = event.hash

    head = session.get(AuditHead, 1)
    if head is not None and (head.seq, head.hash) != (report.head_seq, report.head_hash):
        if head.seq > report.head_seq:
            problem(
                report.head_seq + 1,
                "truncated",
                f"the trail ends at event {report.head_seq} but {head.seq} events were "
                f"recorded: events {report.head_seq + 1}-{head.seq} were removed",
            )
        else:
            problem(
                report.head_seq,
                "changed",
                f"the last event ({report.head_seq}) does not match the recorded head "
                f"(event {head.seq}, hash {head.hash[:12]}…)",
            )
    return report


def known_hashes(session: Session, hashes: set[str]) -> set[str]:
    """Those of ``hashes`` that are hashes of events in the trail."""
    found = session.scalars(select(AuditEvent.hash).where(AuditEvent.hash.in_(sorted(hashes))))
    return set(found)


def events_for(session: Session, request_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.seq)
        )
    )


def detail_of(event: AuditEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event.detail)
    return loaded
