"""One calendar month to answer (Art. 12(3)), two more with a reason and a notice."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import RequestInvalid, RequestStateError
from notrain.registry.deadlines import add_months, due_at
from notrain.registry.models import QueuedMail
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock, Requester


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2025, 1, 31), date(2025, 2, 28)),
        (date(2024, 1, 31), date(2024, 2, 29)),  # leap year
        (date(2024, 1, 29), date(2024, 2, 29)),
        (date(2025, 1, 28), date(2025, 2, 28)),
        (date(2025, 3, 31), date(2025, 4, 30)),
        (date(2025, 4, 30), date(2025, 5, 30)),
        (date(2025, 12, 31), date(2026, 1, 31)),
        (date(2025, 12, 15), date(2026, 1, 15)),
        (date(2025, 2, 28), date(2025, 3, 28)),
    ],
)
def test_due_one_calendar_month_after_receipt(received: date, due: date) -> None:
    moment = datetime.combine(received, datetime.min.time(), tzinfo=UTC).replace(hour=13)
    deadline = due_at(moment)
    assert deadline.date() == due
    assert (deadline.hour, deadline.minute, deadline.second) == (23, 59, 59)  # end of that day
    assert deadline.tzinfo == UTC


def test_received_late_in_the_day_still_counts_from_that_day() -> None:
    late = datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert due_at(late).date() == date(2025, 2, 28)


def test_extension_counts_from_the_original_due_date() -> None:
    received = datetime(2025, 1, 31, 10, tzinfo=UTC)
    assert due_at(received, 1).date() == date(2025, 3, 28)
    assert due_at(received, 2).date() == date(2025, 4, 28)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31)), st.integers(0, 36))
def test_add_months_lands_in_the_right_month_on_the_right_day(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, calendar.monthrange(moved.year, moved.month)[1])


def test_requests_get_their_deadline_at_submission(person: Requester, clock: FakeClock) -> None:
    request_id = person.submit(ALICE)  # the clock starts on 31 January 2025
    assert person.registry.get(request_id).due_at.date() == date(2025, 2, 28)
    assert clock().date() == date(2025, 1, 31)


def test_extension_needs_a_reason_and_tells_the_requester(
    person: Requester, session: Session
) -> None:
    request_id = person.request(STRANGER)
    with pytest.raises(RequestInvalid, match="reason"):
        person.registry.extend(request_id, months=2, reason=" ", officer="olga")
    view = person.registry.extend(
        request_id, months=1, reason="Many requests after the announcement.", officer="olga"
    )
    assert view.due_at.date() == date(2025, 3, 28)
    assert view.extended_months == 1
    view = person.registry.extend(request_id, months=1, reason="Still many.", officer="olga")
    assert view.due_at.date() == date(2025, 4, 28)
    with pytest.raises(RequestStateError, match="at most 2"):
        person.registry.extend(request_id, months=1, reason="again", officer="olga")
    notices = session.scalars(
        select(QueuedMail).where(QueuedMail.template == "extended").order_by(QueuedMail.id)
    ).all()
    assert len(notices) == 2
    person.registry.deliver_mail(person.outbox)
    texts = " ".join(p.read_text() for p in person.outbox.folder.glob("*.eml"))
    assert "Many requests after the announcement." in texts
    assert "April 28, 2025" in texts  # the English long date
    assert [e.action for e in view.events].count("extended") == 2


def test_no_extension_after_the_first_month(person: Requester, clock: FakeClock) -> None:
    request_id = person.request(STRANGER)
    clock.now = datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(RequestStateError, match="within one month"):
        person.registry.extend(request_id, months=2, reason="late", officer="olga")


def test_no_extension_of_a_decided_request(person: Requester) -> None:
    request_id = person.request(ALICE)
    person.registry.export(person.outbox.folder.parent / "snapshot.parquet")
    with pytest.raises(RequestStateError, match="nothing to extend"):
        person.registry.extend(request_id, months=1, reason="x", officer="olga")


def test_overdue_and_due_soon(person: Requester, clock: FakeClock) -> None:
    late = person.request(STRANGER)  # due 2025-02-28, in review
    clock.now = datetime(2025, 2, 10, tzinfo=UTC)
    soon = person.request(BOB, kind="erasure", country="FR")  # due 2025-03-10, in review
    clock.now = datetime(2025, 2, 12, tzinfo=UTC)
    unverified = person.submit(ALICE, kind="access")  # waits for its requester, not for us
    clock.now = datetime(2025, 2, 22, tzinfo=UTC)
    assert [v.id for v in person.registry.list(due_soon=True)] == [late]
    assert person.registry.list(overdue=True) == []
    clock.now = datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC)
    assert person.registry.list(overdue=True) == []  # the whole last day is still in time
    clock.now = datetime(2025, 3, 1, tzinfo=UTC)
    assert [v.id for v in person.registry.list(overdue=True)] == [late]
    assert person.registry.list(due_soon=True) == []  # due 10 March: not within 7 days yet
    clock.now = datetime(2025, 3, 4, tzinfo=UTC)
    assert [v.id for v in person.registry.list(due_soon=True)] == [soon]
    person.registry.decide(late, accept=True, officer="olga")
    person.registry.decide(soon, accept=False, officer="olga", reason="not identifiable")
    person.registry.export(person.outbox.folder.parent / "snapshot.parquet")
    assert person.registry.list(overdue=True) == []
    # Past the unverified request's date (12 March): it waits for its requester, not for us.
    clock.now = datetime(2025, 3, 20, tzinfo=UTC)
    assert person.registry.get(unverified).due_at < clock()
    assert person.registry.list(overdue=True) == []
