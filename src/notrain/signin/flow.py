"""A sign-in in progress, a signed-in member's pass, and where a sign-in may return to.

Between sending the browser to the provider and its return, the portal keeps the
``state``, the ``nonce`` and the PKCE verifier in a sealed, short-lived cookie of that
browser (a :class:`Transaction`): a callback whose ``state`` is not the one this browser
was sent with is refused, which is what stops a forged or injected callback. Each
``state`` is spent once (:class:`SpentStates`), so a replayed callback is refused even
with the cookie. After the ID token verifies, the member holds a :class:`MemberPass` for a
few minutes: long enough to click, not a standing session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from notrain.signin.seal import seal, unseal

TRANSACTION_SECONDS = 600  # to sign in at the provider
PASS_SECONDS = 900  # to click once signed in
HOME = "/members"
T = TypeVar("T", "Transaction", "MemberPass")
_MAX_RETURN = 512


def safe_return_path(value: str | None) -> str:
    """A path on this site, or the members' page: never another site (open redirect)."""
    if not value or len(value) > _MAX_RETURN:
        return HOME
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return HOME
    return value


@dataclass(frozen=True)
class Transaction:
    state: str
    nonce: str
    code_verifier: str
    return_to: str
    expires_at: int

    def seal(self, key: bytes) -> str:
        return seal(key, "oidc-transaction", asdict(self))

    @classmethod
    def unseal(cls, key: bytes, sealed: str | None, now: float) -> Transaction | None:
        value = unseal(key, "oidc-transaction", sealed)
        return _build(cls, value, now)


@dataclass(frozen=True)
class MemberPass:
    """Proof, for a few minutes, that this browser signed in as ``user_id``."""

    user_id: int
    issuer: str
    subject: str
    expires_at: int

    def seal(self, key: bytes) -> str:
        return seal(key, "member-pass", asdict(self))

    @classmethod
    def unseal(cls, key: bytes, sealed: str | None, now: float) -> MemberPass | None:
        value = unseal(key, "member-pass", sealed)
        return _build(cls, value, now)


def _build(cls: type[T], value: dict[str, Any] | None, now: float) -> T | None:
    if value is None:
        return None
    try:
        built = cls(**value)
    except TypeError:
        return None
    return built if built.expires_at > now else None


class SpentStates:
    """The ``state`` values already used in this process, until their sign-in expires."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def spend(self, state: str, expires_at: float) -> bool:
        """True the first time ``state`` is spent, False ever after."""
        now = self._clock()
        with self._lock:
            if len(self._spent) > 10_000:
                self._spent = {s: t for s, t in self._spent.items() if t > now}
            if state in self._spent:
                return False
            self._spent[state] = expires_at
            return True
