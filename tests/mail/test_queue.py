"""SMTP down, then back: every queued message is delivered, once, and nothing is lost."""

from __future__ import annotations

import re
from email.message import EmailMessage

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


def _code_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = _CODE.search(body.get_content())
    assert match
    return match.group(1)


def test_a_batch_goes_over_one_connection_in_one_transaction(
    person: Requester, registry: Registry, session: Session
) -> None:
    ids = {email: person.submit(email) for email in (ALICE, BOB, STRANGER)}
    port = free_port()
    with smtp_server(port) as inbox:
        report = registry.deliver_mail(SmtpTransport("127.0.0.1", port, tls="none", timeout=5))
    assert (report.sent, report.failed, report.pending) == (3, 0, 0)
    assert len(inbox.messages) == 3
    assert len(set(inbox.connections)) == 1  # one SMTP session for the batch
    sent = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "mail_sent").order_by(AuditEvent.seq)
    ).all()
    assert [e.request_id for e in sent] == [ids[ALICE], ids[BOB], ids[STRANGER]]
    assert [e.seq for e in sent] == list(range(sent[0].seq, sent[0].seq + 3))  # one append
    assert registry.verify_audit().intact
    for email, request_id in ids.items():
        [message] = inbox.to(email)
        assert registry.verify(request_id, _code_in(message)).state in (
            "accepted",
            "needs_review",
        )


def test_batches_are_cut_at_the_batch_size(
    person: Requester, registry: Registry, session: Session, clock: FakeClock
) -> None:
    from dataclasses import replace

    for n in range(5):
        person.submit(f"person{n}@example.org")
    small = Registry(session, replace(registry.config, mail_batch_size=2), clock=clock)
    report = small.deliver_mail(person.outbox, limit=3)
    assert (report.sent, report.pending) == (3, 2)
    assert small.deliver_mail(person.outbox).sent == 2


def test_a_failure_in_a_batch_keeps_what_went_before_and_waits_with_the_rest(
    person: Requester, registry: Registry, session: Session, clock: FakeClock
) -> None:
    ids = {email: person.submit(email) for email in (ALICE, BOB, STRANGER)}
    port = free_port()
    smtp = SmtpTransport("127.0.0.1", port, tls="none", timeout=5)
    with smtp_server(port) as inbox:
        inbox.refuse.add(BOB)
        report = registry.deliver_mail(smtp)
        assert (report.sent, report.failed, report.pending) == (1, 1, 2)
        assert report.error
        assert "refused" in report.error or "550" in report.error
        rows = {r.to_address: r for r in session.scalars(select(QueuedMail))}
        assert rows[ALICE].sent_at is not None
        assert (rows[BOB].sent_at, rows[BOB].attempts) == (None, 1)
        assert (rows[STRANGER].sent_at, rows[STRANGER].attempts) == (None, 0)
        # No code was kept for the message that did not go out.
        from notrain.registry.models import VerificationCode

        assert (
            session.scalars(
                select(VerificationCode.request_id).where(VerificationCode.request_id == ids[BOB])
            ).all()
            == []
        )
        [message] = inbox.to(ALICE)
        assert registry.verify(ids[ALICE], _code_in(message)).state == "accepted"
        inbox.refuse.clear()
        clock.advance(minutes=2)
        assert registry.deliver_mail(smtp).sent >= 2
    assert registry.verify_audit().intact


def test_a_resend_that_fails_leaves_the_earlier_code_working(
    person: Requester, registry: Registry, clock: FakeClock
) -> None:
    request_id = person.submit(BOB)
    code = person.code(BOB)  # the first code, through the outbox
    clock.advance(minutes=2)
    registry.resend_code(request_id)
    port = free_port()
    report = registry.deliver_mail(SmtpTransport("127.0.0.1", port, tls="none", timeout=5))
    assert report.failed == 1  # the server is down: the new code never went out ...
    assert registry.verify(request_id, code).state == "accepted"  # ... so the first still works
