"""What the privacy officer does with a request: decide it, extend its deadline, apply it.

Each function is one step (one transaction), audited with the officer's name as actor,
and queues the message the requester is owed: the decision, the rejection's reason with
the right to complain (Art. 12(4)), or the extension's reason and new date (Art. 12(3)).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from notrain.errors import RequestInvalid, RequestStateError
from notrain.mail.queue import enqueue
from notrain.registry import deadlines, notices
from notrain.registry.intake import load, step
from notrain.registry.models import REASON_MAX, Request
from notrain.registry.states import RequestKind, RequestState, transition


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise RequestInvalid("reason", "a rejection needs a reason, which the requester is told")
    if len(text) > REASON_MAX:
        raise RequestInvalid("reason", f"longer than {REASON_MAX} characters")
    return text or None


def decide(
    session: Session,
    request_id: str,
    *,
    accept: bool,
    officer: str,
    reason: str | None,
    now: datetime,
) -> Request:
    """Accept or reject a verified request or one in review."""
    text = _reason(reason, required=not accept)
    with step(session):
        request = load(session, request_id, lock=True)
        if request.state not in (RequestState.VERIFIED, RequestState.NEEDS_REVIEW):
            raise RequestStateError(
                f"request {request_id} is {request.state}; only verified requests and requests "
                "in review can be decided"
            )
        to = RequestState.ACCEPTED if accept else RequestState.REJECTED
        transition(session, request, to, at=now, actor=f"officer:{officer}", reason=text)
        params = {} if accept else {"reason": text}
        template = notices.ACCEPTED if accept else notices.REJECTED
        enqueue(
            session,
            to=request.email,
            template=template,
            params=params,
            now=now,
            request_id=request.id,
        )
    return request


def extend(
    session: Session, request_id: str, *, months: int, reason: str, officer: str, now: datetime
) -> Request:
    """Extend the deadline by one or two months, telling the requester why."""
    with step(session):
        request = load(session, request_id, lock=True)
        deadlines.extend(session, request, months, reason, at=now, actor=f"officer:{officer}")
        enqueue(
            session, to=request.email, template=notices.EXTENDED,
            params={"reason": request.extension_reason}, now=now, request_id=request.id,
        )  # fmt: skip
    return request


def apply(
    session: Session, request_id: str, *, actor: str, answer: str | None, now: datetime
) -> Request:
    """Mark an accepted request as in effect; an access request is answered with ``answer``.

    Objections, consents, withdrawals and erasures are applied by the registry export
    that writes them into a snapshot; this is for the rest (and for the record).
    """
    text = (answer or "").strip()
    with step(session):
        request = load(session, request_id, lock=True)
        if request.kind == RequestKind.ACCESS and not text:
            raise RequestInvalid("answer", "an access request is applied by sending its answer")
        transition(session, request, RequestState.APPLIED, at=now, actor=actor)
        if text:
            enqueue(
                session, to=request.email, template=notices.ANSWERED,
                params={"answer": text}, now=now, request_id=request.id,
            )  # fmt: skip
    return request
