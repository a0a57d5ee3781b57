"""Taking requests in: submit, resend a code, verify it, and route the verified request.

Each function is one step in its own transaction (see :func:`step`): it either happens
whole, audit events and queued mail included, or not at all. Nothing a requester sees
before verifying the code depends on whether the address belongs to an account, nor on
whether a request for it exists: every submission is a new request with its own code, and
only whoever enters that code reaches a request (a verified duplicate of a pending request
is merged into it then, and its requester gets the pending request's status token).
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
from notrain.registry import audit, notices, status_tokens, verification
from notrain.registry.accounts import AccountDirectory
from notrain.registry.config import RegistryConfig
from notrain.registry.deadlines import due_at
from notrain.registry.forms import CleanRequest
from notrain.registry.models import Request, RequestIdentifier, RequestSubject
from notrain.registry.queue import email_hash
from notrain.registry.states import AUTO_ACCEPTED_KINDS, RequestKind, RequestState, transition
from notrain.registry.views import REVIEW_REASONS, Outcome, Receipt, beyond_address

# A request counts as pending until it is decided: an import of the same content returns
# it, and a verified duplicate is merged into it (only verified ones: an unverified request
# may be a stranger's).
PENDING_STATES = (RequestState.SUBMITTED, RequestState.VERIFIED, RequestState.NEEDS_REVIEW)
MERGE_STATES = (RequestState.VERIFIED, RequestState.NEEDS_REVIEW)


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


def _pending_duplicate(
    session: Session,
    fingerprint: str,
    states: tuple[RequestState, ...],
    *,
    other_than: str | None = None,
    lock: bool = False,
) -> Request | None:
    stmt = select(Request).where(
        Request.fingerprint == fingerprint, Request.state.in_([s.value for s in states])
    )
    if other_than is not None:
        stmt = stmt.where(Request.id != other_than)
    stmt = stmt.order_by(Request.received_at.desc(), Request.id).limit(1)
    return session.scalars(stmt.with_for_update() if lock else stmt).first()


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
    merge_pending: bool = False,
    client: str | None = None,
) -> tuple[Request, bool]:
    """Add a request in the caller's transaction; returns it and whether it is new.

    A new request gets a code mail queued, within the limits of :func:`verification.
    check_rate`. Only an officer's import (``merge_pending``) gets a pending request with the
    same content back instead: a requester's submission never learns of another request.
    """
    if merge_pending:
        existing = _pending_duplicate(session, clean.fingerprint, PENDING_STATES)
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
    client_key = verification.client_key(config.secret_key, client) if client else None
    if send_code and rate_limit:
        verification.check_rate(session, config.codes, clean.email, client_key, now)
    received = received_at or now
    request = Request(
        id=new_request_id(),
        kind=clean.kind.value,
        state=RequestState.SUBMITTED.value,
        email=clean.email,
        handle=clean.handle,
        country=clean.country,
        language=clean.language,
        note=clean.note,
        fingerprint=clean.fingerprint,
        source=source,
        client_key=client_key,
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
    session: Session,
    config: RegistryConfig,
    clean: CleanRequest,
    *,
    now: datetime,
    source: str,
    client: str | None = None,
) -> Receipt:
    with step(session):
        request, _ = create(
            session, config, clean, now=now, source=source, actor="requester", client=client
        )
    return Receipt(request.id)


def resend(session: Session, config: RegistryConfig, request_id: str, *, now: datetime) -> Receipt:
    with step(session):
        request = load(session, request_id, lock=True)
        if request.state != RequestState.SUBMITTED or request.merged_into:
            raise RequestStateError(f"request {request_id} is already verified; no code is needed")
        verification.check_rate(session, config.codes, request.email, request.client_key, now)
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
    """Check the code; on success the request (or the pending one it duplicates) is the
    requester's, and the outcome carries its status token."""
    failure: VerificationFailed | None = None
    token = ""
    with step(session):
        request = load(session, request_id, lock=True)
        if request.state != RequestState.SUBMITTED or request.merged_into:
            raise RequestStateError(f"request {request_id} is already verified")
        verification.admit(session, config.codes, now)
        failure = verification.check(session, config.secret_key, config.codes, request, code, now)
        if failure is None:
            request = _merge_or_route(session, request, accounts, now=now)
            token = status_tokens.issue(config.secret_key, request)
        else:
            verification.count_failure(session, now)
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
        status_token=token,
    )


def _merge_or_route(
    session: Session, request: Request, accounts: AccountDirectory, *, now: datetime
) -> Request:
    """The verified request: ``request`` itself, routed, or the verified pending request
    with the same content, which ``request`` is merged into (it stays unverified, and no
    code opens it again)."""
    existing = _pending_duplicate(
        session, request.fingerprint, MERGE_STATES, other_than=request.id, lock=True
    )
    if existing is None:
        transition(session, request, RequestState.VERIFIED, at=now, actor="requester")
        route(session, request, accounts, now=now, actor="system")
        return request
    request.merged_into = existing.id
    audit.record(
        session, at=now, actor="requester", action="merged", request_id=request.id,
        into=existing.id,
    )  # fmt: skip
    audit.record(
        session, at=now, actor="requester", action="resubmitted", request_id=existing.id,
        duplicate=request.id,
    )  # fmt: skip
    return existing


def check_token(session: Session, key: bytes, request_id: str, token: str | None) -> Request:
    """The request ``token`` opens; a wrong or missing token is told apart from an unknown
    request by nothing (the same error, the same message)."""
    request = session.scalars(select(Request).where(Request.id == request_id)).first()
    if request is None or not status_tokens.matches(key, request, token):
        raise RequestNotFound(f"no request {request_id!r}")
    return request


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
    review: list[str] = []  # the reasons' codes (views.REVIEW_REASONS), for the console
    if not by_email:
        review.append("no_account")
    if request.handle and by_handle not in by_email:
        review.append("handle_elsewhere")
    if beyond_address(request):
        review.append("identifiers")
    kind = RequestKind(request.kind)
    if kind not in AUTO_ACCEPTED_KINDS:
        review.append("needs_person")
    session.flush()
    if review:
        reasons = [REVIEW_REASONS[code].format(kind=kind.value) for code in review]
        transition(
            session, request, RequestState.NEEDS_REVIEW, at=now, actor=actor,
            reason="; ".join(reasons), subjects=len(request.subjects), review=review,
        )  # fmt: skip
        template = notices.REVIEW
    else:
        transition(
            session, request, RequestState.ACCEPTED, at=now, actor=actor,
            reason="verified member", subjects=len(request.subjects),
        )  # fmt: skip
        template = notices.ACCEPTED
    enqueue(session, to=request.email, template=template, params={}, now=now, request_id=request.id)
