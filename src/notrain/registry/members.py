"""Requests of members the platform vouches for: no form, no code, one click.

A member who signed in with the platform's OpenID provider, or whose request the platform's
own server sends with an API key (the member flipped "Don't use my content for AI
training" in its settings), is already verified: the platform proved who they are. Their
request is made for exactly that account and verified at once, then decided by the usual
rule: an objection and a withdrawal (of an objection or of consent) are accepted at once,
consent, access and erasure go to a person. The confirmation goes to the account's address.

The same call made again returns the request it made (a pending one with the same account
and kind, or the one an earlier call with the same idempotency key made), so a retried
call never makes two requests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notrain.errors import IdempotencyConflict, NotAMember, RequestInvalid
from notrain.mail.queue import enqueue
from notrain.registry import audit, notices, status_tokens
from notrain.registry.accounts import Account, AccountDirectory, AccountIndex
from notrain.registry.deadlines import due_at
from notrain.registry.forms import normalise_kind
from notrain.registry.intake import PENDING_STATES, new_request_id, step
from notrain.registry.models import IdempotencyKey, Request, RequestIdentifier, RequestSubject
from notrain.registry.states import AUTO_ACCEPTED_KINDS, RequestKind, RequestState, transition

SIGNIN = "signin"  # the source of a request made after the platform's OpenID sign-in
PLATFORM = "platform"  # the source of a request the platform's server sent
UNKNOWN_COUNTRY = "ZZ"  # ISO 3166's code for an unknown country, when the file has none


@dataclass(frozen=True)
class MemberReceipt:
    request_id: str
    kind: str
    state: str
    due_at: datetime
    created: bool  # False when an earlier identical call's request is returned
    status_token: str | None = None  # set by the registry, which holds the key


@dataclass(frozen=True)
class Idempotency:
    """The caller's key for one call, per API key that made it."""

    api_key_id: int
    key: str


def account_of(accounts: AccountDirectory, user_id: int) -> Account | None:
    return accounts.account(user_id) if isinstance(accounts, AccountIndex) else None


def _fingerprint(user_id: int, kind: RequestKind) -> str:
    return hashlib.sha256(json.dumps(["member", kind.value, user_id]).encode()).hexdigest()


def _receipt(request: Request, created: bool) -> MemberReceipt:
    return MemberReceipt(request.id, request.kind, request.state, request.due_at, created)


def submit(
    session: Session,
    accounts: AccountDirectory,
    user_id: int,
    kind: str,
    *,
    now: datetime,
    source: str,
    actor: str,
    evidence: dict[str, str] | None = None,
    idempotency: Idempotency | None = None,
) -> MemberReceipt:
    """Make (or find again) ``kind`` for the account ``user_id``, verified and routed."""
    request_kind = normalise_kind(kind)
    account = account_of(accounts, user_id)
    if account is None:
        raise NotAMember(f"no account {user_id} in the platform's accounts")
    if not account.email:
        raise RequestInvalid(
            "email", f"account {user_id} has no e-mail address to confirm the request to"
        )
    fingerprint = _fingerprint(user_id, request_kind)
    try:
        with step(session):
            return _submit(
                session, account, request_kind, fingerprint, now=now, source=source,
                actor=actor, evidence=evidence or {}, idempotency=idempotency,
            )  # fmt: skip
    except IntegrityError:
        if idempotency is None:
            raise
        # Another call with the same key committed first: answer with its request.
        with step(session):
            found = _replayed(session, idempotency, fingerprint)
        if found is None:
            raise
        return found


def _replayed(session: Session, idempotency: Idempotency, fingerprint: str) -> MemberReceipt | None:
    row = session.scalars(
        select(IdempotencyKey).where(
            IdempotencyKey.api_key_id == idempotency.api_key_id,
            IdempotencyKey.key == idempotency.key,
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was used for a different request")
    request = session.scalars(select(Request).where(Request.id == row.request_id)).one()
    return _receipt(request, created=False)


def _submit(
    session: Session,
    account: Account,
    kind: RequestKind,
    fingerprint: str,
    *,
    now: datetime,
    source: str,
    actor: str,
    evidence: dict[str, str],
    idempotency: Idempotency | None,
) -> MemberReceipt:
    if idempotency is not None:
        replayed = _replayed(session, idempotency, fingerprint)
        if replayed is not None:
            return replayed
    pending = session.scalars(
        select(Request)
        .where(
            Request.fingerprint == fingerprint,
            Request.state.in_([s.value for s in PENDING_STATES]),
        )
        .limit(1)
    ).first()
    if pending is not None:
        audit.record(
            session, at=now, actor=actor, action="resubmitted", request_id=pending.id,
            source=source,
        )  # fmt: skip
        request, created = pending, False
    else:
        request, created = _create(session, account, kind, fingerprint, now, source, actor), True
        _verify_and_route(session, request, account, kind, now, source, actor, evidence)
    if idempotency is not None:
        session.add(
            IdempotencyKey(
                api_key_id=idempotency.api_key_id,
                key=idempotency.key,
                fingerprint=fingerprint,
                request_id=request.id,
                created_at=now,
            )
        )
        session.flush()
    return _receipt(request, created)


def _create(
    session: Session,
    account: Account,
    kind: RequestKind,
    fingerprint: str,
    now: datetime,
    source: str,
    actor: str,
) -> Request:
    assert account.email is not None
    email = account.email.strip().lower()
    request = Request(
        id=new_request_id(),
        kind=kind.value,
        state=RequestState.SUBMITTED.value,
        email=email,
        handle=account.handle.lower(),
        country=(account.country or UNKNOWN_COUNTRY).upper(),
        note=None,
        fingerprint=fingerprint,
        source=source,
        received_at=now,
        due_at=due_at(now),
        extended_months=0,
        identifiers=[RequestIdentifier(kind="email", value=email)],
    )
    session.add(request)
    session.flush()
    audit.record(
        session, at=now, actor=actor, action="submitted", request_id=request.id,
        kind=request.kind, country=request.country, source=source,
        received_at=now.isoformat(), due_at=request.due_at.isoformat(),
    )  # fmt: skip
    return request


def _verify_and_route(
    session: Session,
    request: Request,
    account: Account,
    kind: RequestKind,
    now: datetime,
    source: str,
    actor: str,
    evidence: dict[str, str],
) -> None:
    """The platform's word is the verification; the account is the one it named."""
    transition(
        session, request, RequestState.VERIFIED, at=now, actor=actor,
        method=source, subject_id=account.user_id, **evidence,
    )  # fmt: skip
    request.subjects = [RequestSubject(subject_id=account.user_id, matched_by=source[:8])]
    request.member = True
    status_tokens.prepare(request)  # verified: its token opens it from now on
    session.flush()
    if kind in AUTO_ACCEPTED_KINDS:
        transition(
            session, request, RequestState.ACCEPTED, at=now, actor="system",
            reason="verified member", subjects=1,
        )  # fmt: skip
        template = notices.ACCEPTED
    else:
        transition(
            session, request, RequestState.NEEDS_REVIEW, at=now, actor="system",
            reason=f"{kind.value} requests are decided by a person", subjects=1,
        )  # fmt: skip
        template = notices.REVIEW
    enqueue(session, to=request.email, template=template, params={}, now=now, request_id=request.id)
