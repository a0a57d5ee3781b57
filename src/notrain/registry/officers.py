"""Privacy officers who sign in to the console: names and argon2id password hashes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import AuthenticationFailed, RequestInvalid, UserError
from notrain.registry import audit
from notrain.registry.intake import step
from notrain.registry.models import Officer

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so both failures take the same time."""
    return _hasher.hash("not a password of anyone")


def normalise_username(username: str) -> str:
    """The name as it is stored and looked up; the sign-in limit counts this too, so no
    spelling of a name (spaces around it, capitals) gets a budget of its own."""
    return username.strip().lower()


@dataclass(frozen=True)
class OfficerView:
    id: int
    username: str
    created_at: datetime


def create_officer(
    session: Session, username: str, password: str, *, now: datetime, actor: str
) -> OfficerView:
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise RequestInvalid(
            "username", "2-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise RequestInvalid("password", f"at least {MIN_PASSWORD} characters")
    with step(session):
        if session.scalars(select(Officer).where(Officer.username == name)).first():
            raise UserError(f"officer {name!r} exists already")
        officer = Officer(
            username=name, password_hash=_hasher.hash(password), created_at=now, disabled=False
        )
        session.add(officer)
        session.flush()
        audit.record(session, at=now, actor=actor, action="officer_created", username=name)
    return OfficerView(officer.id, officer.username, officer.created_at)


def authenticate(session: Session, username: str, password: str) -> OfficerView:
    """The officer, if the password is right; one error for every kind of failure."""
    with step(session):
        officer = session.scalars(
            select(Officer).where(Officer.username == normalise_username(username))
        ).first()
        stored = officer.password_hash if officer and not officer.disabled else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            officer = None
        if officer is None or officer.disabled:
            raise AuthenticationFailed("wrong name or password")
        if _hasher.check_needs_rehash(officer.password_hash):
            officer.password_hash = _hasher.hash(password)
    return OfficerView(officer.id, officer.username, officer.created_at)
