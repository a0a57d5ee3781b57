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
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
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
REMINDER_TEMPLATE = "code_reminder"  # a reminder carries a code too, and counts as one
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CodePolicy:
    ttl: timedelta = timedelta(minutes=15)
    max_attempts: int = 5
    resend_cooldown: timedelta = timedelta(seconds=60)
    hourly_cap: int = 5
    daily_cap: int = 10


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(key: bytes, request_id: str, code: str) -> str:
    return hmac.new(key, f"{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


class CodeIssuer:
    """Codes for one batch of messages: made as each is rendered, kept once it is sent.

    The clear code goes into the message being sent and nowhere else. Its keyed hash is
    added, and the request's earlier codes superseded, by the ``store`` callback the queue
    calls after the message went out; a message that fails leaves the earlier code valid.
    The requests must be locked by the caller, so no other step changes their codes
    meanwhile (and a verification waits until the batch is committed).
    """

    def __init__(
        self,
        session: Session,
        key: bytes,
        policy: CodePolicy,
        request_ids: Iterable[str],
        now: datetime,
    ) -> None:
        self._key = key
        self._policy = policy
        self._now = now
        self._active: dict[str, list[VerificationCode]] = defaultdict(list)
        ids = sorted(set(request_ids))
        if ids:
            for row in session.scalars(
                select(VerificationCode).where(
                    VerificationCode.request_id.in_(ids),
                    VerificationCode.used_at.is_(None),
                    VerificationCode.superseded_at.is_(None),
                )
            ):
                self._active[row.request_id].append(row)

    def issue(self, request: Request) -> tuple[str, Callable[[Session], None]]:
        """A new code for ``request`` in clear, and what stores it once it is sent."""
        code = new_code()
        row = VerificationCode(
            request_id=request.id,
            email=request.email,
            code_hash=code_hash(self._key, request.id, code),
            created_at=self._now,
            expires_at=self._now + self._policy.ttl,
            attempts=0,
        )

        def store(session: Session) -> None:
            for earlier in self._active[request.id]:
                earlier.superseded_at = self._now
            self._active[request.id] = [row]
            session.add(row)

        return code, store


def check_rate(session: Session, policy: CodePolicy, email: str, now: datetime) -> None:
    """Refuse another code to ``email`` if one went out too recently, or too many went out
    this hour or these 24 hours (which bounds code guessing at one address: see
    RELIABILITY.md)."""
    hour_ago, day_ago = now - _HOUR, now - _DAY
    in_hour = QueuedMail.created_at > hour_ago
    rows = session.execute(
        select(
            func.count().filter(in_hour),
            func.min(QueuedMail.created_at).filter(in_hour),
            func.max(QueuedMail.created_at),
            func.count(),
            func.min(QueuedMail.created_at),
        ).where(
            QueuedMail.to_address == email,
            QueuedMail.template.in_((CODE_TEMPLATE, REMINDER_TEMPLATE)),
            QueuedMail.created_at > day_ago,
        )
    ).one()
    hourly, oldest_hour, latest, daily, oldest_day = (
        int(rows[0]), rows[1], rows[2], int(rows[3]), rows[4]
    )  # fmt: skip
    if latest is not None and latest + policy.resend_cooldown > now:
        wait = _seconds(latest + policy.resend_cooldown - now)
        raise RateLimited(f"a code was sent moments ago; ask again in {wait} s", retry_after=wait)
    for sent, oldest, cap, window, span in (
        (daily, oldest_day, policy.daily_cap, _DAY, "24 hours"),
        (hourly, oldest_hour, policy.hourly_cap, _HOUR, "the hour"),
    ):
        if sent >= cap and oldest is not None:
            wait = _seconds(oldest + window - now)
            raise RateLimited(
                f"{cap} codes were sent to this address within {span}; ask again in {wait} s",
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
