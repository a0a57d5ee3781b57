"""The registry as one object: what the portal, the CLI and the demo call.

``Registry`` wraps a SQLAlchemy session with the registry's settings, the platform's
accounts and a clock (tests pass a fake one). Every method is one step in one
transaction, returns plain dataclasses from :mod:`notrain.registry.views` and raises
errors from :mod:`notrain.errors`. Mail is queued by the steps and sent by
:meth:`Registry.deliver_mail`, which the caller runs after a step (or on a timer).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from notrain.errors import RequestInvalid
from notrain.mail.queue import DeliveryReport, deliver_due
from notrain.mail.transport import Transport
from notrain.registry import (
    audit,
    deadlines,
    decisions,
    intake,
    members,
    notices,
    status_tokens,
    verification,
)
from notrain.registry.accounts import Account, AccountDirectory, NoAccounts, load_accounts
from notrain.registry.config import RegistryConfig
from notrain.registry.db import session_factory
from notrain.registry.export import ExportResult, export_snapshot
from notrain.registry.forms import RequestForm, clean
from notrain.registry.imports import ImportResult, import_requests
from notrain.registry.models import AuditEvent, Request
from notrain.registry.officers import OfficerView, authenticate, create_officer
from notrain.registry.reminders import queue_reminders
from notrain.registry.views import (
    Outcome,
    PublicStatus,
    Receipt,
    RequestView,
    review_reasons_of,
    stage_of,
)
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

    def submit(
        self, form: RequestForm, source: str = "portal", *, client: str | None = None
    ) -> Receipt:
        """Take a request in and send a code: always a new request, whatever exists; codes
        are counted per ``client`` (its network address) and address."""
        return intake.submit(
            self.session, self.config, clean(form), now=self.now(), source=source, client=client
        )

    def resend_code(self, request_id: str) -> Receipt:
        return intake.resend(self.session, self.config, request_id, now=self.now())

    def verify(self, request_id: str, code: str) -> Outcome:
        return intake.verify(
            self.session, self.config, self.accounts, request_id, code, now=self.now()
        )

    def awaiting_code(self, request_id: str) -> bool:
        """Whether the request still waits for its code (what the id alone may tell)."""
        with intake.step(self.session):
            request = intake.load(self.session, request_id)
            return request.state == "submitted" and request.merged_into is None

    def open(self, request_id: str, token: str | None) -> None:
        """Check that ``token`` is the request's status token; else RequestNotFound, as for a
        request that does not exist."""
        with intake.step(self.session):
            intake.check_token(self.session, self.config.secret_key, request_id, token)

    def status(self, request_id: str, token: str | None) -> PublicStatus:
        """The request's stage, for the holder of its status token."""
        with intake.step(self.session):
            request = intake.check_token(self.session, self.config.secret_key, request_id, token)
            stage = stage_of(request.state)
            due = request.due_at if stage == "received" else None
            return PublicStatus(request.id, stage, due, request.language)

    def status_token(self, request_id: str) -> str | None:
        """The token of a verified request, for an officer who must send its link again."""
        with intake.step(self.session):
            request = intake.load(self.session, request_id)
            return status_tokens.token_for(self.config.secret_key, request)

    def verification_failures(self) -> int:
        """Failed verifications over the last hour, all addresses (see verification.py)."""
        with intake.step(self.session):
            return verification.failures_last_hour(self.session, self.now())

    def member(self, user_id: int) -> Account | None:
        """The platform's account ``user_id``, for a member it vouches for."""
        return members.account_of(self.accounts, user_id)

    def member_request(
        self,
        user_id: int,
        kind: str,
        *,
        source: str,
        actor: str,
        evidence: dict[str, str] | None = None,
        idempotency: members.Idempotency | None = None,
    ) -> members.MemberReceipt:
        """A request of a member the platform vouches for: verified at once (see members)."""
        receipt = members.submit(
            self.session, self.accounts, user_id, kind, now=self.now(), source=source,
            actor=actor, evidence=evidence, idempotency=idempotency,
        )  # fmt: skip
        return dataclasses.replace(receipt, status_token=self.status_token(receipt.request_id))

    # -- officers ------------------------------------------------------------------------

    def decide(
        self,
        request_id: str,
        *,
        accept: bool,
        officer: str,
        reason: str | None = None,
        identity_checked: bool = False,
    ) -> RequestView:
        """Accept or reject. Accepting an access or erasure request that reaches beyond the
        address its requester proved needs ``identity_checked``: the officer says they made
        sure the requester is the person those identifiers name (audited with the decision).
        """
        if accept and self.get(request_id, events=False).identity_check:
            if not identity_checked:
                raise RequestInvalid(
                    "identity_checked",
                    "this request names more than the address its requester proved: confirm "
                    "that you checked the requester is the person it names before accepting",
                )
            reason = f"{reason}; identity checked" if reason else "identity checked"
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
            found = list(self.session.scalars(stmt))
            review = self._review_reasons([r.id for r in found if r.state == "needs_review"])
            return [RequestView.of(r, review=review.get(r.id, [])) for r in found]

    def _review_reasons(self, ids: Sequence[str]) -> dict[str, builtins.list[str]]:
        """Why each request was put to review, from its audit events (in chunks, so a long
        list stays within the database's limit on parameters)."""
        events: dict[str, builtins.list[AuditEvent]] = defaultdict(builtins.list)
        for start in range(0, len(ids), 500):
            for event in self.session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.request_id.in_(ids[start : start + 500]),
                    AuditEvent.action == "transition",
                )
                .order_by(AuditEvent.seq)
            ):
                events[str(event.request_id)].append(event)
        return {request_id: review_reasons_of(found) for request_id, found in events.items()}

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
