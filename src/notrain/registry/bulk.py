"""Bulk decisions: accept, reject (one reason for all) or extend many requests at once.

A bulk decision is taken in two moves. :func:`start` freezes the selection (everything a
queue filter matches, or the ticked ids) into ``bulk_items`` in one step, with one audit
event that says who decided what on which selection; requests that arrive afterwards are
not swept in. :func:`run` then works through the items in batches, one transaction each:
every request gets its own audited transition (or extension) and its own mail, exactly as
a decision taken alone, and its item is marked in the same transaction. A run that is
killed loses at most the batch it was in, which rolls back whole; running the job again
carries on with the items not yet marked. A request that was decided meanwhile by other
means is skipped, with the reason kept on its item.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Table, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from notrain.errors import RequestInvalid, RequestNotFound, RequestStateError
from notrain.mail.queue import enqueue
from notrain.registry import audit, deadlines, notices
from notrain.registry.intake import step
from notrain.registry.models import REASON_MAX, BulkItem, BulkJob, Request
from notrain.registry.queue import QueueFilter, matching_ids
from notrain.registry.states import RequestState, transition
from notrain.registry.views import IDENTITY_KINDS, BulkProgress, beyond_address

ACTIONS = ("accept", "reject", "extend")
BATCH_SIZE = 500
MAX_TICKED = 10_000
_DECIDABLE = (RequestState.VERIFIED.value, RequestState.NEEDS_REVIEW.value)


@dataclass(frozen=True)
class Selection:
    """The requests a bulk decision takes: those a filter matches, or the ticked ones."""

    filter: QueueFilter | None = None
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.filter is None) == (not self.ids):
            raise RequestInvalid("selection", "either a filter or ticked requests, not both")
        if len(self.ids) > MAX_TICKED:
            raise RequestInvalid("ids", f"at most {MAX_TICKED} ticked requests; use a filter")

    def statement(self, now: datetime, due_soon_days: int) -> Select[str]:
        if self.filter is not None:
            return matching_ids(self.filter, now, due_soon_days)
        return select(Request.id).where(Request.id.in_(sorted(set(self.ids))))

    def as_json(self) -> str:
        if self.filter is not None:
            return json.dumps({"filter": self.filter.params()}, sort_keys=True)
        return json.dumps({"ids": len(self.ids)})


def check_action(action: str, reason: str | None, months: int | None) -> str | None:
    """The cleaned reason; raises if the action cannot be taken as asked."""
    if action not in ACTIONS:
        raise RequestInvalid("action", "accept, reject or extend")
    text = (reason or "").strip()
    if action != "accept" and not text:
        raise RequestInvalid("reason", f"to {action}, give a reason: every requester is told")
    if len(text) > REASON_MAX:
        raise RequestInvalid("reason", f"longer than {REASON_MAX} characters")
    if action == "extend" and months not in (1, 2):
        raise RequestInvalid("months", "extend by one or two months")
    return text or None


def preview(session: Session, selection: Selection, *, now: datetime, due_soon_days: int) -> int:
    """How many requests the selection holds now (what the confirmation shows)."""
    inner = selection.statement(now, due_soon_days).subquery()
    with step(session):
        return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def start(
    session: Session,
    selection: Selection,
    *,
    action: str,
    officer: str,
    reason: str | None,
    months: int | None = None,
    now: datetime,
    due_soon_days: int,
) -> BulkProgress:
    """Freeze the selection into a new job, audited; nothing is decided yet."""
    text = check_action(action, reason, months)
    job_id = "bulk-" + secrets.token_hex(8)
    with step(session):
        job = BulkJob(
            id=job_id, officer=officer, action=action, reason=text,
            months=months if action == "extend" else None, selection=selection.as_json(),
            total=0, done=0, skipped=0, created_at=now,
        )  # fmt: skip
        session.add(job)
        session.flush()
        ids = selection.statement(now, due_soon_days).subquery()
        chosen = select(literal(job_id), ids.c.id)
        session.execute(insert(BulkItem).from_select(["job_id", "request_id"], chosen))
        job.total = int(session.scalar(select(func.count()).where(BulkItem.job_id == job_id)) or 0)
        audit.record(
            session, at=now, actor=f"officer:{officer}", action="bulk_confirmed",
            job=job_id, decision=action, reason=text, months=job.months, total=job.total,
            selection=json.loads(job.selection),
        )  # fmt: skip
    return progress_of(job)


def progress_of(job: BulkJob) -> BulkProgress:
    return BulkProgress(job.id, job.action, job.total, job.done, job.skipped,
                        job.finished_at is not None)  # fmt: skip


def progress(session: Session, job_id: str) -> BulkProgress:
    with step(session):
        job = session.get(BulkJob, job_id)
        if job is None:
            raise RequestNotFound(f"no bulk decision {job_id!r}")
        return progress_of(job)


def unfinished(session: Session) -> list[str]:
    with step(session):
        return list(
            session.scalars(
                select(BulkJob.id).where(BulkJob.finished_at.is_(None)).order_by(BulkJob.created_at)
            )
        )


def _act(session: Session, job: BulkJob, request: Request, now: datetime) -> str | None:
    """Take the job's decision on one request; None if done, else why it was skipped."""
    actor = f"officer:{job.officer}"
    if job.action == "extend":
        try:
            deadlines.extend(session, request, job.months or 0, job.reason or "", at=now,
                             actor=actor)  # fmt: skip
        except (RequestStateError, RequestInvalid) as exc:
            return exc.message
        enqueue(session, to=request.email, template=notices.EXTENDED,
                params={"reason": request.extension_reason}, now=now,
                request_id=request.id)  # fmt: skip
        return None
    if request.state not in _DECIDABLE:
        return f"it is {request.state}; only verified requests and requests in review are decided"
    accept = job.action == "accept"
    if accept and request.kind in IDENTITY_KINDS and beyond_address(request):
        # Accepting it needs an officer's word that they checked who the requester is, one
        # request at a time (see Registry.decide): a bulk decision cannot give it.
        return (
            "it names more than the address its requester proved: accept it on its own page, "
            "after checking the requester's identity"
        )
    to = RequestState.ACCEPTED if accept else RequestState.REJECTED
    transition(session, request, to, at=now, actor=actor, reason=job.reason, bulk=job.id)
    enqueue(session, to=request.email, template=notices.ACCEPTED if accept else notices.REJECTED,
            params={} if accept else {"reason": job.reason}, now=now,
            request_id=request.id)  # fmt: skip
    return None


