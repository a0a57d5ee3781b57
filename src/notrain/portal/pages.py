"""The public site: what is used for training, the request forms, code entry, receipt, status.

Every page works without JavaScript. A page's data is built by one function (``*_data``)
shared with the JSON API; forms post back here (with the anti-forgery token) and redirect
to the next page (post/redirect/get), so a reload never sends a form twice.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from notrain.errors import (
    NotrainError,
    RateLimited,
    RequestInvalid,
    RequestNotFound,
    RequestStateError,
    VerificationFailed,
)
from notrain.portal import access, i18n
from notrain.portal.context import Portal, portal_of
from notrain.portal.models import KindName, OutcomeOut, PolicyOut, ReceiptOut, StatusOut
from notrain.portal.request_access import RequestGrant, check_request_id, request_grant
from notrain.portal.responses import error_text, redirect, render, retry_headers, set_cookie
from notrain.portal.security import CSRF_FIELD, check_csrf, cookie_name
from notrain.portal.training import (
    KIND_LABELS,
    REGIME_LABELS,
    REQUEST_KIND_LABELS,
    STAGE_LABELS,
    VISIBILITY_LABELS,
    policy_data,
)
from notrain.registry.forms import RequestForm, normalise_email
from notrain.registry.service import Registry

KINDS: tuple[str, ...] = KindName.__args__  # type: ignore[attr-defined]
MAX_LINES = 50


async def csrf_guard(request: Request) -> None:
    """Every form post carries this browser's anti-forgery token (see security.py)."""
    if request.method != "POST":
        return
    form = await request.form()
    token = form.get(CSRF_FIELD)
    portal = portal_of(request)
    check_csrf(
        portal.config.secret_key,
        request.cookies.get(cookie_name("notrain_csrf", portal.settings.portal_secure_cookies)),
        token if isinstance(token, str) else None,
        origin=request.headers.get("origin"),
        fetch_site=request.headers.get("sec-fetch-site"),
        host=request.headers.get("host"),
    )


