"""The persistent mail queue: a table in the registry database, delivered with retries.

``enqueue`` adds a message in the caller's transaction, so a request and the mail it
causes are written together or not at all. ``deliver_due`` sends what is due in batches,
one transaction per batch: lock up to ``batch_size`` due rows (rows another worker holds
are skipped), render them all, send them over one connection, mark each sent as it goes,
commit. A rendered message may carry writes of its own (a verification code's hash), made
only once the message is out. When sending fails, the messages before it stay sent and the
failed one stays queued with its attempt counted and a later ``next_attempt_at`` (the wait
doubles, up to an hour); it is never dropped. Delivery stops at the first failure of a
run, since the server is then most likely down for the rest too.

Delivery is at least once: if the database cannot commit a batch after it went out, its
messages are sent again later (a code in a repeated message is a new one; the first no
longer works).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notrain.errors import MailDeliveryError
from notrain.mail.message import header_text
from notrain.mail.transport import Transport, connection
from notrain.registry.models import QueuedMail

MAX_RETRY_WAIT = timedelta(hours=1)


@dataclass(frozen=True)
class Rendered:
    """A queued row made into a message, and what to write once it is sent (if anything)."""

    message: EmailMessage
    on_sent: Callable[[Session], None] | None = None


Renderer = Callable[[Session, Sequence[QueuedMail], datetime], list[Rendered]]
"""Turns a batch of queued rows into messages, in order, in the delivery transaction. It
may read and lock what the messages need, but writes only through ``Rendered.on_sent``:
nothing it does may last for a message that was not sent."""
Hook = Callable[[Session, QueuedMail, datetime], None]
DEFAULT_BATCH_SIZE = 100


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
    session.add(row)  # written with the rest of the step, at its commit
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
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_sent: Hook | None = None,
    on_failed: Hook | None = None,
) -> DeliveryReport:
    """Send at most ``limit`` queued messages that are due at ``now``, oldest first.

    A step of its own, in its own transactions: call it between steps, never inside one
    (whatever the session holds uncommitted is rolled back first).
    """
    session.rollback()
    sent = failed = 0
    error: str | None = None
    while error is None and sent < limit:
        rows = list(
            session.scalars(
                select(QueuedMail)
                .where(QueuedMail.sent_at.is_(None), QueuedMail.next_attempt_at <= now)
                .order_by(QueuedMail.id)
                .limit(min(batch_size, limit - sent))
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            session.rollback()
            break
        done, error = _deliver_batch(
            session, transport, render, rows, now, retry_seconds, on_sent, on_failed
        )
        sent += done
        failed += error is not None
    pending = pending_count(session)
    session.commit()
    return DeliveryReport(sent=sent, failed=failed, pending=pending, error=error)


def _deliver_batch(
    session: Session,
    transport: Transport,
    render: Renderer,
    rows: list[QueuedMail],
    now: datetime,
    retry_seconds: int,
    on_sent: Hook | None,
    on_failed: Hook | None,
) -> tuple[int, str | None]:
    """Send the locked ``rows`` and commit; returns how many went out and the error, if any."""
    try:
        rendered = render(session, rows, now)  # nothing is sent yet: a bug here sends nothing
    except BaseException:
        session.rollback()
        raise
    sent = 0
    try:
        with connection(transport) as send:
            for row, mail in zip(rows, rendered, strict=True):
                send(mail.message)
                row.sent_at = now
                row.attempts += 1
                row.message_id = header_text(mail.message, "Message-ID")
                row.last_error = None
                if mail.on_sent:
                    mail.on_sent(session)
                if on_sent:
                    on_sent(session, row, now)
                sent += 1
    except MailDeliveryError as exc:
        _count_failure(session, rows[sent], exc.message, now, retry_seconds, on_failed)
        session.commit()
        return sent, exc.message
    except BaseException:
        # Keep the record of what went out, if the database still takes it.
        try:
            session.commit() if sent else session.rollback()
        except BaseException:
            session.rollback()
        raise
    session.commit()
    return sent, None


def _count_failure(
    session: Session,
    row: QueuedMail,
    error: str,
    now: datetime,
    retry_seconds: int,
    on_failed: Hook | None,
) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.next_attempt_at = now + retry_wait(retry_seconds, row.attempts)
    if on_failed:
        on_failed(session, row, now)
