"""The privacy officer's console: sign-in, review queue, decisions, audit, reports.

Officers sign in with the registry's argon2 accounts (``notrain admin create-user``); the
session is described in :mod:`notrain.portal.sessions`. Every page's data can be read as
JSON too (``?format=json``). Decisions, extensions and answers go through the registry,
which audits them with the officer's name.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form
from markupsafe import Markup
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from notrain.errors import NotrainError, RequestInvalid, RequestStateError
from notrain.portal import sessions
from notrain.portal.context import portal_of
from notrain.portal.i18n import N_
from notrain.portal.pages import client_ip, csrf_guard
from notrain.portal.reports import charts, reports_csv, reports_data
from notrain.portal.request_access import check_request_id
from notrain.portal.responses import (
    error_text,
    gettext_of,
    redirect,
    render,
    retry_headers,
    rotate_csrf,
    set_cookie,
)
from notrain.portal.security import cookie_name
from notrain.portal.training import REQUEST_KIND_LABELS
from notrain.registry.officers import normalise_username
from notrain.registry.service import Registry
from notrain.registry.states import RequestState

LOGIN_WINDOW = 15 * 60
# What an officer types is stored as text; PostgreSQL refuses NUL in text, and no other
# control character but tab and line breaks belongs in a reason or an answer.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _typed(field: str, value: str) -> str:
    if _CONTROL.search(value):
        raise RequestInvalid(field, "holds control characters")
    return value


def _token(request: Request) -> str | None:
    secure = portal_of(request).settings.portal_secure_cookies
    return request.cookies.get(cookie_name(sessions.COOKIE, secure))


def signed_in(request: Request) -> sessions.SignedIn:
    """The signed-in officer; :class:`NotSignedIn` (a redirect to the sign-in page) else."""
    portal = portal_of(request)
    with portal.registry() as registry:
        officer = sessions.resume(registry.session, _token(request), portal.sessions,
                                  now=registry.now())  # fmt: skip
    request.state.officer = officer.officer
    return officer


Officer = Annotated[sessions.SignedIn, Depends(signed_in)]
login_router = APIRouter(
    prefix="/console", dependencies=[Depends(csrf_guard)], include_in_schema=False
)
router = APIRouter(
    prefix="/console",
    dependencies=[Depends(signed_in), Depends(csrf_guard)],
    include_in_schema=False,
)


# -- sign-in --------------------------------------------------------------------------------


class LoginPage(BaseModel):
    username: str


@login_router.get("/login")
def login_form(request: Request) -> Response:
    return render(request, "console/login.html", LoginPage(username=""))


@login_router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    portal = portal_of(request)
    limit = portal.settings.portal_login_rate_limit
    try:
        name = normalise_username(username)  # what the look-up uses, so the limit holds
        for bucket, key in (("login-ip", client_ip(request)), ("login-name", name)):
            portal.limiter.hit(bucket, key, limit=limit, window=LOGIN_WINDOW,
                               message="too many sign-in attempts")  # fmt: skip
        with portal.registry() as registry:
            # A name with control characters is no officer's (names are [a-z0-9._-]); it
            # is looked up as "", which is no one either, so the answer and the work (one
            # argon2 check) stay those of any unknown name, and no NUL reaches the database.
            lookup = "" if _CONTROL.search(username) else username
            officer = registry.authenticate(lookup, password)
            token = sessions.start(registry.session, officer.username, portal.sessions,
                                   now=registry.now(), replaces=_token(request))  # fmt: skip
    except NotrainError as exc:
        return render(
            request, "console/login.html", LoginPage(username=username[:64]),
            status=exc.http_status, context={"error": error_text(request, exc)},
            headers=retry_headers(exc),
        )  # fmt: skip
    rotate_csrf(request)
    response = redirect(request, "/console")
    set_cookie(request, response, sessions.COOKIE, token)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    portal = portal_of(request)
    with portal.registry() as registry:
        sessions.end(registry.session, _token(request), now=registry.now())
    rotate_csrf(request)
    response = redirect(request, "/console/login")
    secure = portal.settings.portal_secure_cookies
    response.delete_cookie(cookie_name(sessions.COOKIE, secure), path="/", secure=secure,
                           httponly=True, samesite="strict")  # fmt: skip
    return response


# -- the queue ------------------------------------------------------------------------------


# Why a request waits for a person, in words (views.REVIEW_REASONS codes).
REVIEW_TEXT = {
    "no_account": N_("No account has the address the requester proved."),
    "handle_elsewhere": N_("The handle given is not an account of the proved address."),
    "identifiers": N_("It names more than the proved address: names, other addresses or handles."),
    "needs_person": N_("Requests of this kind are decided by a person."),
}


class QueueItem(BaseModel):
    id: str
    kind: str
    state: str
    country: str
    member: bool | None
    review_reasons: list[str] = []
    received_at: datetime
    due_at: datetime
    extended_months: int
    overdue: bool
    due_soon: bool


class QueueOut(BaseModel):
    now: datetime
    items: list[QueueItem]
    overdue: int
    due_soon: int


_OPEN = (RequestState.VERIFIED, RequestState.NEEDS_REVIEW, RequestState.ACCEPTED)


def queue_data(registry: Registry) -> QueueOut:
    """Open requests by deadline, with the registry's own overdue and due-soon lists."""
    views = [v for state in _OPEN for v in registry.list(state=state.value, limit=10_000)]
    overdue = {v.id for v in registry.list(overdue=True, limit=10_000)}
    soon = {v.id for v in registry.list(due_soon=True, limit=10_000)}
    items = [
        QueueItem(
            id=v.id,
            kind=v.kind,
            state=v.state,
            country=v.country,
            member=v.member,
            review_reasons=v.review_reasons,
            received_at=v.received_at,
            due_at=v.due_at,
            extended_months=v.extended_months,
            overdue=v.id in overdue,
            due_soon=v.id in soon,
        )
        for v in views
    ]
    items.sort(key=lambda i: (i.due_at, i.id))
    return QueueOut(now=registry.now(), items=items, overdue=len(overdue), due_soon=len(soon))


