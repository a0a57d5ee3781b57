"""The privacy officer's console: sign-in, review queue, decisions, audit, reports.

Officers sign in with the registry's argon2 accounts (``notrain admin create-user``); the
session is described in :mod:`notrain.portal.sessions`. Every page's data can be read as
JSON too (``?format=json``). Decisions, extensions and answers go through the registry,
which audits them with the officer's name.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from markupsafe import Markup
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from notrain.errors import NotrainError, RequestInvalid, RequestNotFound, RequestStateError
from notrain.portal import sessions
from notrain.portal.context import Portal, portal_of
from notrain.portal.i18n import N_
from notrain.portal.pages import client_ip, csrf_guard
from notrain.portal.reports import ReportsOut, charts, csv_lines, reports_data
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
from notrain.registry import bulk, intake, queue
from notrain.registry.bulk import Selection
from notrain.registry.countries import ISO_3166_ALPHA2
from notrain.registry.models import QUEUE_TABS
from notrain.registry.officers import normalise_username
from notrain.registry.service import Registry
from notrain.registry.states import RequestState
from notrain.registry.views import QueuePage, QueueRow

log = logging.getLogger("notrain.portal.console")
LOGIN_WINDOW = 15 * 60
COUNTRIES = sorted(ISO_3166_ALPHA2)
_JOB_ID = re.compile(r"bulk-[0-9a-f]{16}")
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


class TabOut(BaseModel):
    name: str
    count: int | None  # None on a search


class QueueOut(BaseModel):
    now: datetime
    tab: str
    filter: dict[str, str]
    tabs: list[TabOut]
    count: int | None  # what the filter matches in this tab (None on a search)
    items: list[QueueItem]
    next_cursor: str | None
    prev_cursor: str | None
    overdue: int | None
    due_soon: int | None
    search: str | None = None


TAB_LABELS = {
    "decide": N_("To decide"),
    "export": N_("Accepted, waiting for export"),
    "code": N_("Awaiting the code"),
    "closed": N_("Closed"),
}


def _items(rows: list[QueueRow], reasons: dict[str, list[str]]) -> list[QueueItem]:
    return [QueueItem(**asdict(r), review_reasons=reasons.get(r.id, [])) for r in rows]


def queue_data(
    registry: Registry,
    flt: queue.QueueFilter,
    *,
    after: str | None = None,
    before: str | None = None,
    search: str | None = None,
    size: int = queue.PAGE_SIZE,
) -> QueueOut:
    """One page of a tab, the counts of every tab under the same filter, or a search."""
    now, days = registry.now(), registry.config.due_soon_days
    session = registry.session
    counts: dict[str, int | None] = dict.fromkeys(queue.TABS)
    overdue = soon = None
    with intake.step(session):
        if search:
            # A search answers from one index; the tabs' counts (scans of their indexes)
            # are left out.
            rows = queue.search(session, registry.config.secret_key, search, now=now,
                                due_soon_days=days)  # fmt: skip
            found = QueuePage(rows, None, None)
        else:
            found = queue.page(session, flt, now=now, due_soon_days=days, after=after,
                               before=before, size=size)  # fmt: skip
            counts.update(queue.counts(session, flt, now=now, due_soon_days=days))
            overdue = queue.count(session, replace(flt, overdue=True), now=now,
                                  due_soon_days=days)  # fmt: skip
            soon = queue.count(session, replace(flt, due_soon=True), now=now, due_soon_days=days)
        reasons = queue.review_reasons(session, [r.id for r in found.rows])
    return QueueOut(
        now=now, tab=flt.tab, filter=flt.params(),
        tabs=[TabOut(name=t, count=counts[t]) for t in queue.TABS],
        count=counts[flt.tab], items=_items(found.rows, reasons), next_cursor=found.next_cursor,
        prev_cursor=found.prev_cursor, search=search or None, overdue=overdue, due_soon=soon,
    )  # fmt: skip


def _filter_of(request: Request) -> queue.QueueFilter:
    return queue.QueueFilter.parse(dict(request.query_params))


@router.get("")
def queue_page(request: Request) -> Response:
    params = request.query_params
    flt = _filter_of(request)
    with portal_of(request).registry() as registry:
        data = queue_data(registry, flt, after=params.get("after"), before=params.get("before"),
                          search=params.get("q"))  # fmt: skip
    return render(request, "console/queue.html", data, context=_queue_context())


def _queue_context() -> dict[str, Any]:
    return {"kinds": REQUEST_KIND_LABELS, "tab_labels": TAB_LABELS, "tab_states": QUEUE_TABS,
            "countries": COUNTRIES, "reasons": REVIEW_TEXT, "urlencode": urlencode}  # fmt: skip


# -- bulk decisions -------------------------------------------------------------------------


class BulkPreviewOut(BaseModel):
    action: str
    reason: str | None
    months: int | None
    filter: dict[str, str] | None
    ids: list[str]
    count: int


class BulkJobOut(BaseModel):
    job_id: str
    action: str
    total: int
    done: int
    skipped: int
    finished: bool
    skipped_items: list[tuple[str, str]]


async def _bulk_form(request: Request) -> tuple[Selection, str, str | None, int | None]:
    """The selection and the decision a bulk form names (as the preview and the
    confirmation both send them)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    action = fields.get("action", "")
    reason = _typed("reason", fields.get("reason", "")) or None
    months_text = fields.get("months", "")
    months = int(months_text) if months_text.isdigit() else None
    if fields.get("scope") == "ticked":
        ids = tuple(dict.fromkeys(v for v in form.getlist("ids") if isinstance(v, str)))
        for request_id in ids:
            check_request_id(request_id)
        if not ids:
            raise RequestInvalid("ids", "tick at least one request, or choose every request "
                                 "that matches the filter")  # fmt: skip
        selection = Selection(ids=ids)
    else:
        filters = {k.removeprefix("f_"): v for k, v in fields.items() if k.startswith("f_")}
        selection = Selection(filter=queue.QueueFilter.parse(filters))
    bulk.check_action(action, reason, months)
    return selection, action, reason, months


