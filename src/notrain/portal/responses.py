"""Answers: a page's data as HTML or JSON, and every error in one shape.

``render`` takes the model a page function built and turns it into HTML through its
template, or into JSON when ``?format=json`` is asked for (or ``Accept`` prefers JSON), so
both come from one value. Errors are :class:`~notrain.errors.NotrainError` subclasses and
framework errors alike; as JSON they are all ``{"error": {"type", "status", "message",
"field", "retry_after"}}``; as HTML, a page in the reader's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from fastapi.exceptions import RequestValidationError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notrain import errors as e
from notrain import languages
from notrain.portal import i18n
from notrain.portal.i18n import N_
from notrain.portal.models import ErrorBody, ErrorResponse
from notrain.portal.security import CSRF_FIELD, cookie_name, csrf_form_token, new_token

log = logging.getLogger("notrain.portal")
TEMPLATES = Path(__file__).with_name("templates")
CSRF_COOKIE = "notrain_csrf"
_HTTP_TYPES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    413: "BodyTooLarge",
    415: "UnsupportedMediaType",
    422: "RequestInvalid",
    429: "RateLimited",
}


class Templates:
    """One Jinja environment per language, each with its catalogue installed."""

    def __init__(self) -> None:
        self.envs: dict[str, Environment] = {}
        for language in i18n.LANGUAGES:
            env = Environment(
                loader=FileSystemLoader(TEMPLATES),
                autoescape=select_autoescape(["html", "svg"], default=True),
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
            # Dates as the reader's language writes them ("5. Dezember 2026").
            env.filters["longdate"] = partial(languages.long_date, tag=language)
            self.envs[language] = env

    def render(self, language: str, name: str, context: dict[str, Any]) -> str:
        return self.envs[language].get_template(name).render(context)


def language_of(request: Request) -> str:
    cached: str | None = getattr(request.state, "language", None)
    if cached is None:
        cached = i18n.choose_language(
            request.cookies.get(cookie_name(i18n.COOKIE, _secure(request))),
            request.headers.get("accept-language"),
        )
        request.state.language = cached
    return cached


def gettext_of(request: Request) -> Callable[[str], str]:
    return i18n.translations(language_of(request)).gettext


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    fmt = request.query_params.get("format")
    if fmt is not None:
        return fmt == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _secure(request: Request) -> bool:
    return bool(request.app.state.portal.settings.portal_secure_cookies)


def csrf_cookie(request: Request) -> tuple[str, bool]:
    """This browser's anti-forgery cookie value, and whether it is new (must be set)."""
    name = cookie_name(CSRF_COOKIE, _secure(request))
    fresh: str | None = getattr(request.state, "new_csrf", None)
    if fresh is not None:
        return fresh, True
    current = request.cookies.get(name)
    if current and 20 <= len(current) <= 128:
        return current, False
    request.state.new_csrf = new_token()
    return request.state.new_csrf, True


def rotate_csrf(request: Request) -> None:
    request.state.new_csrf = new_token()


def set_cookie(request: Request, response: Response, base: str, value: str, **extra: Any) -> None:
    secure = _secure(request)
    response.set_cookie(
        cookie_name(base, secure),
        value,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
        **extra,
    )


def finish(request: Request, response: Response) -> Response:
    """Set what this request decided to set: a new anti-forgery cookie."""
    fresh: str | None = getattr(request.state, "new_csrf", None)
    if fresh is not None:
        set_cookie(request, response, CSRF_COOKIE, fresh)
    return response


