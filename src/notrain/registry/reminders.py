"""Reminders: one more mail, with a fresh code, to a request still awaiting its code.

People close the tab, the code expires after fifteen minutes, and the objection they
meant to make is never made. A request still *submitted* ``NOTRAIN_CODE_REMINDER_HOURS``
after it was received gets one reminder (template ``code_reminder``), whose code is made
when it is sent, like any code, and supersedes the earlier one. Once only: a request is
reminded if no reminder was ever queued for it, and never once it is verified. It
counts as a code sent to the address (cooldown, hourly and daily caps). Requests
that waited more than ``WINDOW`` past the delay are left alone: a reminder weeks later
(after a registry was down, or when reminders are first turned on) would surprise more
than it helps.

Run by every mail delivery (the portal's mail thread, ``notrain mail deliver``), before
it sends, so a reminder goes out in the same pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from notrain.errors import RateLimited
from notrain.mail.queue import enqueue
from notrain.registry import audit, notices
from notrain.registry.deadlines import due_at
from notrain.registry.intake import step
from notrain.registry.models import QUEUE_TABS, QueuedMail, Request, tab_predicate
from notrain.registry.verification import CodePolicy, check_rate

WINDOW = timedelta(days=7)
BATCH = 500


def queue_reminders(
    session: Session, hours: int, codes: CodePolicy, *, now: datetime, limit: int = BATCH
) -> int:
    """Queue the reminders that are due; returns how many. One step of its own.

    A reminder is a code like any other: it counts towards the address's cooldown and caps
    (which bound guessing), and waits for a later pass while they say no.
    """
    if hours <= 0:
        return 0
    newest = now - timedelta(hours=hours)
    oldest = newest - WINDOW
    with step(session):
        # The deadline grows with the receipt, so bounding it too lets the awaiting-code
        # tab's index (ordered by deadline) find the window without a scan.
        candidates = list(
            session.scalars(
                select(Request)
                .where(
                    text(tab_predicate(QUEUE_TABS["code"])),
                    Request.due_at >= due_at(oldest),
                    Request.due_at <= due_at(newest),
                    Request.received_at > oldest,
                    Request.received_at <= newest,
                )
                .order_by(Request.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not candidates:
            return 0
        # Asked after the rows are locked, so a reminder queued meanwhile by another
        # process (which held them until its commit) is seen.
        reminded = set(
            session.scalars(
                select(QueuedMail.request_id).where(
                    QueuedMail.request_id.in_([r.id for r in candidates]),
                    QueuedMail.template == notices.REMINDER,
                )
            )
        )
        queued = 0
        for request in candidates:
            if request.id in reminded:
                continue
            try:
                check_rate(session, codes, request.email, request.client_key, now)
            except RateLimited:
                continue
            enqueue(session, to=request.email, template=notices.REMINDER, params={}, now=now,
                    request_id=request.id)  # fmt: skip
            audit.record(session, at=now, actor="system", action="code_reminder",
                         request_id=request.id, after_hours=hours)  # fmt: skip
            queued += 1
    return queued
