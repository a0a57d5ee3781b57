"""The audit trail: append-only events, each chained to the one before by its hash.

An event's hash is the sha256 of its position (``seq``), time, actor, action, request,
detail and the previous event's hash, so changing, removing or reordering any event breaks
the chain at that point. The last event is also kept in ``audit_head``: appends lock that
row, which keeps the chain a line when several processes write, and ``verify`` compares
the chain's end against it, which catches events cut from the end. The database refuses
UPDATE and DELETE on the events table (a trigger), so tampering takes a deliberate act.

A step's events join the chain when its transaction commits, all at once and in the order
they were recorded: :func:`record` keeps them with the transaction (a rollback, or a
rolled-back savepoint, drops them) and :func:`seal` hands them over just before the commit.
On PostgreSQL they are staged in ``audit_staging`` and a deferred trigger (migration 0004)
chains them inside the COMMIT: it locks the head, numbers and hashes them exactly as
:func:`event_hash` does, inserts them and moves the head once, so the head is held for no
round trip to the client and many steps can commit in parallel and still leave one strict
line. On SQLite, where a step holds the database's write lock from its first statement,
:func:`seal` chains them in Python.

A process may defer the chaining (migration 0010: the portal sets ``notrain.audit_defer``
on its PostgreSQL sessions and runs a sealer, so commits do not wait for the head); staged
events are then chained by :func:`catch_up`, which the sealer calls in batches and every
reader of the trail below calls first, so readers always see every committed event.
The transparency log (``notrain.proofs``) builds a Merkle tree over the chained events.

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

from sqlalchemy import event as orm_event
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session, SessionTransaction

from notrain.errors import AuditChainBroken
from notrain.registry.models import AuditEvent, AuditHead, AuditStaging

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


_PENDING = "notrain.audit.pending"  # session.info key: {transaction: [events]}


@dataclass(frozen=True)
class PendingEvent:
    """An event recorded in a transaction that has not committed yet."""

    at: datetime
    actor: str
    action: str
    request_id: str | None
    detail: str

    def row(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "request_id": self.request_id,
            "detail": self.detail,
        }


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    request_id: str | None = None,
    **detail: Any,
) -> None:
    """Add one event to the caller's transaction; it joins the chain when that commits."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        transaction = session.begin()
    # Times are kept to the microsecond, as both databases store them.
    event = PendingEvent(at.astimezone(UTC), actor, action, request_id, _canonical(detail))
    pending: dict[SessionTransaction, list[PendingEvent]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(transaction, []).append(event)


def seal(session: Session, events: list[PendingEvent]) -> None:
    """Append ``events`` to the chain in the caller's transaction, as it is about to commit."""
    if session.get_bind().dialect.name == "postgresql":
        # Chained by the deferred trigger of migration 0004, inside the COMMIT.
        session.execute(insert(AuditStaging), [e.row() for e in events])
        return
    session.flush()  # everything else first; the head is the last thing written
    seq, prev = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one()
    rows: list[dict[str, Any]] = []
    for item in events:
        seq += 1
        digest = event_hash(
            seq, item.at, item.actor, item.action, item.request_id, item.detail, prev
        )
        rows.append({**item.row(), "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))


def catch_up(session: Session) -> int:
    """Chain the events staged by deferring sessions (PostgreSQL); how many were chained."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    return int(session.execute(text("SELECT notrain_audit_chain_staged()")).scalar_one())


@orm_event.listens_for(Session, "before_commit")
def _seal_at_commit(session: Session) -> None:
    pending: dict[SessionTransaction, list[PendingEvent]] | None = session.info.get(_PENDING)
    if not pending:
        return
    nested = session.get_nested_transaction()
    if nested is not None:
        # A savepoint is released: its events now belong to the enclosing transaction.
        events = pending.pop(nested, [])
        if nested.parent is not None and events:
            pending.setdefault(nested.parent, []).extend(events)
        return
    root = session.get_transaction()
    events = pending.pop(root, []) if root is not None else []
    if events:
        seal(session, events)


@orm_event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    """A transaction (or savepoint) that ended without committing leaves no event."""
    pending: dict[SessionTransaction, list[PendingEvent]] | None = session.info.get(_PENDING)
    if pending:
        pending.pop(transaction, None)


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
    catch_up(session)
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

    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
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


def head(session: Session) -> tuple[int, str]:
    """The chain's last ``seq`` and hash, as committed."""
    catch_up(session)
    seq, digest = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one()
    return int(seq), str(digest)


def last_event_hash(session: Session, action: str, detail: dict[str, Any]) -> str | None:
    """The hash of the latest committed event with this action and detail."""
    catch_up(session)
    return session.scalars(
        select(AuditEvent.hash)
        .where(AuditEvent.action == action, AuditEvent.detail == _canonical(detail))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()


def known_hashes(session: Session, hashes: set[str]) -> set[str]:
    """Those of ``hashes`` that are hashes of events in the trail."""
    catch_up(session)
    found = session.scalars(select(AuditEvent.hash).where(AuditEvent.hash.in_(sorted(hashes))))
    return set(found)


def events_for(session: Session, request_id: str) -> list[AuditEvent]:
    catch_up(session)
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.seq)
        )
    )


def detail_of(event: AuditEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event.detail)
    return loaded
