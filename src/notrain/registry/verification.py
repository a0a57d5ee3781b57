"""E-mail verification codes: six digits, kept only as a keyed hash, tried a few times.

A code is drawn from ``secrets`` over all of 000000 to 999999 and stored as
HMAC-SHA256(secret key, request id ‖ code): a copy of the database alone does not let
anyone try the million codes offline. Codes are compared in constant time, expire after
``ttl``, allow ``max_attempts`` tries, and a new code supersedes the old.

How often codes may be sent is counted on the mail queue, whoever the address belongs to,
so the limits say nothing about accounts. They are counted per client and address (a
cooldown, an hourly and a daily cap), under a higher ceiling per address across all
clients; past the ceiling a client's first code of the hour still goes out, so strangers
submitting for an address from elsewhere never keep its owner from getting a code. A client
is its network (the IPv4 address, or the IPv6 /64), kept only as a keyed hash.

Failed verifications are also counted across all addresses per clock hour; past
``failure_ceiling`` an hour, verification slows down for everyone to one attempt per
``3600 / failure_ceiling`` seconds, which bounds guessing over all addresses (see
RELIABILITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notrain.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeWrong,
    RateLimited,
    VerificationFailed,
)
from notrain.registry.models import QueuedMail, Request, VerificationCode, VerificationLoad

CODE_TEMPLATE = "verification_code"
REMINDER_TEMPLATE = "code_reminder"  # a reminder carries a code too, and counts as one
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CodePolicy:
    ttl: timedelta = timedelta(minutes=15)
    max_attempts: int = 5
    resend_cooldown: timedelta = timedelta(seconds=60)  # per client and address
    hourly_cap: int = 5  # per client and address
    daily_cap: int = 10  # per client and address
    address_hourly_ceiling: int = 20  # per address, all clients together
    address_daily_ceiling: int = 50
    failure_ceiling: int = 600  # failed verifications an hour, all addresses; 0: none


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


def client_key(key: bytes, client: str) -> str:
    """A keyed hash of the client's network: an IPv6 client is its /64, which one machine
    is usually given whole; anything that is not an address stands for itself."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        network = client
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        prefix = 64 if address.version == 6 else 32
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return hmac.new(key, f"client:{network}".encode(), hashlib.sha256).hexdigest()[:32]


def _sent(
    session: Session, email: str, client: str | None, now: datetime, *, per_client: bool
) -> tuple[int, datetime | None, datetime | None, int, datetime | None]:
    """Codes sent to ``email`` (by ``client`` alone, or by all): within the hour, the oldest
    of those, the latest, within 24 hours and the oldest of those."""
    hour_ago, day_ago = now - _HOUR, now - _DAY
    in_hour = QueuedMail.created_at > hour_ago
    stmt = select(
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
    if per_client:
        stmt = stmt.join(Request, Request.id == QueuedMail.request_id).where(
            Request.client_key.is_(None) if client is None else Request.client_key == client
        )
    row = session.execute(stmt).one()
    return int(row[0]), row[1], row[2], int(row[3]), row[4]


def check_rate(
    session: Session, policy: CodePolicy, email: str, client: str | None, now: datetime
) -> None:
    """Refuse another code to ``email`` asked by ``client`` (a :func:`client_key`) if this
    client had one sent too recently or too many this hour or these 24 hours, or if the
    address reached its ceiling across all clients and this client already had a code for it
    within the hour. Bounds code guessing and mail to one address: see RELIABILITY.md."""
    hourly, oldest_hour, latest, daily, oldest_day = _sent(
        session, email, client, now, per_client=True
    )
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
    if hourly == 0:
        return  # a client's first code of the hour always goes: others cannot shut it out
    all_hourly, all_oldest_hour, _, all_daily, all_oldest_day = _sent(
        session, email, client, now, per_client=False
    )
    for sent, oldest, cap, window in (
        (all_daily, all_oldest_day, policy.address_daily_ceiling, _DAY),
        (all_hourly, all_oldest_hour, policy.address_hourly_ceiling, _HOUR),
    ):
        if sent >= cap and oldest is not None:
            wait = _seconds(min(oldest + window, (oldest_hour or now) + _HOUR) - now)
            raise RateLimited(
                f"many codes were sent to this address lately; ask again in {wait} s",
                retry_after=wait,
            )


# -- failed verifications across all addresses ---------------------------------------------


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def failures_last_hour(session: Session, now: datetime) -> int:
    """Failed verifications over the last hour, all addresses: this clock hour's, and the
    previous hour's in proportion to the part of it still within the last 60 minutes."""
    hour = _hour_of(now)
    rows = session.execute(
        select(VerificationLoad.hour, VerificationLoad.failures).where(
            VerificationLoad.hour >= hour - _HOUR, VerificationLoad.hour <= hour
        )
    )
    counts: dict[datetime, int] = {row[0]: row[1] for row in rows}
    earlier = counts.get(hour - _HOUR, 0) * (1 - (now - hour) / _HOUR)
    return counts.get(hour, 0) + int(earlier)


def _bucket(session: Session, hour: datetime) -> None:
    """Make sure the hour has its row (two steps may try at once: neither fails)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(VerificationLoad)
        .values(hour=hour, failures=0, slowed_at=None)
        .on_conflict_do_nothing(index_elements=["hour"])
    )


def admit(session: Session, policy: CodePolicy, now: datetime) -> None:
    """Let a verification attempt through, or refuse it for a moment when the failures of
    the last hour across all addresses are past the ceiling: then attempts are let through
    one per ``3600 / failure_ceiling`` seconds, whoever makes them."""
    if policy.failure_ceiling <= 0 or failures_last_hour(session, now) < policy.failure_ceiling:
        return
    hour = _hour_of(now)
    _bucket(session, hour)
    row = session.scalars(
        select(VerificationLoad).where(VerificationLoad.hour == hour).with_for_update()
    ).one()
    interval = timedelta(seconds=3600 / policy.failure_ceiling)
    if row.slowed_at is not None and now < row.slowed_at + interval:
        wait = _seconds(row.slowed_at + interval - now)
        raise RateLimited(
            f"many wrong codes are being tried on this site; try again in {wait} s",
            retry_after=wait,
        )
    row.slowed_at = now


def count_failure(session: Session, now: datetime) -> None:
    hour = _hour_of(now)
    _bucket(session, hour)
    session.execute(
        update(VerificationLoad)
        .where(VerificationLoad.hour == hour)
        .values(failures=VerificationLoad.failures + 1)
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
