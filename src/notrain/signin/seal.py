"""Values the browser carries, signed so it can neither forge nor alter them.

A sealed value is ``base64url(JSON).base64url(HMAC-SHA256)``, keyed by the portal's secret
key and a purpose, so a value sealed for one use (a sign-in in progress) is worthless for
another (a member's pass). It is signed, not encrypted: it holds nothing secret from the
person whose browser holds it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(key, f"{purpose}:{body}".encode(), hashlib.sha256).digest())


def seal(key: bytes, purpose: str, value: dict[str, Any]) -> str:
    body = _b64(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(key, purpose, body)}"


def unseal(key: bytes, purpose: str, sealed: str | None) -> dict[str, Any] | None:
    """The value, or None if it is missing, malformed or not signed by ``key`` for ``purpose``."""
    if not sealed or len(sealed) > 4096 or sealed.count(".") != 1:
        return None
    body, mac = sealed.split(".")
    if not hmac.compare_digest(mac, _mac(key, purpose, body)):
        return None
    try:
        value = json.loads(_unb64(body))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
