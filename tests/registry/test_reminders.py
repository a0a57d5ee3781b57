"""Reminders: one mail with a fresh code to a request still awaiting its code, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import RateLimited, VerificationFailed
from notrain.mail.transport import OutboxTransport
from notrain.registry.accounts import AccountIndex
from notrain.registry.campaign import read_codes
from notrain.registry.config import RegistryConfig
from notrain.registry.models import QueuedMail
from notrain.registry.service import Registry
from tests.registry.fixtures import STRANGER, FakeClock, Requester


def _reminders(registry: Registry) -> list[str | None]:
    rows = registry.session.scalars(
        select(QueuedMail.request_id).where(QueuedMail.template == "code_reminder")
    ).all()
    registry.session.rollback()
    return list(rows)


def test_one_reminder_with_a_fresh_code_after_the_delay(
    registry: Registry, person: Requester, clock: FakeClock, outbox: OutboxTransport
) -> None:
    request_id = person.submit(STRANGER, names=["Dana Stranger"])
    first = person.code(STRANGER)
    clock.advance(hours=23)
    registry.deliver_mail(outbox)
    assert _reminders(registry) == []  # not yet
    clock.advance(hours=2)
    registry.deliver_mail(outbox)
    assert _reminders(registry) == [request_id]
    fresh = read_codes(outbox.folder)[STRANGER]
    latest = max(outbox.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns).read_text()
    assert "Reminder" in latest
    assert "not confirmed yet" in latest
    if fresh != first:  # the first mail's code was superseded (one in a million: equal)
        with pytest.raises(VerificationFailed):
            registry.verify(request_id, first)
    assert registry.verify(request_id, fresh).state == "needs_review"
    clock.advance(hours=30)
    registry.deliver_mail(outbox)
    assert _reminders(registry) == [request_id]  # once only
    events = [e.action for e in registry.get(request_id).events]
    assert events.count("code_reminder") == 1


def test_no_reminder_once_verified(
    registry: Registry, person: Requester, clock: FakeClock, outbox: OutboxTransport
) -> None:
    request_id = person.submit(STRANGER, names=["Dana Stranger"])
    person.confirm(request_id, STRANGER)
    clock.advance(hours=25)
    registry.deliver_mail(outbox)
    assert _reminders(registry) == []


def test_reminders_off_and_stale_requests_left_alone(
    session: Session, accounts_path: Path, clock: FakeClock, outbox: OutboxTransport
) -> None:
    off = Registry(session, RegistryConfig(secret_key=b"k" * 32, code_reminder_hours=0),
                   AccountIndex.from_parquet(accounts_path), clock)  # fmt: skip
    Requester(off, outbox).submit(STRANGER, names=["Dana Stranger"])
    clock.advance(hours=48)
    off.deliver_mail(outbox)
    assert _reminders(off) == []
    on = Registry(session, RegistryConfig(secret_key=b"k" * 32, code_reminder_hours=24),
                  AccountIndex.from_parquet(accounts_path), clock)  # fmt: skip
    clock.advance(days=30)  # far past the reminder's window: a reminder would surprise
    on.deliver_mail(outbox)
    assert _reminders(on) == []


def test_a_reminder_counts_as_a_code_and_waits_for_the_caps(
    registry: Registry, person: Requester, clock: FakeClock, outbox: OutboxTransport
) -> None:
    request_id = person.submit(STRANGER, names=["Dana Stranger"])
    clock.advance(hours=25)
    registry.resend_code(request_id)  # the person asked again just now: cooldown runs
    registry.deliver_mail(outbox)
    assert _reminders(registry) == []
    clock.advance(minutes=2)
    registry.deliver_mail(outbox)
    assert _reminders(registry) == [request_id]
    with pytest.raises(RateLimited):
        registry.resend_code(request_id)  # the reminder's code counts towards the cooldown
