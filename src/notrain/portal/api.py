"""The JSON API under ``/api/v1``, described by OpenAPI at ``/api/v1/openapi.json``.

Requesters' endpoints (submit, verify, resend, status) build their answers with the same
functions as the pages. The platform's pipelines ask, with an API key, what an account
decided (``/subjects/{user_id}/status`` and the batch ``/subjects/status``). Every error
has the one shape of :class:`~notrain.portal.models.ErrorResponse`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request
from starlette.responses import Response

from notrain.errors import AuthenticationFailed, RequestInvalid
from notrain.portal import i18n
from notrain.portal.context import portal_of
from notrain.portal.models import (
    INT64_MAX,
    CodeIn,
    ErrorResponse,
    OutcomeOut,
    PolicyOut,
    ReceiptOut,
    RequestIn,
    StatusOut,
    SubjectBatchIn,
    SubjectBatchOut,
    SubjectStatus,
)
from notrain.portal.pages import (
    client_ip,
    ip_limit,
    resend_data,
    status_data,
    submit_data,
    verify_data,
)
from notrain.portal.request_access import RequestGrant, request_grant
from notrain.portal.subjects import subject_statuses
from notrain.portal.training import policy_data
from notrain.registry.apikeys import ApiKeyView, authenticate_api_key, require_scope
from notrain.registry.forms import RequestForm

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "bad request or wrong code",
        404: "no such request",
        409: "the request's state does not allow this",
        410: "the code has expired",
        413: "the body is too large",
        422: "a field is malformed",
        429: "too many requests or attempts (see Retry-After)",
        503: "the database is unavailable",
    }.items()
}
RequestId = Annotated[str, Path(max_length=64, description="The id the receipt gave.")]


def no_store(response: Response) -> None:
    """No answer of the API may be kept by a cache: most hold personal data."""
    response.headers["cache-control"] = "no-store"


router = APIRouter(prefix="/api/v1", responses=_ERRORS, dependencies=[Depends(no_store)])
public = APIRouter(tags=["requests"], dependencies=[Depends(ip_limit)])
pipelines = APIRouter(
    tags=["platform"], responses={401: {"model": ErrorResponse, "description": "no valid key"}}
)

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>.")


def api_key(
    request: Request,
    header: Annotated[str | None, Security(_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> ApiKeyView:
    """The platform's pipelines authenticate with a key made by `notrain admin create-api-key`."""
    key = header or (bearer.credentials if bearer else None)
    if not key:
        raise AuthenticationFailed("a valid API key is required")
    with portal_of(request).registry() as registry:
        return authenticate_api_key(registry.session, key)


def _unicode(field: str, values: list[str]) -> list[str]:
    """JSON's \\u escapes can spell a lone surrogate, which no database can store as text
    (the list items, unlike the single fields, are not refused by the model)."""
    for value in values:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestInvalid(field, "holds a lone surrogate: not Unicode text") from None
    return values


@public.post("/requests", status_code=202, response_model=ReceiptOut)
def submit(request: Request, body: RequestIn) -> ReceiptOut:
    """Submit a request; a six-digit code is mailed to ``email``. No reason is needed.

    The answer is the same whether or not the address belongs to an account.
    """
    portal = portal_of(request)
    form = RequestForm(
        kind=body.kind, email=body.email, country=body.country, handle=body.handle,
        names=_unicode("names", body.names), emails=_unicode("emails", body.emails),
        handles=_unicode("handles", body.handles), note=body.note,
        language=body.language or i18n.accept_language(request.headers.get("accept-language"))
        or i18n.DEFAULT_LANGUAGE,
    )  # fmt: skip
    with portal.registry() as registry:
        return submit_data(portal, registry, form, client_ip(request))


@public.post("/requests/{request_id}/verify", response_model=OutcomeOut)
def verify(request: Request, request_id: RequestId, body: CodeIn) -> OutcomeOut:
    """Enter the code from the e-mail; the request is then accepted or put to review.

    The answer's ``status_token`` is the only key to the request's status and answer. A
    verified duplicate of a pending request is merged into it: the answer is then the
    pending request's."""
    portal = portal_of(request)
    with portal.registry() as registry:
        return verify_data(portal, registry, request_id, body.code)


@public.post("/requests/{request_id}/resend", status_code=202, response_model=ReceiptOut)
def resend(request: Request, request_id: RequestId) -> ReceiptOut:
    """Mail a new code (within the registry's cooldown and hourly cap)."""
    portal = portal_of(request)
    with portal.registry() as registry:
        return resend_data(portal, registry, request_id)


@public.get("/requests/{request_id}", response_model=StatusOut)
def status(request: Request, grant: Annotated[RequestGrant, Depends(request_grant)]) -> StatusOut:
    """The request's stage; the same data as the status page. Needs the status token
    (``Authorization: Bearer <status_token>`` or ``?token=``); without it, 404."""
    with portal_of(request).registry() as registry:
        return status_data(registry, grant)


@public.get("/policy", response_model=PolicyOut)
def policy(request: Request) -> PolicyOut:
    """The active policy: what is used for training and what is not."""
    return policy_data(portal_of(request).policy)


@pipelines.get("/subjects/{user_id}/status", response_model=SubjectStatus)
def subject_status(
    request: Request,
    user_id: Annotated[int, Path(ge=0, le=INT64_MAX, description="accounts.user_id")],
    key: Annotated[ApiKeyView, Depends(api_key)],
) -> SubjectStatus:
    """An account's effective decisions (objection, erasure, consent) and pending requests."""
    require_scope(key, "status")
    with portal_of(request).registry() as registry:
        return subject_statuses(registry, [user_id])[0]


@pipelines.post("/subjects/status", response_model=SubjectBatchOut)
def subjects_status(
    request: Request, body: SubjectBatchIn, key: Annotated[ApiKeyView, Depends(api_key)]
) -> SubjectBatchOut:
    """The same for up to 1000 accounts at once, in the order asked."""
    require_scope(key, "status")
    for user_id in body.user_ids:
        if not 0 <= user_id <= INT64_MAX:
            raise RequestInvalid("user_ids", f"{user_id} is not an account id")
    with portal_of(request).registry() as registry:
        return SubjectBatchOut(subjects=subject_statuses(registry, body.user_ids))


router.include_router(public)
router.include_router(pipelines)
