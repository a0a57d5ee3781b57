"""Nothing a requester sees before verifying says whether an address has an account."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser

import pytest

from notrain.errors import RateLimited, RequestNotFound
from notrain.registry.forms import RequestForm
from notrain.registry.service import Registry
from tests.registry.fixtures import ALICE, STRANGER, FakeClock, Requester

_VARYING = re.compile(r"req-[0-9a-f]{16}|\b\d{6}\b|<[^>]+>")


def _masked_mail(person: Requester, address: str) -> tuple[str, str]:
    person.registry.deliver_mail(person.outbox)
    for path in sorted(person.outbox.folder.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] == address:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            return message["Subject"], _VARYING.sub("#", body.get_content())
    raise AssertionError(f"no mail to {address}")


@pytest.mark.parametrize("kind", ["objection", "erasure", "access", "consent"])
def test_submission_answers_the_same_for_members_and_strangers(
    person: Requester, kind: str
) -> None:
    member = person.registry.submit(RequestForm(kind=kind, email=ALICE, country="DE"))
    stranger = person.registry.submit(RequestForm(kind=kind, email=STRANGER, country="DE"))
    assert type(member) is type(stranger)
    assert member.message == stranger.message
    assert vars(member).keys() == vars(stranger).keys() == {"request_id", "message"}
    # The same code message goes to both, and nothing else does before verification.
    assert _masked_mail(person, ALICE) == _masked_mail(person, STRANGER)
    assert len(list(person.outbox.folder.glob("*.eml"))) == 2
    assert person.registry.awaiting_code(member.request_id)
    assert person.registry.awaiting_code(stranger.request_id)
    for receipt in (member, stranger):  # no status before the code: no token exists yet
        with pytest.raises(RequestNotFound):
            person.registry.status(receipt.request_id, None)


def test_repeated_submission_answers_the_same_for_members_and_strangers(
    person: Requester, clock: FakeClock
) -> None:
    answers = []
    for email in (ALICE, STRANGER):
        first = person.registry.submit(RequestForm(kind="objection", email=email, country="DE"))
        clock.advance(minutes=2)  # past the cooldown between codes
        again = person.registry.submit(RequestForm(kind="objection", email=email, country="DE"))
        assert first.request_id != again.request_id  # a new request: none is handed over
        answers.append((first.message, again.message))
    assert answers[0] == answers[1]


def test_rate_limits_answer_the_same_for_members_and_strangers(registry: Registry) -> None:
    errors = []
    for email in (ALICE, STRANGER):
        registry.submit(RequestForm(kind="objection", email=email, country="DE"))
        with pytest.raises(RateLimited) as caught:
            registry.submit(RequestForm(kind="erasure", email=email, country="DE"))
        errors.append((caught.value.message, caught.value.retry_after, caught.value.http_status))
    assert errors[0] == errors[1]


def test_wrong_codes_answer_the_same_for_members_and_strangers(person: Requester) -> None:
    from notrain.errors import CodeWrong

    errors = []
    for email in (ALICE, STRANGER):
        request_id = person.submit(email)
        code = person.code(email)
        with pytest.raises(CodeWrong) as caught:
            person.registry.verify(request_id, f"{(int(code) + 1) % 1_000_000:06d}")
        errors.append((caught.value.message, caught.value.http_status))
    assert errors[0] == errors[1]
