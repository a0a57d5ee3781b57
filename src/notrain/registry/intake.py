"""Taking requests in: submit, resend a code, verify it, and route the verified request.

Each function is one step in its own transaction (see :func:`step`): it either happens
whole, audit events and queued mail included, or not at all. Nothing a requester sees
before verifying the code depends on whether the address belongs to an account.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import RequestNotFound, RequestStateError, VerificationFailed
from notrain.mail.queue import enqueue
from notrain.registry import audit, notices, verification
from notrain.registry.accounts import AccountDirectory
from notrain.registry.config import RegistryConfig
from notrain.registry.deadlines import due_at
from notrain.registry.forms import CleanRequest
from notrain.registry.models import Request, RequestIdentifier, RequestSubject
from notrain.registry.queue import email_hash
from notrain.registry.states import AUTO_ACCEPTED_KINDS, RequestKind, RequestState, transition
from notrain.registry.views import Outcome, Receipt

# A request counts as pending (and a repeated submission returns it) until it is decided.
PENDING_STATES = (RequestState.SUBMITTED, RequestState.VERIFIED, RequestState.NEEDS_REVIEW)


@contextmanager
def step(session: Session) -> Iterator[None]:
    """One transaction: commit when the block ends, roll back if it raises."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def new_request_id() -> str:
    return "req-" + secrets.token_hex(8)


def load(session: Session, request_id: str, *, lock: bool = False) -> Request:
    stmt = select(Request).where(Request.id == request_id)
    if lock:
        stmt = stmt.with_for_update()
    request = session.scalars(stmt).first()
    if request is None:
        raise RequestNotFound(f"no request {request_id!r}")
    return request


def _pending_duplicate(session: Session, clean: CleanRequest) -> Request | None:
    return session.scalars(
        select(Request)
        .where(
            Request.fingerprint == clean.fingerprint,
            Request.state.in_([s.value for s in PENDING_STATES]),
        )
        .order_by(Request.received_at.desc())
        .limit(1)
    ).first()


def create(
    session: Session,
    config: RegistryConfig,
    clean: CleanRequest,
    *,
    now: datetime,
    source: str,
    actor: str,
    received_at: datetime | None = None,
    send_code: bool = True,
    rate_limit: bool = True,
) -> tuple[Request, bool]:
    """Add a request in the caller's transaction; returns it and whether it is new.

    A pending request with the same content is returned instead of a new one. A new
    request gets a code mail queued, within the address's cooldown and hourly cap.
    """
    existing = _pending_duplicate(session, clean)
    if existing is not None:
        audit.record(
            session,
            at=now,
            actor=actor,
            action="resubmitted",
            request_id=existing.id,
            source=source,
        )
        return existing, False
    if send_code and rate_limit:
        verification.check_rate(session, config.codes, clean.email, now)
    received = received_at or now
    request = Request(
        id=new_request_id(),
        kind=clean.kind.value,
        state=RequestState.SUBMITTED.value,
        email=clean.email,
        handle=clean.handle,
        country=clean.country,
        note=clean.note,
        fingerprint=clean.fingerprint,
        source=source,
        received_at=received,
        due_at=due_at(received),
        extended_months=0,
        email_hash=email_hash(config.secret_key, clean.email),
        identifiers=[RequestIdentifier(kind=i.kind, value=i.value) for i in clean.identifiers],
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="submitted",
        request_id=request.id,
        kind=request.kind,
        country=request.country,
        source=source,
        received_at=received.isoformat(),
        due_at=request.due_at.isoformat(),
    )
    if send_code:
        queue_code(session, request, now)
    return request, True


def queue_code(session: Session, request: Request, now: datetime) -> None:
    enqueue(
        session,
        to=request.email,
        template=notices.VERIFICATION,
        params={},
        now=now,
        request_id=request.id,
    )


def submit(
    session: Session, config: RegistryConfig, clean: CleanRequest, *, now: datetime, source: str
) -> Receipt:
    with step(session):
        request, _ = create(session, config, clean, now=now, source=source, actor="requester")
    return Receipt(request.id)


def resend(session: Session, config: RegistryConfig, request_id: str, *, now: datetime) -> Receipt:
    with step(session):
        request = load(session, request_id, lock=True)
        if request.state != RequestState.SUBMITTED:
            raise RequestStateError(f"request {request_id} is already verified; no code is needed")
        verification.check_rate(session, config.codes, request.email, now)
        queue_code(session, request, now)
        audit.record(
            session, at=now, actor="requester", action="code_requested", request_id=request.id
        )
    return Receipt(request.id)


def verify(
    session: Session,
    config: RegistryConfig,
    accounts: AccountDirectory,
    request_id: str,
    code: str,
    *,
    now: datetime,
) -> Outcome:
    failure: VerificationFailed | None = None
    with step(session):
        request = load(session, request_id, lock=True)
        if request.state != RequestState.SUBMITTED:
            raise RequestStateError(f"request {request_id} is already verified")
        failure = verification.check(session, config.secret_key, config.codes, request, code, now)
        if failure is None:
            transition(session, request, RequestState.VERIFIED, at=now, actor="requester")
            route(session, request, accounts, now=now, actor="system")
        else:
            audit.record(
                session, at=now, actor="requester", action="code_failed",
                request_id=request.id, error=type(failure).__name__,
            )  # fmt: skip
    if failure is not None:
        raise failure
    return Outcome(
        request_id=request.id,
        state=request.state,
        due_at=request.due_at,
        message=_outcome_message(request),
    )


def _outcome_message(request: Request) -> str:
    if request.state == RequestState.ACCEPTED:
        return "Verified and accepted. A confirmation is on its way by e-mail."
    return (
        "Verified. A person will look at your request and answer by "
        f"{request.due_at.date().isoformat()} at the latest."
    )


def route(
    session: Session, request: Request, accounts: AccountDirectory, *, now: datetime, actor: str
) -> None:
    """Match a verified request to accounts, then accept it or put it to review.

    Every account with the verified address is covered. A handle that is not one of those
    accounts, identifiers beyond the address, a requester without an account, or a kind
    that needs a person (consent, access, erasure) send the request to review.
    """
    by_email = accounts.by_email(request.email)
    by_handle = accounts.by_handle(request.handle) if request.handle else None
    request.subjects = [RequestSubject(subject_id=uid, matched_by="email") for uid in by_email]
    if by_handle is not None and by_handle not in by_email:
        request.subjects.append(RequestSubject(subject_id=by_handle, matched_by="handle"))
    request.member = bool(by_email)
    reasons: list[str] = []
    if not by_email:
        reasons.append("no account has this address")
    if request.handle and by_handle not in by_email:
        reasons.append("the handle is not an account with this address")
    if any(i.kind != "email" or i.value != request.email for i in request.identifiers):
        reasons.append("identifiers beyond the address")
    kind = RequestKind(request.kind)
    if kind not in AUTO_ACCEPTED_KINDS:
        reasons.append(f"{kind.value} requests are decided by a person")
    session.flush()
    if reasons:
        transition(
            session, request, RequestState.NEEDS_REVIEW, at=now, actor=actor,
            reason="; ".join(reasons), subjects=len(request.subjects),
        )  # fmt: skip
        template = notices.REVIEW
    else:
        transition(
            session, request, RequestState.ACCEPTED, at=now, actor=actor,
            reason="verified member", subjects=len(request.subjects),
        )  # fmt: skip
        template = notices.ACCEPTED
    enqueue(session, to=request.email, template=template, params={}, now=now, request_id=request.id)
