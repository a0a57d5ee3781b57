"""Who may read a request: the holder of its status token, and nobody else.

The request id is only a receipt: it lets its holder enter the code and ask for a new one.
Everything else about a request (its status page and JSON, the access answer, receipts
and proofs) needs the status token that ``POST /api/v1/requests/{id}/verify`` (or the code
page) gave the person who entered the code. It comes as ``Authorization: Bearer <token>``
or as ``?token=`` in a link; without it, or with a wrong one, the answer is the 404 of an
unknown request, so a stranger learns nothing, not even that the request exists.

Routes take it as a dependency::

    @router.get("/requests/{request_id}/proof")
    def proof(grant: Annotated[RequestGrant, Depends(request_grant)]) -> ...:
        ...  # grant.request_id is open to this caller; grant.link("/proof") links back

or, with a registry already open, call :func:`open_request`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Path, Query, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from notrain.errors import RequestNotFound
from notrain.portal.context import portal_of
from notrain.registry.service import Registry
from notrain.registry.status_tokens import TOKEN_MAX

_REQUEST_ID = re.compile(r"^req-[0-9a-f]{16}$")

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StatusToken",
    description="Authorization: Bearer <status_token> (the token the verification gave).",
)


def check_request_id(request_id: str) -> str:
    """An id the registry could have made; anything else is simply not found."""
    if not _REQUEST_ID.match(request_id):
        raise RequestNotFound("no request has this id")
    return request_id


@dataclass(frozen=True)
class RequestGrant:
    """A request its caller has shown the status token for."""

    request_id: str
    token: str

    def link(self, suffix: str = "") -> str:
        """A link to the request's page ``suffix`` (e.g. ``/access.json``) with the token."""
        return f"/requests/{self.request_id}{suffix}?token={quote(self.token, safe='')}"


def presented_token(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    token: Annotated[
        str | None, Query(max_length=TOKEN_MAX, description="The status token, in a link.")
    ] = None,
) -> str | None:
    """The status token the caller sent: the Authorization header first, then ``?token=``."""
    return bearer.credentials if bearer is not None else token


def open_request(registry: Registry, request_id: str, token: str | None) -> RequestGrant:
    """The grant for ``request_id`` if ``token`` opens it; else RequestNotFound."""
    check_request_id(request_id)
    registry.open(request_id, token)
    assert token is not None  # open() refuses a missing token
    return RequestGrant(request_id, token)


def request_grant(
    request: Request,
    request_id: Annotated[str, Path(max_length=64, description="The id the receipt gave.")],
    token: Annotated[str | None, Depends(presented_token)] = None,
) -> RequestGrant:
    """FastAPI dependency: the route's ``{request_id}``, opened with the caller's token."""
    with portal_of(request).registry() as registry:
        return open_request(registry, request_id, token)
