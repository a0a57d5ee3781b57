"""API keys of the platform's pipelines, which ask the portal whether an account objected.

A key carries scopes: ``status`` lets it read accounts' decisions (every key made before
scopes existed has it), ``submit`` lets the platform's own server make a member's request
(the member flipped "Don't use my content for AI training" in the platform's settings).

A key is ``ntk_`` and 43 URL-safe characters (256 random bits). It is shown once, when it
is made; the registry keeps only its sha256, which is enough for a key of that strength
(a slow hash protects guessable passwords, not random keys) and lets a request be checked
with one indexed lookup. Making and revoking a key are audit events.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import (
    AuthenticationFailed,
    RequestInvalid,
    RequestNotFound,
    ScopeMissing,
    UserError,
)
from notrain.registry import audit
from notrain.registry.intake import step
from notrain.registry.models import ApiKey

KEY_PREFIX = "ntk_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_KEY = re.compile(r"^ntk_[A-Za-z0-9_-]{43}$")
SCOPES = ("status", "submit")
DEFAULT_SCOPES = ("status",)


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str
    prefix: str  # the first characters, to tell keys apart in logs and lists
    created_at: datetime
    revoked_at: datetime | None
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    @property
    def actor(self) -> str:
        """How the audit trail names what this key did."""
        return f"api_key:{self.name}"


def require_scope(key: ApiKeyView, scope: str) -> None:
    """Refuse (403) a call its key was not made for."""
    if scope not in key.scopes:
        raise ScopeMissing(f"the API key {key.name!r} lacks the {scope!r} scope")


def _scopes(scopes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(s.strip().lower() for s in scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise RequestInvalid("scope", f"{', '.join(unknown) or 'none'}: scopes are {SCOPES}")
    return tuple(s for s in SCOPES if s in wanted)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _view(row: ApiKey) -> ApiKeyView:
    scopes = tuple((row.scopes or "status").split())
    return ApiKeyView(row.id, row.name, row.prefix, row.created_at, row.revoked_at, scopes)


def create_api_key(
    session: Session,
    name: str,
    *,
    now: datetime,
    actor: str,
    scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
) -> tuple[ApiKeyView, str]:
    """A new key named ``name``; returns it with the key in clear, which is not kept."""
    name = name.strip().lower()
    if not _NAME.match(name):
        raise RequestInvalid("name", "2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    granted = _scopes(scopes)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with step(session):
        if session.scalars(select(ApiKey).where(ApiKey.name == name)).first():
            raise UserError(f"API key {name!r} exists already")
        row = ApiKey(
            name=name,
            prefix=key[:12],
            key_hash=key_hash(key),
            created_at=now,
            scopes=" ".join(granted),
        )
        session.add(row)
        session.flush()
        audit.record(
            session, at=now, actor=actor, action="api_key_created", name=name,
            prefix=row.prefix, scopes=list(granted),
        )  # fmt: skip
    return _view(row), key


def revoke_api_key(session: Session, name: str, *, now: datetime, actor: str) -> ApiKeyView:
    with step(session):
        row = session.scalars(select(ApiKey).where(ApiKey.name == name.strip().lower())).first()
        if row is None:
            raise RequestNotFound(f"no API key {name!r}")
        if row.revoked_at is None:
            row.revoked_at = now
            audit.record(session, at=now, actor=actor, action="api_key_revoked", name=row.name)
    return _view(row)


def list_api_keys(session: Session) -> list[ApiKeyView]:
    with step(session):
        return [_view(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.name))]


def authenticate_api_key(session: Session, key: str) -> ApiKeyView:
    """The key's record if it is known and not revoked; one error for every failure."""
    if not _KEY.match(key):
        raise AuthenticationFailed("a valid API key is required")
    with step(session):
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash(key))).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationFailed("a valid API key is required")
    return _view(row)
