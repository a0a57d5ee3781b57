"""Members object in one click after signing in with the platform (OpenID Connect).

With ``NOTRAIN_OIDC_ISSUER``, ``NOTRAIN_OIDC_CLIENT_ID`` and ``NOTRAIN_OIDC_CLIENT_SECRET``
set, the request pages offer "Continue as a member":

    /members/signin?next=…  ──► the provider ──► /members/callback ──► /members
                                                                       one button per kind
                                                                       ──► POST /members/requests
                                                                       ──► the receipt

The flow's values ride in a sealed cookie (:mod:`notrain.signin.flow`), SameSite=Lax so the
provider's redirect back brings it; the member's pass likewise, for a few minutes. The
buttons are forms with the anti-forgery token like every other form. Without the settings
none of these routes exist.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from notrain.errors import (
    NotAMember,
    NotrainError,
    RequestInvalid,
    RequestNotFound,
    SignInFailed,
)
from notrain.portal.context import portal_of
from notrain.portal.i18n import N_
from notrain.portal.pages import KINDS, csrf_guard, ip_limit
from notrain.portal.responses import (
    error_model,
    gettext_of,
    redirect,
    render,
)
from notrain.portal.security import cookie_name
from notrain.portal.training import REQUEST_KIND_LABELS
from notrain.registry.members import SIGNIN
from notrain.settings import Settings
from notrain.signin.client import OpenIDClient
from notrain.signin.flow import (
    PASS_SECONDS,
    TRANSACTION_SECONDS,
    MemberPass,
    SpentStates,
    Transaction,
    safe_return_path,
)

TRANSACTION_COOKIE = "notrain_oidc"
PASS_COOKIE = "notrain_member"

_PROBLEMS: dict[type[NotrainError], str] = {
    NotAMember: N_(
        "The platform's sign-in names no account we know. Nothing was stored. You can still "
        "make your request with the form and your e-mail address."
    ),
    SignInFailed: N_(
        "Signing in with the platform did not work, so nothing was stored. Start again from "
        "the request page."
    ),
    RequestInvalid: N_(
        "Your account has no e-mail address for the confirmation. Please use the form."
    ),
}

router = APIRouter(dependencies=[Depends(ip_limit), Depends(csrf_guard)], include_in_schema=False)


class SignIn:
    """What the sign-in routes share: the provider's client and the spent states."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer
        assert settings.oidc_client_id
        assert settings.oidc_client_secret
        self.client = OpenIDClient(
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_client_secret.get_secret_value(),
            user_claim=settings.oidc_user_claim,
        )
        self.redirect_uri = settings.oidc_redirect_uri
        self.spent = SpentStates()


def install(app: FastAPI, settings: Settings) -> None:
    """The sign-in routes and the request pages' link, when the platform's provider is set."""
    if not settings.oidc_enabled:
        return
    app.state.signin = SignIn(settings)
    for env in app.state.templates.envs.values():
        env.globals["member_signin"] = True
    app.include_router(router)


def _signin(request: Request) -> SignIn:
    signin: SignIn = request.app.state.signin
    return signin


def _callback_uri(request: Request) -> str:
    return _signin(request).redirect_uri or str(request.url_for("members_callback"))


def _set(request: Request, response: Response, base: str, value: str, max_age: int) -> None:
    secure = portal_of(request).settings.portal_secure_cookies
    # Lax, not Strict: the provider's redirect back to us is a cross-site navigation.
    response.set_cookie(
        cookie_name(base, secure), value, max_age=max_age, httponly=True, secure=secure,
        samesite="lax", path="/",
    )  # fmt: skip


def _clear(request: Request, response: Response, base: str) -> None:
    secure = portal_of(request).settings.portal_secure_cookies
    response.delete_cookie(
        cookie_name(base, secure), path="/", secure=secure, httponly=True, samesite="lax"
    )


def _key(request: Request) -> bytes:
    return portal_of(request).config.secret_key


def _problem(request: Request, exc: NotrainError) -> Response:
    """A clear page; the sign-in in progress and any pass are dropped."""
    _ = gettext_of(request)
    text = next((t for kind, t in _PROBLEMS.items() if isinstance(exc, kind)), None)
    response = render(
        request,
        "error.html",
        None,
        status=exc.http_status,
        context={"error": error_model(exc).error, "text": _(text) if text else exc.message},
    )
    _clear(request, response, TRANSACTION_COOKIE)
    _clear(request, response, PASS_COOKIE)
    return response


def member_pass(request: Request) -> MemberPass | None:
    secure = portal_of(request).settings.portal_secure_cookies
    sealed = request.cookies.get(cookie_name(PASS_COOKIE, secure))
    return MemberPass.unseal(_key(request), sealed, time.time())


