"""Every transition of the request lifecycle, through the service, each one audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import RequestInvalid, RequestStateError
from notrain.registry import audit
from notrain.registry.models import AuditEvent, QueuedMail, Request
from notrain.registry.service import Registry
from notrain.registry.states import TRANSITIONS, RequestState, can_transition, transition
from tests.registry.fixtures import ALICE, BOB, STRANGER, FakeClock, Requester


def _transitions(session: Session, request_id: str) -> list[tuple[str, str, str]]:
    return [
        (d["from_state"], d["to_state"], e.actor)
        for e in audit.events_for(session, request_id)
        if e.action == "transition"
        for d in [audit.detail_of(e)]
    ]


def _mail(session: Session, request_id: str) -> list[str]:
    rows = session.scalars(
        select(QueuedMail.template)
        .where(QueuedMail.request_id == request_id)
        .order_by(QueuedMail.id)
    )
    return list(rows)


def test_member_objection_is_accepted_once_verified(person: Requester, session: Session) -> None:
    request_id = person.submit(ALICE)
    assert person.registry.get(request_id).state == "submitted"
    assert person.confirm(request_id, ALICE) == "accepted"
    assert _transitions(session, request_id) == [
        ("submitted", "verified", "requester"),
        ("verified", "accepted", "system"),
    ]
    view = person.registry.get(request_id)
    assert view.member is True
    assert view.subjects == [(1, "email"), (2, "email")]  # both accounts on the address
    assert _mail(session, request_id) == ["verification_code", "accepted"]


def test_consent_withdrawal_of_a_member_is_accepted_at_once(person: Requester) -> None:
    request_id = person.submit(BOB, kind="consent_withdrawal", country="FR")
    assert person.confirm(request_id, BOB) == "accepted"


@pytest.mark.parametrize(
    ("email", "extra", "why"),
    [
        (STRANGER, {}, "no account has this address"),
        (ALICE, {"handle": "bob"}, "the handle is not an account with this address"),
        (ALICE, {"handle": "nobody_here"}, "the handle is not an account with this address"),
        (ALICE, {"names": ["Alice Example"]}, "identifiers beyond the address"),
    ],
)
def test_non_members_and_mismatches_go_to_review(
    person: Requester, session: Session, email: str, extra: dict[str, Any], why: str
) -> None:
    request_id = person.submit(email, **extra)
    assert person.confirm(request_id, email) == "needs_review"
    events = [e for e in audit.events_for(session, request_id) if e.action == "transition"]
    assert events[-1].actor == "system"
    assert why in audit.detail_of(events[-1])["reason"]
    assert _mail(session, request_id)[-1] == "needs_review"


@pytest.mark.parametrize("kind", ["consent", "access", "erasure"])
def test_kinds_decided_by_a_person_go_to_review_even_for_members(
    person: Requester, kind: str
) -> None:
    request_id = person.submit(ALICE, kind=kind)
    assert person.confirm(request_id, ALICE) == "needs_review"


def test_review_then_accept_then_applied_by_export(
    person: Requester, session: Session, tmp_path: object
) -> None:
    from pathlib import Path

    request_id = person.request(STRANGER, names=["Dana Stranger"])
    view = person.registry.decide(request_id, accept=True, officer="olga")
    assert view.state == "accepted"
    assert view.decided_at is not None
    result = person.registry.export(Path(str(tmp_path)) / "snap.parquet")
    assert result.applied == [request_id]
    assert person.registry.get(request_id).state == "applied"
    assert _transitions(session, request_id)[-2:] == [
        ("needs_review", "accepted", "officer:olga"),
        ("accepted", "applied", "system:export"),
    ]


def test_review_then_reject_needs_a_reason_and_tells_the_right_to_complain(
    person: Requester,
) -> None:
    request_id = person.request(STRANGER)
    with pytest.raises(RequestInvalid, match="reason"):
        person.registry.decide(request_id, accept=False, officer="olga", reason="  ")
    assert person.registry.get(request_id).state == "needs_review"  # nothing half-written
    view = person.registry.decide(
        request_id, accept=False, officer="olga", reason="The address is a shared mailbox."
    )
    assert view.state == "rejected"
    assert view.decision_reason == "The address is a shared mailbox."
    person.registry.deliver_mail(person.outbox)
    texts = [p.read_text() for p in sorted(person.outbox.folder.glob("*.eml"))]
    rejection = next(t for t in texts if "not accepted" in t)
    assert "The address is a shared mailbox." in rejection
    assert "lodge a complaint" in rejection
    assert "Art. 12(4)" in rejection


def test_verified_request_can_be_rejected_directly(
    registry: Registry, session: Session, clock: FakeClock, person: Requester
) -> None:
    # Routing always moves on from verified; a request held at verified (as an import
    # could) may still be decided. Put one there through the state machine itself.
    request_id = person.submit(BOB, country="FR")
    request = session.get(Request, request_id)
    assert request is not None
    transition(session, request, RequestState.VERIFIED, at=clock(), actor="test")
    session.commit()
    view = registry.decide(request_id, accept=False, officer="olga", reason="duplicate")
    assert view.state == "rejected"
    assert _transitions(session, request_id)[-1] == ("verified", "rejected", "officer:olga")


def test_access_is_applied_by_its_answer(person: Requester, session: Session) -> None:
    request_id = person.request(ALICE, kind="access")
    person.registry.decide(request_id, accept=True, officer="olga")
    with pytest.raises(RequestInvalid, match="answer"):
        person.registry.apply(request_id, actor="officer:olga")
    view = person.registry.apply(
        request_id, actor="officer:olga", answer="Your posts 1-7 are in dataset ds-1."
    )
    assert view.state == "applied"
    assert _mail(session, request_id)[-1] == "answered"


def test_decided_requests_cannot_be_decided_again(person: Requester) -> None:
    request_id = person.request(ALICE)
    with pytest.raises(RequestStateError, match="is accepted"):
        person.registry.decide(request_id, accept=False, officer="olga", reason="no")
    with pytest.raises(RequestStateError, match="already verified"):
        person.registry.verify(request_id, "000000")


def test_unverified_requests_cannot_be_decided(person: Requester) -> None:
    request_id = person.submit(ALICE)
    with pytest.raises(RequestStateError, match="is submitted"):
        person.registry.decide(request_id, accept=True, officer="olga")


def test_state_machine_allows_exactly_the_documented_transitions(
    person: Requester, session: Session, clock: FakeClock
) -> None:
    documented = {
        ("submitted", "verified"),
        ("verified", "accepted"),
        ("verified", "rejected"),
        ("verified", "needs_review"),
        ("needs_review", "accepted"),
        ("needs_review", "rejected"),
        ("accepted", "applied"),
    }
    allowed = {(a.value, b.value) for a, tos in TRANSITIONS.items() for b in tos}
    assert allowed == documented
    request_id = person.submit(ALICE)
    request = session.get(Request, request_id)
    assert request is not None
    before = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    for state in RequestState:
        for to in RequestState:
            if not can_transition(state, to):
                request.state = state.value
                with pytest.raises(RequestStateError):
                    transition(session, request, to, at=clock(), actor="test")
    session.rollback()
    after = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    assert after == before  # a refused transition leaves no event
