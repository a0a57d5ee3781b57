"""Edges of the registry issue's rules not covered elsewhere: codes as typed, limits per
normalised address, extension bounds, reasons, and the audit of every step."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import CodeWrong, RateLimited, RequestInvalid, RequestStateError
from notrain.registry.models import REASON_MAX, VerificationCode
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock, Requester


def test_a_code_typed_with_spaces_verifies(person: Requester) -> None:
    request_id = person.submit(ALICE)
    code = person.code(ALICE)
    assert person.registry.verify(request_id, f" {code[:3]} {code[3:]} ").state == "accepted"


@pytest.mark.parametrize(
    "typed",
    [
        "\u0661\u0662\u0663\u0664\u0665\u0666",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        "12345",
        "1234567",
        "abcdef",
        "",
    ],
)
def test_anything_but_six_ascii_digits_is_a_wrong_attempt(
    person: Requester, session: Session, typed: str
) -> None:
    request_id = person.submit(ALICE)
    person.code(ALICE)
    with pytest.raises(CodeWrong) as caught:
        person.registry.verify(request_id, typed)
    assert caught.value.attempts_left == 4
    session.expire_all()
    assert session.scalars(select(VerificationCode.attempts)).one() == 1
    assert person.registry.get(request_id).state == "submitted"


def test_code_limits_count_the_normalised_address(person: Requester, clock: FakeClock) -> None:
    person.submit(BOB, country="FR")
    clock.advance(seconds=10)
    # Another request to the same address written otherwise is within the same cooldown.
    with pytest.raises(RateLimited) as caught:
        person.submit(f"  {BOB.upper()} ", kind="erasure", country="FR")
    assert caught.value.retry_after == 50
    clock.advance(seconds=50)
    erasure = person.submit(f"  {BOB.upper()} ", kind="erasure", country="FR")
    assert person.registry.get(erasure).email == BOB


def test_extension_bounds(person: Requester) -> None:
    request_id = person.request(STRANGER)  # received 31 January 2025, due 28 February
    for months in (0, -1):
        with pytest.raises(RequestInvalid):
            person.registry.extend(request_id, months=months, reason="busy", officer="olga")
    with pytest.raises(RequestStateError, match="at most 2"):
        person.registry.extend(request_id, months=3, reason="busy", officer="olga")
    with pytest.raises(RequestInvalid, match="reason"):
        person.registry.extend(request_id, months=1, reason="x" * (REASON_MAX + 1), officer="o")
    assert person.registry.get(request_id).due_at.date() == date(2025, 2, 28)
    view = person.registry.extend(request_id, months=2, reason="busy", officer="olga")
    assert view.due_at == datetime(2025, 4, 28, 23, 59, 59, 999_999, tzinfo=UTC)
    with pytest.raises(RequestStateError, match="at most 2"):
        person.registry.extend(request_id, months=1, reason="again", officer="olga")


def test_extension_on_the_last_day_of_the_first_month(person: Requester, clock: FakeClock) -> None:
    request_id = person.request(STRANGER)
    clock.now = datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC)
    view = person.registry.extend(request_id, months=1, reason="busy", officer="olga")
    assert view.due_at.date() == date(2025, 3, 28)


def test_an_unverified_request_cannot_be_extended(person: Requester) -> None:
    request_id = person.submit(STRANGER)
    with pytest.raises(RequestStateError):
        person.registry.extend(request_id, months=1, reason="busy", officer="olga")


def test_rejection_reason_bounds_and_acceptance_without_one(person: Requester) -> None:
    rejected = person.request(STRANGER)
    with pytest.raises(RequestInvalid, match="reason"):
        person.registry.decide(rejected, accept=False, officer="olga", reason="x" * 2001)
    assert person.registry.get(rejected).state == "needs_review"
    accepted = person.request(BOB, handle="carol", country="FR")  # not his handle: review
    view = person.registry.decide(accepted, accept=True, officer="olga")
    assert (view.state, view.decision_reason) == ("accepted", None)


def test_every_step_of_a_request_is_in_the_audit_trail(person: Requester) -> None:
    request_id = person.request(STRANGER)
    person.registry.extend(request_id, months=1, reason="busy", officer="olga")
    person.registry.decide(request_id, accept=True, officer="olga")
    export = person.registry.export(person.outbox.folder.parent / "snapshot.parquet")
    assert export.applied == [request_id]
    events = person.registry.get(request_id).events
    moves = [
        (e.detail["from_state"], e.detail["to_state"], e.actor)
        for e in events
        if e.action == "transition"
    ]
    assert moves == [
        ("submitted", "verified", "requester"),
        ("verified", "needs_review", "system"),
        ("needs_review", "accepted", "officer:olga"),
        ("accepted", "applied", "system:export"),
    ]
    assert events[0].action == "submitted"
    assert "extended" in [e.action for e in events]
    assert person.registry.verify_audit().intact