def run_batch(session: Session, job_id: str, *, now: datetime, size: int = BATCH_SIZE) -> int:
    """Handle the next ``size`` items of a job in one transaction; returns how many."""
    with step(session):
        # Locking the job makes two runners of one job take turns, batch by batch.
        job = session.scalars(select(BulkJob).where(BulkJob.id == job_id).with_for_update()).first()
        if job is None:
            raise RequestNotFound(f"no bulk decision {job_id!r}")
        if job.finished_at is not None:
            return 0
        ids = list(
            session.scalars(
                select(BulkItem.request_id)
                .where(BulkItem.job_id == job_id, BulkItem.outcome.is_(None))
                .order_by(BulkItem.request_id)
                .limit(size)
            )
        )
        if not ids:
            job.finished_at = now
            audit.record(session, at=now, actor=f"officer:{job.officer}", action="bulk_finished",
                         job=job.id, done=job.done, skipped=job.skipped)  # fmt: skip
            return 0
        requests = {
            r.id: r
            for r in session.scalars(
                select(Request).where(Request.id.in_(ids)).order_by(Request.id).with_for_update()
            )
        }
        outcomes: list[dict[str, str | None]] = []
        for request_id in ids:
            request = requests.get(request_id)
            why = "no such request" if request is None else _act(session, job, request, now)
            outcomes.append({"rid": request_id, "o": "skipped" if why else "done", "d": why})
        skipped = sum(o["o"] == "skipped" for o in outcomes)
        job.done += len(ids) - skipped
        job.skipped += skipped
        session.flush()
        items: Table = BulkItem.__table__  # type: ignore[assignment]
        session.execute(
            update(items)
            .where(items.c.job_id == job_id, items.c.request_id == bindparam("rid"))
            .values(outcome=bindparam("o"), detail=bindparam("d")),
            outcomes,
        )
    return len(ids)


def run(
    session: Session,
    job_id: str,
    *,
    clock: Callable[[], datetime],
    size: int = BATCH_SIZE,
    on_batch: Callable[[BulkProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> BulkProgress:
    """Work through a job to its end (or until ``should_stop``); safe to call again."""
    while not (should_stop and should_stop()):
        handled = run_batch(session, job_id, now=clock(), size=size)
        if on_batch is not None:
            on_batch(progress(session, job_id))
        if handled == 0:
            break
    return progress(session, job_id)


def skipped_items(session: Session, job_id: str, limit: int = 100) -> Sequence[tuple[str, str]]:
    """Which requests a job skipped, and why (the first ``limit``)."""
    with step(session):
        rows = session.execute(
            select(BulkItem.request_id, BulkItem.detail)
            .where(BulkItem.job_id == job_id, BulkItem.outcome == "skipped")
            .order_by(BulkItem.request_id)
            .limit(limit)
        )
        return [(r.request_id, r.detail or "") for r in rows]