def render(
    request: Request,
    template: str,
    data: BaseModel | None,
    *,
    status: int = 200,
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``data`` as HTML through ``template``, or as JSON when the client asks for JSON."""
    if wants_json(request) and data is not None:
        response: Response = JSONResponse(data.model_dump(mode="json"), status, headers)
    else:
        language = language_of(request)
        token, _ = csrf_cookie(request)
        portal = request.app.state.portal
        values = {
            "data": data,
            "lang": language,
            "languages": i18n.LANGUAGE_NAMES,
            "path": request.url.path,
            "query": str(request.url.query),
            "csrf_field": CSRF_FIELD,
            "csrf_token": csrf_form_token(portal.config.secret_key, token),
            "officer": getattr(request.state, "officer", None),
            **(context or {}),
        }
        html = request.app.state.templates.render(language, template, values)
        response = Response(html, status, headers, media_type="text/html; charset=utf-8")
    response.headers.setdefault("cache-control", "no-store")
    return finish(request, response)


def redirect(request: Request, url: str) -> Response:
    return finish(request, RedirectResponse(url, status_code=303))


# -- errors ---------------------------------------------------------------------------------


def error_model(exc: BaseException) -> ErrorResponse:
    if isinstance(exc, e.NotrainError):
        return ErrorResponse(
            error=ErrorBody(
                type=type(exc).__name__,
                status=exc.http_status,
                message=exc.message,
                field=getattr(exc, "field", None),
                retry_after=getattr(exc, "retry_after", None),
            )
        )
    if isinstance(exc, RequestValidationError):
        problems = exc.errors()
        first = problems[0] if problems else {}
        if first.get("type") == "json_invalid":
            # Its location is the offset of the fault in the body, not a field.
            return ErrorResponse(
                error=ErrorBody(
                    type="RequestInvalid",
                    status=422,
                    message=f"the body is not valid JSON ({first.get('msg', 'decode error')})",
                )
            )
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = str(first.get("msg", "invalid request"))
        return ErrorResponse(
            error=ErrorBody(
                type="RequestInvalid",
                status=422,
                message=f"{field}: {message}" if field else message,
                field=field,
            )
        )
    if isinstance(exc, HTTPException):
        return ErrorResponse(
            error=ErrorBody(
                type=_HTTP_TYPES.get(exc.status_code, "HTTPError"),
                status=exc.status_code,
                message=str(exc.detail),
            )
        )
    return ErrorResponse(
        error=ErrorBody(type="InternalError", status=500, message="internal error")
    )


def error_dict(exc: BaseException) -> dict[str, Any]:
    return error_model(exc).model_dump(mode="json")


_ERROR_TEXT: dict[type[e.NotrainError], str] = {
    e.RequestNotFound: N_("No request has this reference. Check the link you followed."),
    e.RequestStateError: N_("This step is not possible in the request's present state."),
    e.CodeExpired: N_("The code has expired. Ask for a new one."),
    e.CodeAttemptsExhausted: N_("Too many wrong attempts on this code. Ask for a new one."),
    e.VerificationFailed: N_("No code is waiting for this request. Ask for a new one."),
    e.CsrfRejected: N_("The form has expired. Reload the page and send it again."),
    e.NotSignedIn: N_("Please sign in."),
    e.AuthenticationFailed: N_("Wrong name or password."),
    e.BodyTooLarge: N_("What you sent is too large."),
    e.DatabaseError: N_("The service is unavailable for a moment. Please try again shortly."),
}
_FIELD_TEXT = {
    "email": N_("Give a valid e-mail address."),
    "country": N_("Choose your country of residence."),
    "handle": N_("A handle has letters, digits and _ . - only, 64 at most."),
    "handles": N_("A handle has letters, digits and _ . - only, 64 at most."),
    "emails": N_("One of the other e-mail addresses is not valid."),
    "names": N_("A name has at least two letters, 200 characters at most."),
    "identifiers": N_("At most 20 names, addresses and handles in all."),
    "note": N_("The note is too long (2000 characters at most) or holds control characters."),
    "reason": N_("Give a reason; the requester is told it."),
    "answer": N_("An access request is answered with its answer: write it."),
    "kind": N_("This kind of request does not exist."),
    "identity_checked": N_(
        "This request names more than the proved address: confirm that you checked the "
        "requester's identity before accepting it."
    ),
}


def retry_headers(exc: BaseException | None) -> dict[str, str] | None:
    """``Retry-After`` for a rate-limited answer."""
    if isinstance(exc, e.RateLimited):
        return {"retry-after": str(exc.retry_after)}
    return None


def error_text(request: Request, exc: BaseException) -> str:
    """The error in the reader's language, for pages (the JSON message stays English)."""
    translations = i18n.translations(language_of(request))
    _ = translations.gettext
    if isinstance(exc, e.CodeWrong):
        if exc.attempts_left == 0:
            return _("Wrong code, and no attempts are left. Ask for a new code.")
        return translations.ngettext(
            "Wrong code; %(num)d attempt left.", "Wrong code; %(num)d attempts left.",
            exc.attempts_left,
        ) % {"num": exc.attempts_left}  # fmt: skip
    if isinstance(exc, e.RateLimited):
        seconds = exc.retry_after or 0
        return translations.ngettext(
            "Too many attempts. Try again in %(num)d second.",
            "Too many attempts. Try again in %(num)d seconds.",
            seconds,
        ) % {"num": seconds}
    if isinstance(exc, e.RequestInvalid):
        text = _FIELD_TEXT.get(exc.field)
        return _(text) if text else exc.message
    for kind, text in _ERROR_TEXT.items():
        if isinstance(exc, kind):
            return _(text)
    if isinstance(exc, HTTPException) and exc.status_code == 404:
        return _("There is no page at this address.")
    if isinstance(exc, e.UserError):
        return exc.message
    return _("Something went wrong on our side. Please try again later.")


def error_response(request: Request, exc: BaseException) -> Response:
    model = error_model(exc)
    status = model.error.status
    headers = {"retry-after": str(model.error.retry_after)} if model.error.retry_after else None
    if status >= 500 and not isinstance(exc, e.NotrainError | HTTPException):
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    if wants_json(request):
        response: Response = JSONResponse(model.model_dump(mode="json"), status, headers)
        response.headers["cache-control"] = "no-store"
        return response
    if isinstance(exc, e.NotSignedIn) and request.url.path.startswith("/console"):
        return redirect(request, "/console/login")
    return render(
        request,
        "error.html",
        None,
        status=status,
        headers=headers,
        context={"error": model.error, "text": error_text(request, exc)},
    )


async def handle(request: Request, exc: Exception) -> Response:
    return error_response(request, exc)


class CatchAll:
    """Turns an exception no handler took into the 500 answer, inside the other middleware
    (so it still gets the security headers and is counted)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            request = Request(scope)
            if isinstance(exc, e.NotrainError):
                response = error_response(request, exc)
            else:
                log.error("unexpected error on %s %s", scope["method"], scope["path"], exc_info=exc)
                response = error_response(request, RuntimeError("internal error"))
            await response(scope, receive, send)