@router.get("/members/signin")
def begin(request: Request, next: str = "") -> Response:
    signin = _signin(request)
    try:
        started = signin.client.begin(_callback_uri(request))
    except SignInFailed as exc:
        return _problem(request, exc)
    transaction = Transaction(
        state=started.state,
        nonce=started.nonce,
        code_verifier=started.code_verifier,
        return_to=safe_return_path(next),
        expires_at=int(time.time()) + TRANSACTION_SECONDS,
    )
    response = redirect(request, started.url)
    _set(request, response, TRANSACTION_COOKIE, transaction.seal(_key(request)),
         TRANSACTION_SECONDS)  # fmt: skip
    return response


@router.get("/members/callback", name="members_callback")
def callback(
    request: Request,
    code: str = "",
    state: str = "",
    iss: str | None = None,
    error: str | None = None,
) -> Response:
    signin = _signin(request)
    secure = portal_of(request).settings.portal_secure_cookies
    sealed = request.cookies.get(cookie_name(TRANSACTION_COOKIE, secure))
    transaction = Transaction.unseal(_key(request), sealed, time.time())
    try:
        if transaction is None:
            raise SignInFailed("no sign-in was started in this browser, or it expired")
        if error is not None:
            raise SignInFailed(f"the provider answered {error[:100]!r}")
        if not state or not hmac.compare_digest(state.encode(), transaction.state.encode()):
            raise SignInFailed("the answer's state is not this browser's sign-in")
        if not signin.spent.spend(transaction.state, transaction.expires_at):
            raise SignInFailed("this sign-in was already used")
        if not code:
            raise SignInFailed("the provider sent no code")
        identity = signin.client.finish(
            code=code, redirect_uri=_callback_uri(request),
            code_verifier=transaction.code_verifier, nonce=transaction.nonce, issuer=iss,
        )  # fmt: skip
        with portal_of(request).registry() as registry:
            if registry.member(identity.user_id) is None:
                raise NotAMember(f"no account {identity.user_id}")
    except (SignInFailed, NotAMember) as exc:
        return _problem(request, exc)
    granted = MemberPass(
        identity.user_id, identity.issuer, identity.subject, int(time.time()) + PASS_SECONDS
    )
    response = redirect(request, safe_return_path(transaction.return_to))
    _clear(request, response, TRANSACTION_COOKIE)
    _set(request, response, PASS_COOKIE, granted.seal(_key(request)), PASS_SECONDS)
    return response


class MembersPage(BaseModel):
    signed_in: bool
    handle: str | None = None
    email: str | None = None
    kinds: list[str]
    chosen: str | None = None


@router.get("/members")
def members(request: Request, kind: str = "") -> Response:
    granted = member_pass(request)
    chosen = kind if kind in KINDS else None
    # The kind the person came for first, then the others.
    kinds = sorted(KINDS, key=lambda k: k != chosen)
    if granted is None:
        page = MembersPage(signed_in=False, kinds=kinds, chosen=chosen)
    else:
        with portal_of(request).registry() as registry:
            account = registry.member(granted.user_id)
        if account is None:
            return _problem(request, NotAMember(f"no account {granted.user_id}"))
        page = MembersPage(
            signed_in=True, handle=account.handle, email=account.email, kinds=kinds,
            chosen=chosen,
        )  # fmt: skip
    return render(request, "members.html", page, context={"request_labels": REQUEST_KIND_LABELS})


@router.post("/members/requests")
def one_click(request: Request, kind: Annotated[str, Form(max_length=32)] = "") -> Response:
    granted = member_pass(request)
    if granted is None:
        return _problem(request, SignInFailed("not signed in, or the sign-in has ended"))
    if kind not in KINDS:
        raise RequestNotFound(f"no request kind {kind!r}")
    portal = portal_of(request)
    try:
        with portal.registry() as registry:
            receipt = registry.member_request(
                granted.user_id, kind, source=SIGNIN, actor=f"member:{granted.user_id}",
                evidence={"issuer": granted.issuer, "subject": granted.subject},
            )  # fmt: skip
    except (NotAMember, RequestInvalid) as exc:
        return _problem(request, exc)
    if receipt.created:
        portal.metrics.submitted.labels(kind).inc()
    portal.mail.wake()
    token = quote(receipt.status_token or "", safe="")
    return redirect(request, f"/requests/{receipt.request_id}/receipt?token={token}")


@router.post("/members/signout")
def sign_out(request: Request) -> Response:
    response = redirect(request, "/")
    _clear(request, response, PASS_COOKIE)
    return response
