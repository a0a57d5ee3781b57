"""The registry as one object: what the portal, the CLI and the demo call.

``Registry`` wraps a SQLAlchemy session with the registry's settings, the platform's
accounts and a clock (tests pass a fake one). Every method is one step in one
transaction, returns plain dataclasses from :mod:`notrain.registry.views` and raises
errors from :mod:`notrain.errors`. Mail is queued by the steps and sent by
:meth:`Registry.deliver_mail`, which the caller runs after a step (or on a timer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from notrain.mail.queue import DeliveryReport, deliver_due
from notrain.mail.transport import Transport
from notrain.registry import audit, deadlines, decisions, intake, notices
from notrain.registry.accounts import AccountDirectory, NoAccounts, load_accounts
from notrain.registry.config import RegistryConfig
from notrain.registry.db import session_factory
from notrain.registry.export import ExportResult, export_snapshot
from notrain.registry.forms import RequestForm, clean
from notrain.registry.imports import ImportResult, import_requests
from notrain.registry.models import Request
from notrain.registry.officers import OfficerView, authenticate, create_officer
from notrain.registry.reminders import queue_reminders
from notrain.registry.views import Outcome, PublicStatus, Receipt, RequestView, stage_of
from notrain.settings import Settings, get_settings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Registry:
    def __init__(
        self,
        session: Session,
        config: RegistryConfig,
        accounts: AccountDirectory | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.session = session
        self.config = config
        self.accounts = accounts or NoAccounts()
        self.clock = clock

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    # -- requesters ----------------------------------------------------------------------

    def submit(self, form: RequestForm, source: str = "portal") -> Receipt:
        """Take a request in and send a code; a pending duplicate is returned as it is."""
        return intake.submit(self.session, self.config, clean(form), now=self.now(), source=source)

    def resend_code(self, request_id: str) -> Receipt:
        return intake.resend(self.session, self.config, request_id, now=self.now())

    def verify(self, request_id: str, code: str) -> Outcome:
        return intake.verify(
            self.session, self.config, self.accounts, request_id, code, now=self.now()
        )

    def status(self, request_id: str) -> PublicStatus:
        with intake.step(self.session):
            request = intake.load(self.session, request_id)
            stage = stage_of(request.state)
            return PublicStatus(request.id, stage, request.due_at if stage == "received" else None)

    # -- officers ------------------------------------------------------------------------

    def decide(
        self, request_id: str, *, accept: bool, officer: str, reason: str | None = None
    ) -> RequestView:
        decisions.decide(
            self.session, request_id, accept=accept, officer=officer, reason=reason, now=self.now()
        )
        return self.get(request_id)

    def extend(self, request_id: str, *, months: int, reason: str, officer: str) -> RequestView:
        decisions.extend(
            self.session, request_id, months=months, reason=reason, officer=officer, now=self.now()
        )
        return self.get(request_id)

    def apply(self, request_id: str, *, actor: str, answer: str | None = None) -> RequestView:
        decisions.apply(self.session, request_id, actor=actor, answer=answer, now=self.now())
        return self.get(request_id)

    def get(self, request_id: str, *, events: bool = True) -> RequestView:
        with intake.step(self.session):
            request = intake.load(self.session, request_id)
            trail = audit.events_for(self.session, request_id) if events else None
            return RequestView.of(request, trail)

    def list(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        overdue: bool = False,
        due_soon: bool = False,
        limit: int = 1000,
    ) -> list[RequestView]:
        now = self.now()
        stmt: Select[Request]
        if overdue:
            stmt = deadlines.overdue(now)
        elif due_soon:
            stmt = deadlines.due_soon(now, self.config.due_soon_days)
        else:
            stmt = select(Request).order_by(Request.received_at, Request.id)
        if state:
            stmt = stmt.where(Request.state == state)
        if kind:
            stmt = stmt.where(Request.kind == kind)
        stmt = stmt.options(
            selectinload(Request.identifiers), selectinload(Request.subjects)
        ).limit(limit)
        with intake.step(self.session):
            return [RequestView.of(r) for r in self.session.scalars(stmt)]

    def create_officer(self, username: str, password: str, *, actor: str) -> OfficerView:
        return create_officer(self.session, username, password, now=self.now(), actor=actor)

    def authenticate(self, username: str, password: str) -> OfficerView:
        return authenticate(self.session, username, password)

    # -- the record ----------------------------------------------------------------------

    def verify_audit(self) -> audit.AuditReport:
        with intake.step(self.session):
            return audit.verify(self.session)

    def audit_hashes(self, hashes: set[str]) -> set[str]:
        with intake.step(self.session):
            return audit.known_hashes(self.session, hashes)

    def export(self, out: Path) -> ExportResult:
        accounts = None if isinstance(self.accounts, NoAccounts) else self.accounts
        return export_snapshot(self.session, out, accounts=accounts, now=self.now())

    def import_file(self, path: Path, *, verified: bool = False) -> ImportResult:
        return import_requests(
            self.session, self.config, self.accounts, path, now=self.now(), verified_all=verified
        )

    def deliver_mail(self, transport: Transport, limit: int = 500) -> DeliveryReport:
        queue_reminders(
            self.session, self.config.code_reminder_hours, self.config.codes, now=self.now()
        )
        return deliver_due(
            self.session,
            transport,
            notices.renderer(self.config),
            self.now(),
            retry_seconds=self.config.retry_seconds,
            limit=limit,
            batch_size=self.config.mail_batch_size,
            on_sent=notices.audit_sent,
            on_failed=notices.audit_failed,
        )


@contextmanager
def open_registry(
    url: str | None = None,
    *,
    accounts: str | Path | None = None,
    settings: Settings | None = None,
    clock: Clock = utc_now,
) -> Iterator[Registry]:
    """A registry on ``url`` (default: NOTRAIN_DATABASE_URL), migrated, for one use."""
    settings = settings or get_settings()
    factory = session_factory(url or settings.database_url)
    directory = load_accounts(accounts if accounts is not None else settings.accounts_path)
    config = RegistryConfig.from_settings(settings)
    session = factory()
    try:
        yield Registry(session, config, directory, clock)
    finally:
        session.close()
        bind = factory.kw.get("bind")
        if bind is not None:
            bind.dispose()
