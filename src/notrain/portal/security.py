"""Protection: anti-forgery tokens, rate limits, security headers and a body size limit.

- **CSRF**: signed double submit. A random token lives in an HttpOnly, SameSite=Strict
  cookie; every form carries HMAC-SHA256(secret key, that token) in a hidden field, which a
  page on another site can neither read nor compute. Posts whose ``Origin`` or
  ``Sec-Fetch-Site`` say they come from another site are refused as well. The JSON API needs
  no token: it takes only ``application/json`` bodies (which a cross-site form cannot send)
  and no cookie authenticates it.
- **Rate limits**: sliding windows kept in this process (per server process: run several
  workers and each counts on its own; the registry's own per-address code limits, kept in
  the database, hold across processes).
- **Headers**: a Content-Security-Policy without any script source (the portal has no
  JavaScript), no framing, no referrer (status links hold the request id), nosniff.
- **Body size**: a declared ``Content-Length`` over the limit is refused with 413 before
  anything is read; a chunked body is counted as it arrives and cut off at the limit. The
  413 is the portal's usual error answer: JSON for the API, a page for a form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notrain.errors import BodyTooLarge, CsrfRejected, RateLimited

CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


def cookie_name(base: str, secure: bool) -> str:
    """``__Host-`` names bind a cookie to this host and path /, but need Secure (HTTPS)."""
    return f"__Host-{base}" if secure else base


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_form_token(key: bytes, cookie_token: str) -> str:
    return hmac.new(key, b"csrf:" + cookie_token.encode(), hashlib.sha256).hexdigest()


def check_csrf(
    key: bytes,
    cookie_token: str | None,
    form_token: str | None,
    *,
    origin: str | None,
    fetch_site: str | None,
    host: str | None,
) -> None:
    """Refuse a form post that is cross-site or lacks this browser's token."""
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise CsrfRejected("the form was sent from another site")
    cross_origin = origin is not None and origin != "null" and host is not None
    if cross_origin and str(origin).split("://", 1)[-1] != host:
        raise CsrfRejected("the form was sent from another site")
    if not cookie_token or not form_token:
        raise CsrfRejected("the form has expired or cookies are off; reload the page")
    expected = csrf_form_token(key, cookie_token)
    if not hmac.compare_digest(expected, form_token):
        raise CsrfRejected("the form has expired or cookies are off; reload the page")


class RateLimiter:
    """Sliding-window counts by (bucket, key), in memory, pruned as they age."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, bucket: str, key: str, *, limit: int, window: float, message: str) -> None:
        """Count one hit; raise :class:`RateLimited` if it is over ``limit`` per ``window``."""
        if limit <= 0:
            return
        now = self._clock()
        with self._lock:
            self._calls += 1
            if self._calls % 4096 == 0:
                self._prune(now, window)
            hits = self._hits.setdefault((bucket, key), deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                wait = max(1, int(hits[0] + window - now + 0.999))
                raise RateLimited(f"{message}; try again in {wait} s", retry_after=wait)
            hits.append(now)

    def _prune(self, now: float, window: float) -> None:
        stale = [k for k, v in self._hits.items() if not v or v[-1] <= now - window * 4]
        for k in stale:
            del self._hits[k]


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413, as early as it can tell."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        error_body: Callable[[Exception], Any],
        error_page: Callable[[Request, Exception], Response] | None = None,
    ) -> None:
        # The portal's error answer comes in as ``error_page`` (responses.error_response):
        # this module is below responses.py, which imports it, and imports nothing back.
        self.app = app
        self.max_bytes = max_bytes
        self.error_body = error_body
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = BodyTooLarge(f"the request body is over {self.max_bytes} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(scope, send, too_large)
                    return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            # Over the limit: answer 413 now and tell the app the client went away, so
            # whatever reads the body stops (frameworks turn exceptions raised here into
            # their own 400s, hence no exception).
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    refused = True
                    await self._refuse(scope, send, too_large)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is already sent
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, send: Send, error: BodyTooLarge) -> None:
        """The 413: the portal's own error answer (JSON for the API, a page for a form)
        where the app is there to render it, else the JSON error shape."""
        app = scope.get("app")
        templates = hasattr(getattr(app, "state", None), "templates")
        if self.error_page is not None and templates:
            response = self.error_page(Request(scope), error)
            response.headers["connection"] = "close"
            await response(scope, _no_body, send)
            return
        body = json.dumps(self.error_body(error)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _no_body() -> Message:
    # What a response may ask for while it is sent; the refused body is never read.
    return {"type": "http.disconnect"}
