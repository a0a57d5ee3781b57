"""The persistent mail queue: a table in the registry database, delivered with retries.

``enqueue`` adds a message in the caller's transaction, so a request and the mail it
causes are written together or not at all. ``deliver_due`` sends what is due, one
transaction per message: render, send, mark sent. When sending fails, the message stays
queued with its attempt counted and a later ``next_attempt_at`` (the wait doubles, up to an
hour); it is never dropped. Delivery stops at the first failure of a run, since the server
is then most likely down for the rest too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notrain.errors import MailDeliveryError
from notrain.mail.transport import Transport
from notrain.registry.models import QueuedMail

MAX_RETRY_WAIT = timedelta(hours=1)

Renderer = Callable[[Session, QueuedMail, datetime], EmailMessage]
"""Turns a queued row into a message, in the delivery transaction (it may write, too)."""
Hook = Callable[[Session, QueuedMail, datetime], None]


def enqueue(
    session: Session,
    *,
    to: str,
    template: str,
    params: dict[str, Any],
    now: datetime,
    request_id: str | None = None,
) -> QueuedMail:
    row = QueuedMail(
        to_address=to,
        template=template,
        params=json.dumps(params, sort_keys=True, default=str),
        request_id=request_id,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
    )
    session.add(row)
    session.flush()
    return row


def params_of(row: QueuedMail) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(row.params)
    return loaded


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    pending: int
    error: str | None = None


def retry_wait(base_seconds: int, attempts: int) -> timedelta:
    wait = timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))
    return min(wait, MAX_RETRY_WAIT)


def pending_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(QueuedMail.sent_at.is_(None))) or 0)


def deliver_due(
    session: Session,
    transport: Transport,
    render: Renderer,
    now: datetime,
    *,
    retry_seconds: int = 60,
    limit: int = 500,
    on_sent: Hook | None = None,
    on_failed: Hook | None = None,
) -> DeliveryReport:
    """Send the queued messages that are due at ``now``, oldest first.

    A step of its own, in its own transactions: call it between steps, never inside one
    (whatever the session holds uncommitted is rolled back first).
    """
    session.rollback()
    due = list(
        session.scalars(
            select(QueuedMail.id)
            .where(QueuedMail.sent_at.is_(None), QueuedMail.next_attempt_at <= now)
            .order_by(QueuedMail.id)
            .limit(limit)
        )
    )
    session.commit()
    sent = failed = 0
    error: str | None = None
    for mail_id in due:
        row = session.scalars(
            select(QueuedMail)
            .where(QueuedMail.id == mail_id, QueuedMail.sent_at.is_(None))
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:  # sent meanwhile by another worker
            session.rollback()
            continue
        try:
            message = render(session, row, now)
            transport.send(message)
            row.sent_at = now
            row.attempts += 1
            row.message_id = str(message["Message-ID"])
            row.last_error = None
            if on_sent:
                on_sent(session, row, now)
            session.commit()
            sent += 1
        except MailDeliveryError as exc:
            session.rollback()
            error = exc.message
            _count_failure(session, mail_id, error, now, retry_seconds, on_failed)
            failed += 1
            break
        except BaseException:
            session.rollback()
            raise
    pending = pending_count(session)
    session.commit()
    return DeliveryReport(sent=sent, failed=failed, pending=pending, error=error)


def _count_failure(
    session: Session,
    mail_id: int,
    error: str,
    now: datetime,
    retry_seconds: int,
    on_failed: Hook | None,
) -> None:
    row = session.get(QueuedMail, mail_id, with_for_update=True)
    if row is None:  # pragma: no cover - rows are never deleted
        session.rollback()
        return
    row.attempts += 1
    row.last_error = error[:2000]
    row.next_attempt_at = now + retry_wait(retry_seconds, row.attempts)
    if on_failed:
        on_failed(session, row, now)
    session.commit()