def ip_limit(request: Request) -> None:
    """Form posts and API writes per client address (in-process)."""
    if request.method != "POST":
        return
    portal = portal_of(request)
    portal.limiter.hit(
        "post",
        client_ip(request),
        limit=portal.settings.portal_ip_rate_limit,
        window=60,
        message="too many requests from this address",
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


router = APIRouter(dependencies=[Depends(ip_limit), Depends(csrf_guard)], include_in_schema=False)


# -- data, shared with the API --------------------------------------------------------------


def submit_data(portal: Portal, registry: Registry, form: RequestForm, ip: str) -> ReceiptOut:
    try:
        key = normalise_email(form.email)
    except RequestInvalid:
        key = None  # the registry refuses it below, with the field named
    if key is not None:
        # Per client and address: submissions from elsewhere never use up the owner's.
        portal.limiter.hit(
            "email",
            f"{ip}\n{key}",
            limit=portal.settings.portal_email_rate_limit,
            window=3600,
            message="too many requests for this address",
        )
    receipt = registry.submit(form, source="portal", client=ip)
    portal.metrics.submitted.labels(form.kind).inc()
    portal.mail.wake()
    return ReceiptOut(
        request_id=receipt.request_id,
        message=receipt.message,
        status_url=f"/requests/{receipt.request_id}",
        code_url=f"/requests/{receipt.request_id}/code",
    )


def verify_data(portal: Portal, registry: Registry, request_id: str, code: str) -> OutcomeOut:
    check_request_id(request_id)
    try:
        outcome = registry.verify(request_id, code)
    except VerificationFailed:
        portal.metrics.verified.labels("failed").inc()
        raise
    except RateLimited:
        portal.metrics.verification_slowed.inc()
        raise
    portal.metrics.verified.labels(outcome.state).inc()
    portal.mail.wake()
    grant = RequestGrant(outcome.request_id, outcome.status_token)
    return OutcomeOut(
        request_id=outcome.request_id,
        state=outcome.state,
        due_at=outcome.due_at,
        message=outcome.message,
        status_token=outcome.status_token,
        status_url=grant.link(),
    )


def resend_data(portal: Portal, registry: Registry, request_id: str) -> ReceiptOut:
    check_request_id(request_id)
    receipt = registry.resend_code(request_id)
    portal.mail.wake()
    return ReceiptOut(
        request_id=receipt.request_id,
        message=receipt.message,
        status_url=f"/requests/{request_id}",
        code_url=f"/requests/{request_id}/code",
    )


def status_data(registry: Registry, grant: RequestGrant) -> StatusOut:
    """The request's status for the holder of its token (the grant is checked again here,
    so no caller can skip it)."""
    request_id = check_request_id(grant.request_id)
    status = registry.status(request_id, grant.token)
    answer = access.answer_for(registry, request_id) if status.stage == "answered" else None
    return StatusOut(
        request_id=status.request_id,
        stage=status.stage,  # type: ignore[arg-type]
        due_at=status.due_at,
        language=status.language,
        status_url=grant.link(),
        access=answer,
        access_url=grant.link("/access.json") if answer is not None else None,
        proofs_url=grant.link("/proofs"),
        receipt_url=grant.link("/receipt.json"),
    )


# -- pages ----------------------------------------------------------------------------------


def _labels() -> dict[str, dict[str, str]]:
    return {
        "kinds": KIND_LABELS,
        "visibility": VISIBILITY_LABELS,
        "regimes": REGIME_LABELS,
        "requests": REQUEST_KIND_LABELS,
        "stages": STAGE_LABELS,
    }


@router.get("/")
def home(request: Request) -> Response:
    data: PolicyOut = policy_data(portal_of(request).policy)
    return render(request, "home.html", data, context={"labels": _labels()})


@router.get("/policy")
def policy(request: Request) -> Response:
    data = policy_data(portal_of(request).policy)
    return render(
        request,
        "policy.html",
        data,
        context={"labels": _labels(), "country_name": _country_namer(request)},
    )


def _country_namer(request: Request) -> object:
    from notrain.portal.responses import language_of

    language = language_of(request)
    return lambda code: i18n.country_name(code, language)


class FormPage(BaseModel):
    kind: str
    fields: list[str]


_FIELDS = ["email", "country", "handle", "names", "emails", "handles", "note"]
# A withdrawal names nobody: it ends the objections of the address's (or the handle's)
# accounts and those made from the address, so it asks for no identifiers.
_KIND_FIELDS = {"objection_withdrawal": ["email", "country", "handle", "note"]}


def _form_page(
    request: Request,
    kind: str,
    *,
    values: dict[str, str] | None = None,
    error: NotrainError | None = None,
    status: int = 200,
) -> Response:
    from notrain.portal.responses import language_of

    if kind not in KINDS:
        raise RequestNotFound(f"no form for {kind!r}")
    return render(
        request,
        "request_form.html",
        FormPage(kind=kind, fields=_KIND_FIELDS.get(kind, _FIELDS)),
        status=status,
        headers=retry_headers(error),
        context={
            "labels": _labels(),
            "countries": i18n.countries(language_of(request)),
            "values": values or {},
            "error": error_text(request, error) if error else None,
            "error_field": getattr(error, "field", None),
        },
    )


@router.get("/request/{kind}")
def request_form(request: Request, kind: str) -> Response:
    return _form_page(request, kind)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise RequestInvalid("identifiers", f"{len(lines)} lines given; at most 20 in all")
    return lines


@router.post("/request/{kind}")
def submit(
    request: Request,
    kind: str,
    email: Annotated[str, Form(max_length=400)] = "",
    country: Annotated[str, Form(max_length=8)] = "",
    handle: Annotated[str, Form(max_length=100)] = "",
    names: Annotated[str, Form(max_length=6000)] = "",
    emails: Annotated[str, Form(max_length=6000)] = "",
    handles: Annotated[str, Form(max_length=2000)] = "",
    note: Annotated[str, Form(max_length=2100)] = "",
) -> Response:
    from notrain.portal.responses import language_of

    portal = portal_of(request)
    values = {"email": email, "country": country, "handle": handle, "names": names,
              "emails": emails, "handles": handles, "note": note}  # fmt: skip
    if kind not in KINDS:
        raise RequestNotFound(f"no form for {kind!r}")
    try:
        form = RequestForm(
            kind=kind, email=email, country=country, handle=handle or None,
            names=_lines(names), emails=_lines(emails), handles=_lines(handles),
            note=note or None, language=language_of(request),
        )  # fmt: skip
        with portal.registry() as registry:
            receipt = submit_data(portal, registry, form, client_ip(request))
    except (RequestInvalid, RateLimited) as exc:
        return _form_page(request, kind, values=values, error=exc, status=exc.http_status)
    return redirect(request, receipt.code_url)


class CodePage(BaseModel):
    request_id: str


def _code_page(
    request: Request, request_id: str, *, error: NotrainError | None = None, sent: bool = False,
    status: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "code.html",
        CodePage(request_id=request_id),
        status=status,
        headers=retry_headers(error),
        context={"error": error_text(request, error) if error else None, "sent": sent},
    )


@router.get("/requests/{request_id}/code")
def code_form(request: Request, request_id: str) -> Response:
    check_request_id(request_id)
    with portal_of(request).registry() as registry:
        if not registry.awaiting_code(request_id):
            # The status needs the token the code page gave; the id alone shows no more.
            raise RequestStateError(f"request {request_id} is already verified")
    return _code_page(request, request_id, sent=request.query_params.get("sent") == "1")


@router.post("/requests/{request_id}/code")
def enter_code(
    request: Request, request_id: str, code: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    portal = portal_of(request)
    try:
        with portal.registry() as registry:
            outcome = verify_data(portal, registry, request_id, code)
    except (VerificationFailed, RateLimited, RequestStateError) as exc:
        return _code_page(request, request_id, error=exc, status=exc.http_status)
    grant = RequestGrant(outcome.request_id, outcome.status_token)
    return redirect(request, grant.link("/receipt"))


@router.post("/requests/{request_id}/resend")
def resend(request: Request, request_id: str) -> Response:
    portal = portal_of(request)
    try:
        with portal.registry() as registry:
            resend_data(portal, registry, request_id)
    except (RateLimited, RequestStateError) as exc:
        return _code_page(request, request_id, error=exc, status=exc.http_status)
    return redirect(request, f"/requests/{request_id}/code?sent=1")


Grant = Annotated[RequestGrant, Depends(request_grant)]


@router.get("/requests/{request_id}/receipt")
def receipt(request: Request, grant: Grant) -> Response:
    with portal_of(request).registry() as registry:
        data = status_data(registry, grant)
    return render(
        request,
        "status.html",
        data,
        context={"labels": _labels(), "receipt": True, "kind_labels": KIND_LABELS},
    )


@router.get("/requests/{request_id}")
def status(request: Request, grant: Grant) -> Response:
    with portal_of(request).registry() as registry:
        data = status_data(registry, grant)
    context = {"labels": _labels(), "receipt": False, "kind_labels": KIND_LABELS}
    return render(request, "status.html", data, context=context)


@router.get("/requests/{request_id}/access.json")
def access_download(request: Request, grant: Grant) -> Response:
    from starlette.responses import JSONResponse

    request_id = grant.request_id
    with portal_of(request).registry() as registry:
        data = status_data(registry, grant)
    if data.access is None:
        raise RequestNotFound("no access answer for this request (yet)")
    return JSONResponse(
        data.access,
        headers={
            "content-disposition": f'attachment; filename="{request_id}-access.json"',
            "cache-control": "no-store",
        },
    )


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str = "/") -> Response:
    if language not in i18n.LANGUAGES:
        raise RequestNotFound(f"no language {language!r}")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    if "\\" in target or "\r" in target or "\n" in target:
        target = "/"
    response = redirect(request, target)
    set_cookie(request, response, i18n.COOKIE, language, max_age=365 * 86400)
    return response
