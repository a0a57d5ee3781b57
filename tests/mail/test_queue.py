"""SMTP down, then back: every queued message is delivered, once, and nothing is lost."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.mail.queue import pending_count, retry_wait
from notrain.mail.transport import SmtpTransport
from notrain.registry.models import AuditEvent, QueuedMail
from notrain.registry.service import Registry
from tests.mail.smtp_server import free_port, smtp_server
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock, Requester

_CODE = re.compile(r"Your code is:\s+(\d{6})")


def test_outage_then_recovery_loses_nothing(
    person: Requester, registry: Registry, session: Session, clock: FakeClock
) -> None:
    port = free_port()
    smtp = SmtpTransport("127.0.0.1", port, tls="none", timeout=5)
    # SMTP is down: requests are still taken, their mail waits in the queue.
    ids = {email: person.submit(email) for email in (ALICE, BOB, STRANGER)}
    report = registry.deliver_mail(smtp)
    assert (report.sent, report.failed, report.pending) == (0, 1, 3)
    assert report.error
    assert "127.0.0.1" in report.error
    first = session.scalars(select(QueuedMail).order_by(QueuedMail.id)).first()
    assert first is not None
    assert first.attempts == 1
    assert first.last_error
    assert first.next_attempt_at == clock() + retry_wait(60, 1)

    # Still down a minute later; the wait doubles, nothing is dropped.
    clock.advance(seconds=61)
    report = registry.deliver_mail(smtp)
    assert (report.sent, report.failed, report.pending) == (0, 1, 3)
    session.expire_all()
    first = session.get(QueuedMail, first.id)
    assert first is not None
    assert first.attempts == 2
    assert first.next_attempt_at == clock() + retry_wait(60, 2)

    with smtp_server(port) as inbox:
        # Not due yet: the server is up, but nothing is sent before its time ...
        report = registry.deliver_mail(smtp)
        assert report.sent == 2
        assert report.pending == 1
        clock.advance(minutes=2)
        report = registry.deliver_mail(smtp)
        assert (report.sent, report.failed, report.pending) == (1, 0, 0)
        # ... and a run with nothing due sends nothing again.
        assert registry.deliver_mail(smtp).sent == 0
    assert sorted(m["To"] for m in inbox.messages) == sorted([ALICE, BOB, STRANGER])
    assert pending_count(session) == 0
    failures = session.scalars(select(AuditEvent).where(AuditEvent.action == "mail_failed")).all()
    assert len(failures) == 2

    # The codes that arrived late still work: their 15 minutes start when they are sent.
    for email, request_id in ids.items():
        [message] = inbox.to(email)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        match = _CODE.search(body.get_content())
        assert match
        assert registry.verify(request_id, match.group(1)).state in ("accepted", "needs_review")


def test_decision_mail_waits_for_the_server_too(
    person: Requester, registry: Registry, session: Session, clock: FakeClock
) -> None:
    request_id = person.request(STRANGER)  # codes through the outbox
    registry.deliver_mail(person.outbox)  # and the notice that it is in review
    registry.decide(request_id, accept=False, officer="olga", reason="cannot identify you")
    port = free_port()
    smtp = SmtpTransport("127.0.0.1", port, tls="none", timeout=5)
    assert registry.deliver_mail(smtp).failed == 1
    clock.advance(hours=2)
    with smtp_server(port) as inbox:
        assert registry.deliver_mail(smtp).sent == 1
    [message] = inbox.messages
    assert "not accepted" in message["Subject"]
    assert pending_count(session) == 0


def test_retry_wait_doubles_up_to_an_hour() -> None:
    waits = [retry_wait(60, n).total_seconds() for n in (1, 2, 3, 6, 7, 20)]
    assert waits == [60, 120, 240, 1920, 3600, 3600]


def test_a_code_queued_before_verification_is_not_made_after_it(
    person: Requester, registry: Registry, session: Session, clock: FakeClock
) -> None:
    from notrain.registry.models import VerificationCode

    request_id = person.submit(ALICE)
    code = person.code(ALICE)
    clock.advance(minutes=2)
    registry.resend_code(request_id)  # the mail server is slow; the person asks again ...
    registry.verify(request_id, code)  # ... then finds the first code after all
    registry.deliver_mail(person.outbox)
    assert len(session.scalars(select(VerificationCode)).all()) == 1
    texts = [p.read_text() for p in sorted(person.outbox.folder.glob("*.eml"))]
    assert "already confirmed" in texts[-2]  # the resend, then the acceptance
    assert "accepted" in texts[-1]
