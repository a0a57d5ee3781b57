"""E-mail codes: six digits, hashed with a key, 15 minutes, 5 tries, cooldown, hourly cap."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from notrain.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeWrong,
    RateLimited,
    RequestStateError,
)
from notrain.registry import verification
from notrain.registry.models import VerificationCode
from tests.registry.fixtures import ALICE, BOB, KEY, FakeClock, Requester


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize(("draw", "code"), [(0, "000000"), (7, "000007"), (999_999, "999999")])
def test_every_six_digit_code_is_possible(
    monkeypatch: pytest.MonkeyPatch, draw: int, code: str
) -> None:
    calls: list[int] = []

    def randbelow(n: int) -> int:
        calls.append(n)
        return draw

    monkeypatch.setattr(secrets, "randbelow", randbelow)
    assert verification.new_code() == code
    assert calls == [1_000_000]


def test_only_a_keyed_hash_of_the_code_is_stored(person: Requester, session: Session) -> None:
    request_id = person.submit(ALICE)
    code = person.code(ALICE)
    row = session.scalars(select(VerificationCode)).one()
    assert row.code_hash == hmac.new(KEY, f"{request_id}:{code}".encode(), "sha256").hexdigest()
    # The clear code is nowhere in the database: not in any column of any table.
    for table in inspect(session.connection()).get_table_names():
        for record in session.execute(text(f"SELECT * FROM {table}")):
            assert all(code not in str(value) for value in record), table
    assert person.confirm(request_id, ALICE) == "accepted"


def test_code_is_valid_for_fifteen_minutes(person: Requester, clock: FakeClock) -> None:
    first = person.submit(ALICE)
    code = person.code(ALICE)
    clock.advance(minutes=14, seconds=59)
    assert person.registry.verify(first, code).state == "accepted"

    second = person.submit(BOB, country="FR")
    code = person.code(BOB)
    clock.advance(minutes=15)
    with pytest.raises(CodeExpired):
        person.registry.verify(second, code)
    assert person.registry.get(second).state == "submitted"


def test_five_attempts_per_code_then_a_new_code(person: Requester, clock: FakeClock) -> None:
    request_id = person.submit(ALICE)
    code = person.code(ALICE)
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(CodeWrong) as caught:
            person.registry.verify(request_id, _wrong(code))
        assert caught.value.attempts_left == left
    # The right code no longer helps: the attempts are used up.
    with pytest.raises(CodeAttemptsExhausted):
        person.registry.verify(request_id, code)
    clock.advance(seconds=61)
    person.registry.resend_code(request_id)
    fresh = person.code(ALICE)
    with pytest.raises(CodeWrong):
        person.registry.verify(request_id, code if code != fresh else _wrong(fresh))
    assert person.registry.verify(request_id, fresh).state == "accepted"


def test_wrong_attempts_are_counted_even_though_the_step_fails(
    person: Requester, session: Session
) -> None:
    request_id = person.submit(ALICE)
    code = person.code(ALICE)
    with pytest.raises(CodeWrong):
        person.registry.verify(request_id, _wrong(code))
    with pytest.raises(CodeWrong):
        person.registry.verify(request_id, "12 34")  # malformed counts too
    session.expire_all()
    assert session.scalars(select(VerificationCode.attempts)).one() == 2
    events = person.registry.get(request_id).events
    assert [e.action for e in events].count("code_failed") == 2


def test_a_new_code_supersedes_the_old(person: Requester, clock: FakeClock) -> None:
    request_id = person.submit(ALICE)
    old = person.code(ALICE)
    clock.advance(seconds=60)
    person.registry.resend_code(request_id)
    new = person.code(ALICE)
    if old != new:  # one chance in a million that they are equal
        with pytest.raises(CodeWrong):
            person.registry.verify(request_id, old)
    assert person.registry.verify(request_id, new).state == "accepted"


def test_resend_has_a_cooldown(person: Requester, clock: FakeClock) -> None:
    request_id = person.submit(ALICE)
    clock.advance(seconds=30)
    with pytest.raises(RateLimited) as caught:
        person.registry.resend_code(request_id)
    assert caught.value.retry_after == 30
    assert caught.value.http_status == 429
    clock.advance(seconds=30)
    person.registry.resend_code(request_id)


def test_hourly_cap_per_address(person: Requester, clock: FakeClock) -> None:
    request_id = person.submit(ALICE)
    for _ in range(4):  # five codes in all within the hour
        clock.advance(minutes=5)
        person.registry.resend_code(request_id)
    clock.advance(minutes=5)
    with pytest.raises(RateLimited, match="within the hour") as caught:
        person.registry.resend_code(request_id)
    # The first code went out 25 minutes ago; the cap lifts when it is an hour old.
    assert caught.value.retry_after == 35 * 60
    # The cap is per address, whatever the request: a new request to it is refused too.
    with pytest.raises(RateLimited):
        person.submit(ALICE, kind="erasure")
    clock.advance(minutes=35)
    person.registry.resend_code(request_id)


def test_daily_cap_per_address(person: Requester, clock: FakeClock) -> None:
    request_id = person.submit(ALICE)
    sent = 1
    # Within the hourly cap every hour, until ten codes went out within 24 hours.
    while sent < 10:
        clock.advance(minutes=13)
        person.registry.resend_code(request_id)
        sent += 1
    # 9 x 13 minutes after the first: the hourly cap alone would allow another one.
    clock.advance(minutes=61)
    with pytest.raises(RateLimited, match="within 24 hours") as caught:
        person.registry.resend_code(request_id)
    first_code_age = timedelta(minutes=9 * 13 + 61)
    assert caught.value.retry_after == int((timedelta(days=1) - first_code_age).total_seconds())
    with pytest.raises(RateLimited, match="within 24 hours"):
        person.submit(ALICE, kind="erasure")  # per address, whatever the request
    clock.advance(seconds=caught.value.retry_after)
    person.registry.resend_code(request_id)  # the first code is now a day old


def test_no_code_for_a_verified_request(person: Requester, clock: FakeClock) -> None:
    request_id = person.request(ALICE)
    clock.advance(minutes=5)
    with pytest.raises(RequestStateError):
        person.registry.resend_code(request_id)


def test_a_rate_limited_submission_writes_nothing(person: Requester, session: Session) -> None:
    person.submit(ALICE)
    before = person.registry.list()
    events = person.registry.verify_audit().events
    with pytest.raises(RateLimited):
        person.submit(ALICE, kind="access")
    assert person.registry.list() == before
    assert person.registry.verify_audit().events == events
    assert len(session.scalars(select(VerificationCode)).all()) == 0
