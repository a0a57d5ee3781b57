"""Legal deadlines (GDPR Art. 12(3)): one calendar month, extendable by two with notice.

A period of months ends on the same date of the last month, or on that month's last day
when it has no such date, and runs to the end of that day (Regulation 1182/71, Art. 3):
received 31 January, due 28 (or 29) February at 23:59:59.999999 UTC. An extension is
counted from the original due date — the stricter of the two readings — has a recorded
reason, sends the requester a notice, and must be made while the first month still runs.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from notrain.errors import RequestInvalid, RequestStateError
from notrain.registry import audit
from notrain.registry.models import REASON_MAX, Request
from notrain.registry.states import OPEN_STATES

MAX_EXTENSION_MONTHS = 2
_END_OF_DAY = time(23, 59, 59, 999_999)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the last day of that month if it has none."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_at(received_at: datetime, extension_months: int = 0) -> datetime:
    """The end of the last day to answer a request received at ``received_at`` (UTC)."""
    first = add_months(received_at.astimezone(UTC).date(), 1)
    return datetime.combine(add_months(first, extension_months), _END_OF_DAY, tzinfo=UTC)


@dataclass(frozen=True)
class Extension:
    months: int  # in all, at most two
    due_at: datetime
    reason: str


def extend(
    session: Session, request: Request, months: int, reason: str, *, at: datetime, actor: str
) -> Extension:
    """Push the deadline by ``months`` more (two in all at most), in the caller's transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise RequestInvalid("reason", "an extension needs a reason, which the requester is told")
    if len(reason) > REASON_MAX:
        raise RequestInvalid("reason", f"longer than {REASON_MAX} characters")
    if months < 1:
        raise RequestInvalid("months", "extend by one or two months")
    total = request.extended_months + months
    if total > MAX_EXTENSION_MONTHS:
        raise RequestStateError(
            f"request {request.id}: already extended by {request.extended_months} month(s); "
            f"at most {MAX_EXTENSION_MONTHS} in all (Art. 12(3))"
        )
    if request.state not in OPEN_STATES:
        raise RequestStateError(f"request {request.id} is {request.state}; nothing to extend")
    original = due_at(request.received_at)
    if at > original:
        raise RequestStateError(
            f"request {request.id}: the requester must be told of an extension within one "
            f"month of receipt, which ended {original.date().isoformat()}"
        )
    request.extended_months = total
    request.extension_reason = reason
    request.due_at = due_at(request.received_at, total)
    audit.record(
        session,
        at=at,
        actor=actor,
        action="extended",
        request_id=request.id,
        months=months,
        total_months=total,
        due_at=request.due_at.isoformat(),
        reason=reason,
    )
    return Extension(months=total, due_at=request.due_at, reason=reason)


def open_requests() -> Select[Request]:
    return select(Request).where(Request.state.in_([s.value for s in OPEN_STATES]))


def overdue(now: datetime) -> Select[Request]:
    """Open requests whose deadline has passed, oldest deadline first."""
    return open_requests().where(Request.due_at < now).order_by(Request.due_at, Request.id)


def due_soon(now: datetime, days: int) -> Select[Request]:
    """Open requests due within ``days`` days from ``now`` (not yet overdue)."""
    return (
        open_requests()
        .where(Request.due_at >= now, Request.due_at <= now + timedelta(days=days))
        .order_by(Request.due_at, Request.id)
    )
