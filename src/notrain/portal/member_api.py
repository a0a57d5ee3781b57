"""The platform's server makes a member's request: ``POST /api/v1/subjects/{user_id}/requests``.

The platform's settings page calls it when a member flips "Don't use my content for AI
training": the platform vouches for its signed-in member, so the request is verified at
once (see :mod:`notrain.registry.members`) and the confirmation goes to the account's
address. It takes an API key with the ``submit`` scope (403 without), and an
``Idempotency-Key`` header makes a retried call return the request the first call made
(200) instead of making another (201). The audit trail names the key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from notrain.errors import NotAMember, RequestNotFound
from notrain.portal.api import api_key
from notrain.portal.context import portal_of
from notrain.portal.models import INT64_MAX, ErrorResponse, KindName
from notrain.registry.apikeys import ApiKeyView, require_scope
from notrain.registry.members import PLATFORM, Idempotency

router = APIRouter(
    prefix="/api/v1",
    tags=["platform"],
    responses={
        status: {"model": ErrorResponse, "description": text}
        for status, text in {
            401: "no valid key",
            403: "the key lacks the submit scope",
            404: "no such account",
            422: "a field is malformed, or the Idempotency-Key was used for another call",
            503: "the database is unavailable",
        }.items()
    },
)


class MemberRequestIn(BaseModel):
    kind: KindName = Field(description="What the member asks for.")


class MemberRequestOut(BaseModel):
    request_id: str
    user_id: int
    kind: str
    state: str = Field(description="accepted (objection, withdrawals) or needs_review.")
    due_at: datetime
    status_url: str
    status_token: str = Field(
        description="Opens the request's status and receipts (Authorization: Bearer)."
    )
    created: bool = Field(description="False when an earlier identical call's request is given.")


@router.post("/subjects/{user_id}/requests", status_code=201, response_model=MemberRequestOut)
def submit_for_member(
    request: Request,
    response: Response,
    user_id: Annotated[int, Path(ge=0, le=INT64_MAX, description="accounts.user_id")],
    body: MemberRequestIn,
    key: Annotated[ApiKeyView, Depends(api_key)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=128,
            description="Any unique string; the same call with it again makes no new request.",
        ),
    ] = None,
) -> MemberRequestOut:
    """Make a member's request for them (the member acted on the platform); needs ``submit``."""
    require_scope(key, "submit")
    portal = portal_of(request)
    try:
        with portal.registry() as registry:
            receipt = registry.member_request(
                user_id, body.kind, source=PLATFORM, actor=key.actor,
                evidence={"api_key": key.name},
                idempotency=Idempotency(key.id, idempotency_key) if idempotency_key else None,
            )  # fmt: skip
    except NotAMember:
        raise RequestNotFound(f"no account {user_id}") from None
    if receipt.created:
        portal.metrics.submitted.labels(body.kind).inc()
        portal.mail.wake()
    else:
        response.status_code = 200
    token = quote(receipt.status_token or "", safe="")
    return MemberRequestOut(
        request_id=receipt.request_id,
        user_id=user_id,
        kind=receipt.kind,
        state=receipt.state,
        due_at=receipt.due_at,
        status_url=f"/requests/{receipt.request_id}?token={token}",
        status_token=receipt.status_token or "",
        created=receipt.created,
    )