@router.get("")
def queue(request: Request) -> Response:
    with portal_of(request).registry() as registry:
        data = queue_data(registry)
    return render(request, "console/queue.html", data,
                  context={"kinds": REQUEST_KIND_LABELS, "reasons": REVIEW_TEXT})  # fmt: skip


# -- one request ----------------------------------------------------------------------------


class RequestPage(BaseModel):
    request: dict[str, Any]
    overdue: bool
    due_soon: bool
    can_decide: bool
    can_extend: bool
    can_apply: bool


def request_data(registry: Registry, request_id: str) -> RequestPage:
    check_request_id(request_id)
    view = registry.get(request_id)
    overdue = any(v.id == request_id for v in registry.list(overdue=True, limit=10_000))
    soon = any(v.id == request_id for v in registry.list(due_soon=True, limit=10_000))
    return RequestPage(
        request=view.as_dict(),
        overdue=overdue,
        due_soon=soon,
        can_decide=view.state in (RequestState.VERIFIED, RequestState.NEEDS_REVIEW),
        can_extend=view.state in _OPEN and view.extended_months < 2,
        can_apply=view.state == RequestState.ACCEPTED,
    )


def _request_page(
    request: Request, request_id: str, *, error: NotrainError | None = None, status: int = 200
) -> Response:
    with portal_of(request).registry() as registry:
        data = request_data(registry, request_id)
    return render(
        request, "console/request.html", data, status=status,
        context={"kinds": REQUEST_KIND_LABELS, "done": request.query_params.get("done"),
                 "error": error_text(request, error) if error else None,
                 "reasons": REVIEW_TEXT},
    )  # fmt: skip


@router.get("/requests/{request_id}")
def show(request: Request, request_id: str) -> Response:
    return _request_page(request, request_id)


def _step(request: Request, request_id: str, done: str, action: Any) -> Response:
    portal = portal_of(request)
    check_request_id(request_id)
    try:
        with portal.registry() as registry:
            action(registry)
    except (RequestInvalid, RequestStateError) as exc:
        return _request_page(request, request_id, error=exc, status=exc.http_status)
    portal.mail.wake()
    return redirect(request, f"/console/requests/{request_id}?done={done}")


@router.post("/requests/{request_id}/decide")
def decide(
    request: Request,
    request_id: str,
    officer: Officer,
    outcome: Annotated[Literal["accept", "reject"], Form()],
    reason: Annotated[str, Form(max_length=2100)] = "",
    identity_checked: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    def act(registry: Registry) -> None:
        registry.decide(request_id, accept=outcome == "accept", officer=officer.officer,
                        reason=_typed("reason", reason) or None,
                        identity_checked=identity_checked == "yes")  # fmt: skip
        portal_of(request).metrics.decided.labels(outcome).inc()

    return _step(request, request_id, "decided", act)


@router.post("/requests/{request_id}/extend")
def extend(
    request: Request,
    request_id: str,
    officer: Officer,
    months: Annotated[int, Form(ge=1, le=2)],
    reason: Annotated[str, Form(max_length=2100)] = "",
) -> Response:
    def act(registry: Registry) -> None:
        registry.extend(request_id, months=months, reason=_typed("reason", reason),
                        officer=officer.officer)  # fmt: skip

    return _step(request, request_id, "extended", act)


@router.post("/requests/{request_id}/apply")
def apply(
    request: Request,
    request_id: str,
    officer: Officer,
    answer: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    def act(registry: Registry) -> None:
        registry.apply(request_id, actor=f"officer:{officer.officer}",
                       answer=_typed("answer", answer) or None)  # fmt: skip

    return _step(request, request_id, "applied", act)


# -- the record -----------------------------------------------------------------------------


class AuditProblemOut(BaseModel):
    seq: int
    kind: str
    message: str


class AuditOut(BaseModel):
    intact: bool
    events: int
    head_seq: int
    head_hash: str
    problems: list[AuditProblemOut]


def audit_data(registry: Registry) -> AuditOut:
    report = registry.verify_audit()
    return AuditOut(
        intact=report.intact, events=report.events, head_seq=report.head_seq,
        head_hash=report.head_hash,
        problems=[AuditProblemOut(seq=p.seq, kind=p.kind, message=p.message)
                  for p in report.problems],
    )  # fmt: skip


@router.get("/audit")
def audit(request: Request) -> Response:
    with portal_of(request).registry() as registry:
        data = audit_data(registry)
    return render(request, "console/audit.html", data)


@router.get("/reports")
def reports(request: Request) -> Response:
    with portal_of(request).registry() as registry:
        data = reports_data(registry)
    _ = gettext_of(request)

    def label(kind: str) -> str:
        return _(REQUEST_KIND_LABELS.get(kind, kind))

    svgs = {name: Markup(svg) for name, svg in charts(data, _, label).items()}
    return render(request, "console/reports.html", data,
                  context={"charts": svgs, "kinds": REQUEST_KIND_LABELS})  # fmt: skip


@router.get("/reports.csv")
def reports_export(request: Request) -> Response:
    with portal_of(request).registry() as registry:
        text = reports_csv(registry)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="notrain-requests.csv"',
            "cache-control": "no-store",
        },
    )