@router.post("/bulk/preview")
async def bulk_preview(request: Request) -> Response:
    """What a bulk decision would take, for the officer to confirm."""
    selection, action, reason, months = await _bulk_form(request)
    portal = portal_of(request)
    with portal.registry() as registry:
        count = bulk.preview(registry.session, selection, now=registry.now(),
                             due_soon_days=registry.config.due_soon_days)  # fmt: skip
    data = BulkPreviewOut(
        action=action, reason=reason, months=months if action == "extend" else None,
        filter=selection.filter.params() if selection.filter else None,
        ids=list(selection.ids), count=count,
    )  # fmt: skip
    return render(request, "console/bulk_preview.html", data, context=_queue_context())


def _run_in_background(portal: Portal, app_state: Any, job_id: str) -> None:
    """Work through a job in a thread of its own; one thread per job per process."""
    runs: dict[str, threading.Thread] = app_state.__dict__.setdefault("_bulk_runs", {})
    running = runs.get(job_id)
    if running is not None and running.is_alive():
        return

    def work() -> None:
        try:
            with portal.registry() as registry:
                bulk.run(registry.session, job_id, clock=registry.now,
                         on_batch=lambda _: portal.mail.wake())  # fmt: skip
        except Exception:  # the job stays unfinished; opening its page resumes it
            log.exception("bulk decision %s stopped", job_id)

    thread = threading.Thread(target=work, name=f"notrain-{job_id}", daemon=True)
    runs[job_id] = thread
    thread.start()


@router.post("/bulk")
async def bulk_confirm(request: Request, officer: Officer) -> Response:
    """Freeze the confirmed selection into a job and start it."""
    selection, action, reason, months = await _bulk_form(request)
    portal = portal_of(request)
    with portal.registry() as registry:
        started = bulk.start(
            registry.session, selection, action=action, officer=officer.officer, reason=reason,
            months=months, now=registry.now(), due_soon_days=registry.config.due_soon_days,
        )  # fmt: skip
    _run_in_background(portal, request.app.state, started.job_id)
    return redirect(request, f"/console/bulk/{started.job_id}")


@router.get("/bulk/{job_id}")
def bulk_job(request: Request, job_id: str) -> Response:
    """A bulk decision's progress; an unfinished one left by a stopped process resumes."""
    if not _JOB_ID.fullmatch(job_id):
        raise RequestNotFound("no bulk decision has this id")
    portal = portal_of(request)
    with portal.registry() as registry:
        progress = bulk.progress(registry.session, job_id)
        skipped = bulk.skipped_items(registry.session, job_id)
    if not progress.finished:
        _run_in_background(portal, request.app.state, job_id)
    data = BulkJobOut(**asdict(progress), skipped_items=list(skipped))
    return render(request, "console/bulk_job.html", data, context=_queue_context())


_OPEN = (RequestState.VERIFIED, RequestState.NEEDS_REVIEW, RequestState.ACCEPTED)


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
    now, is_open = registry.now(), view.state in _OPEN
    overdue = is_open and view.due_at < now
    soon = is_open and now <= view.due_at <= now + timedelta(days=registry.config.due_soon_days)
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


REPORTS_MAX_AGE = 60.0  # seconds a computed report is served before it is made again


def _reports_cached(portal: Portal, app_state: Any) -> ReportsOut:
    """The report, computed at most once a minute per process: its grouped scans take
    seconds on a registry of millions, and a figure a minute old serves a report well
    (the page says when it was computed; the CSV export is always live)."""
    kept: dict[str, Any] = app_state.__dict__  # Starlette's State keeps its own dict apart
    lock: threading.Lock = kept.setdefault("_reports_lock", threading.Lock())
    with lock:
        cached: tuple[float, ReportsOut] | None = kept.get("_reports")
        if cached is None or time.monotonic() - cached[0] > REPORTS_MAX_AGE:
            with portal.registry() as registry:
                cached = (time.monotonic(), reports_data(registry))
            kept["_reports"] = cached
        return cached[1]


@router.get("/reports")
def reports(request: Request) -> Response:
    data = _reports_cached(portal_of(request), request.app.state)
    _ = gettext_of(request)

    def label(kind: str) -> str:
        return _(REQUEST_KIND_LABELS.get(kind, kind))

    svgs = {name: Markup(svg) for name, svg in charts(data, _, label).items()}
    return render(request, "console/reports.html", data,
                  context={"charts": svgs, "kinds": REQUEST_KIND_LABELS})  # fmt: skip


@router.get("/reports.csv")
def reports_export(request: Request) -> Response:
    return StreamingResponse(
        csv_lines(portal_of(request).registry),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="notrain-requests.csv"',
            "cache-control": "no-store",
        },
    )
