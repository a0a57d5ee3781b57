"""Status tokens: the secret that opens a request's status, answer and receipts.

A request id only lets its holder enter the code (and ask for a new one); anything about
the request beyond that needs the token, which the registry hands out once, to whoever
entered the right code. The token is HMAC-SHA256(secret key, request id ‖ salt), with a
random salt set when the address is verified: the database keeps the salt, never the token,
so a copy of the database alone opens nothing, and the registry can still write the token
into a link of a mail it renders later. Before verification a request has no salt, and so no
token opens it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from notrain.registry.models import Request

TOKEN_MAX = 64  # far above the 43 characters of a token; longer input is simply wrong


def _derive(key: bytes, request_id: str, salt: str) -> str:
    digest = hmac.new(key, f"status:{request_id}:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def prepare(request: Request) -> None:
    """Give a request just verified its salt (if it has none): from now on a token opens it."""
    if request.status_salt is None:
        request.status_salt = secrets.token_hex(16)


def issue(key: bytes, request: Request) -> str:
    """The request's token, making its salt first if it has none (at verification)."""
    prepare(request)
    assert request.status_salt is not None
    return _derive(key, request.id, request.status_salt)


def token_for(key: bytes, request: Request) -> str | None:
    """The token of a verified request, for links the registry writes; None before."""
    if request.status_salt is None:
        return None
    return _derive(key, request.id, request.status_salt)


def matches(key: bytes, request: Request, token: str | None) -> bool:
    """Whether ``token`` opens ``request``, compared in constant time."""
    expected = token_for(key, request)
    if expected is None or not token or len(token) > TOKEN_MAX:
        return False
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))
