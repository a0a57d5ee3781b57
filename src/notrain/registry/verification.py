"""E-mail verification codes: six digits, kept only as a keyed hash, tried a few times.

A code is drawn from ``secrets`` over all of 000000 to 999999 and stored as
HMAC-SHA256(secret key, request id ‖ code): a copy of the database alone does not let
anyone try the million codes offline. Codes are compared in constant time, expire after
``ttl``, allow ``max_attempts`` tries, and a new code supersedes the old. How often codes
may be sent to one address (a cooldown and an hourly cap) is counted on the mail queue,
whoever the address belongs to, so the limits say nothing about accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from notrain.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeWrong,
    RateLimited,
    VerificationFailed,
)
from notrain.registry.models import QueuedMail, Request, VerificationCode

CODE_TEMPLATE = "verification_code"
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class CodePolicy:
    ttl: timedelta = timedelta(minutes=15)
    max_attempts: int = 5
    resend_cooldown: timedelta = timedelta(seconds=60)
    hourly_cap: int = 5


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(key: bytes, request_id: str, code: str) -> str:
    return hmac.new(key, f"{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(session: Session, key: bytes, policy: CodePolicy, request: Request, now: datetime) -> str:
    """Make a new code for ``request`` (superseding any earlier one); return it in clear.

    The clear code goes into the message being sent and nowhere else.
    """
    session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.request_id == request.id,
            VerificationCode.used_at.is_(None),
            VerificationCode.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
    code = new_code()
    session.add(
        VerificationCode(
            request_id=request.id,
            email=request.email,
            code_hash=code_hash(key, request.id, code),
            created_at=now,
            expires_at=now + policy.ttl,
            attempts=0,
        )
    )
    session.flush()
    return code


def check_rate(session: Session, policy: CodePolicy, email: str, now: datetime) -> None:
    """Refuse another code to ``email`` if one went out too recently or too often this hour."""
    since = now - _HOUR
    rows = session.execute(
        select(
            func.count(), func.min(QueuedMail.created_at), func.max(QueuedMail.created_at)
        ).where(
            QueuedMail.to_address == email,
            QueuedMail.template == CODE_TEMPLATE,
            QueuedMail.created_at > since,
        )
    ).one()
    count, oldest, latest = int(rows[0]), rows[1], rows[2]
    if latest is not None and latest + policy.resend_cooldown > now:
        wait = _seconds(latest + policy.resend_cooldown - now)
        raise RateLimited(f"a code was sent moments ago; ask again in {wait} s", retry_after=wait)
    if count >= policy.hourly_cap and oldest is not None:
        wait = _seconds(oldest + _HOUR - now)
        raise RateLimited(
            f"{policy.hourly_cap} codes were sent to this address within the hour; "
            f"ask again in {wait} s",
            retry_after=wait,
        )


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def _normalise(code: str) -> str | None:
    digits = "".join(code.split())
    return digits if len(digits) == 6 and digits.isascii() and digits.isdigit() else None


def check(
    session: Session,
    key: bytes,
    policy: CodePolicy,
    request: Request,
    code: str,
    now: datetime,
) -> VerificationFailed | None:
    """Try ``code`` against the request's current code; None when it verifies.

    A failure is returned rather than raised, so the caller can commit the used attempt
    before raising it: a wrong guess must count even though the step fails.
    """
    current = session.scalars(
        select(VerificationCode)
        .where(
            VerificationCode.request_id == request.id,
            VerificationCode.used_at.is_(None),
            VerificationCode.superseded_at.is_(None),
        )
        .order_by(VerificationCode.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if current is None:
        return VerificationFailed("no code is waiting for this request; ask for a new one")
    if now >= current.expires_at:
        return CodeExpired("the code has expired; ask for a new one")
    if current.attempts >= policy.max_attempts:
        return CodeAttemptsExhausted("too many wrong attempts on this code; ask for a new one")
    digits = _normalise(code)
    current.attempts += 1
    expected = current.code_hash
    given = code_hash(key, request.id, digits) if digits else "-" * len(expected)
    if not hmac.compare_digest(given, expected):
        return CodeWrong(policy.max_attempts - current.attempts)
    current.used_at = now
    return None
