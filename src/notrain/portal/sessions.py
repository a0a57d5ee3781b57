"""Console sessions of privacy officers, kept in the registry database.

The browser holds a random token in an HttpOnly, SameSite=Strict cookie (Secure and
``__Host-`` unless turned off for plain-HTTP tests); the database holds only its sha256,
who it belongs to and when it ends. A session ends after ``NOTRAIN_PORTAL_SESSION_MINUTES``
idle or ``NOTRAIN_PORTAL_SESSION_MAX_HOURS`` after sign-in, and at sign-out. Signing in
always makes a new token and ends the one the browser came with, so a token planted before
sign-in (session fixation) is worth nothing after it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notrain.errors import NotSignedIn
from notrain.portal.security import new_token
from notrain.registry.intake import step
from notrain.registry.models import ConsoleSession

COOKIE = "notrain_session"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SignedIn:
    officer: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session, officer: str, policy: SessionPolicy, *, now: datetime, replaces: str | None
) -> str:
    """A new session for ``officer``; the token the browser came with (if any) is ended."""
    token = new_token()
    with step(session):
        if replaces:
            _revoke(session, replaces, now)
        session.add(
            ConsoleSession(
                token_hash=_hash(token),
                officer=officer,
                created_at=now,
                last_seen_at=now,
                expires_at=now + min(policy.idle, policy.absolute),
            )
        )
    return token


def resume(
    session: Session, token: str | None, policy: SessionPolicy, *, now: datetime
) -> SignedIn:
    """The officer of a live session, its idle time restarted; :class:`NotSignedIn` else."""
    if not token or len(token) > 128:
        raise NotSignedIn("sign in to use the console")
    with step(session):
        row = session.scalars(
            select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token))
        ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise NotSignedIn("your session has ended; sign in again")
        row.last_seen_at = now
        row.expires_at = min(now + policy.idle, row.created_at + policy.absolute)
        return SignedIn(row.officer, row.expires_at)


def end(session: Session, token: str | None, *, now: datetime) -> None:
    if not token:
        return
    with step(session):
        _revoke(session, token, now)


def _revoke(session: Session, token: str, now: datetime) -> None:
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == _hash(token), ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
