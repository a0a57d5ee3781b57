"""What the portal holds for its lifetime, and how a request reaches the registry.

One :class:`Portal` per app: the settings, the registry's session factory and working
values, the accounts, the mail transport and pump, the active policy, the rate limiter and
the metrics. Each HTTP request opens its own :class:`~notrain.registry.service.Registry`
(one database session) and closes it when the answer is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from notrain.mail.transport import Transport, transport_from_settings
from notrain.policy.loader import LoadedPolicy, load_default_policy, load_policy
from notrain.portal.mailer import MailPump
from notrain.portal.metrics import Metrics
from notrain.portal.security import RateLimiter
from notrain.portal.sessions import SessionPolicy
from notrain.registry.accounts import AccountDirectory, load_accounts
from notrain.registry.config import RegistryConfig
from notrain.registry.db import session_factory
from notrain.registry.service import Clock, Registry, utc_now
from notrain.settings import Settings


@dataclass
class Portal:
    settings: Settings
    factory: sessionmaker[Session]
    config: RegistryConfig
    accounts: AccountDirectory
    transport: Transport
    policy: LoadedPolicy
    clock: Clock = utc_now
    limiter: RateLimiter = field(default_factory=RateLimiter)
    metrics: Metrics = field(default_factory=Metrics)
    mail: MailPump = field(init=False)

    def __post_init__(self) -> None:
        self.mail = MailPump(
            self.registry,
            self.transport,
            interval=min(5.0, float(self.config.retry_seconds)),
            workers=self.settings.portal_mail_workers,
            on_sent=self.metrics.mail_sent.inc,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock = utc_now, transport: Transport | None = None
    ) -> Portal:
        policy = (
            load_policy(Path(settings.policy_path))
            if settings.policy_path
            else load_default_policy()
        )
        return cls(
            settings=settings,
            factory=session_factory(settings.database_url),
            config=RegistryConfig.from_settings(settings),
            accounts=load_accounts(settings.accounts_path),
            transport=transport or transport_from_settings(settings),
            policy=policy,
            clock=clock,
        )

    @contextmanager
    def registry(self) -> Iterator[Registry]:
        session = self.factory()
        try:
            yield Registry(session, self.config, self.accounts, self.clock)
        finally:
            session.close()

    @property
    def sessions(self) -> SessionPolicy:
        return SessionPolicy(
            idle=timedelta(minutes=self.settings.portal_session_minutes),
            absolute=timedelta(hours=self.settings.portal_session_max_hours),
        )

    def ping(self) -> None:
        """Raises if the database cannot answer."""
        with self.registry() as registry:
            registry.session.execute(text("SELECT 1"))
            registry.session.rollback()

    def read_gauges(self) -> None:
        """Set the metrics read from the registry (shared by every process)."""
        with self.registry() as registry:
            self.metrics.verification_failures.set(registry.verification_failures())

    def close(self) -> None:
        self.mail.stop()
        bind = self.factory.kw.get("bind")
        if bind is not None:
            bind.dispose()


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal
