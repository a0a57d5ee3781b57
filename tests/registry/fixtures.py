"""Fixtures of the registry's tests: a database per test on SQLite and on PostgreSQL.

PostgreSQL comes from ``NOTRAIN_TEST_POSTGRES_URL`` (``scripts/postgres.sh start`` prints
one; ``.ci/run`` exports it). Without it the PostgreSQL half skips on a developer's
machine and fails in CI (``CI=true``), so CI can never pass on SQLite alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from notrain.contracts import ACCOUNTS
from notrain.mail.transport import OutboxTransport
from notrain.registry.accounts import AccountIndex
from notrain.registry.campaign import read_codes
from notrain.registry.config import RegistryConfig
from notrain.registry.db import database_url as parse_url
from notrain.registry.db import session_factory
from notrain.registry.forms import RequestForm
from notrain.registry.service import Registry
from notrain.registry.verification import CodePolicy

POSTGRES_ENV = "NOTRAIN_TEST_POSTGRES_URL"
KEY = b"test-secret-key-0123456789abcdef"
START = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)

# Accounts: Alice has two accounts on one address; Bob one; Carol none with an address.
ALICE = "alice@mail.example.com"
BOB = "bob@example.org"
STRANGER = "dana.stranger@example.net"
ACCOUNT_ROWS = [
    (1, "alice", ALICE, "DE"),
    (2, "alice_work", ALICE, "DE"),
    (3, "bob", BOB, "FR"),
    (4, "carol", None, "IT"),
]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        message = f"{POSTGRES_ENV} is unset; `scripts/postgres.sh start` prints a URL"
        if _in_ci():
            pytest.fail(f"{message} (CI runs every test on PostgreSQL too)")
        pytest.skip(message)
    name = f"notrain_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(parse_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> RegistryConfig:
    return RegistryConfig(secret_key=KEY, codes=CodePolicy(), retry_seconds=60)


@pytest.fixture
def accounts_path(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.parquet"
    created = datetime(2020, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "user_id": [r[0] for r in ACCOUNT_ROWS],
            "handle": [r[1] for r in ACCOUNT_ROWS],
            "email": [r[2] for r in ACCOUNT_ROWS],
            "country": [r[3] for r in ACCOUNT_ROWS],
            "birth_date": [None] * len(ACCOUNT_ROWS),
            "created_at": [created] * len(ACCOUNT_ROWS),
        }
    ).cast(ACCOUNTS)
    pq.write_table(table, path)
    return path


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    factory = session_factory(database_url)
    session = factory()
    try:
        yield session
    finally:
        session.close()
        engine = factory.kw["bind"]
        engine.dispose()


@pytest.fixture
def registry(
    session: Session, config: RegistryConfig, accounts_path: Path, clock: FakeClock
) -> Registry:
    return Registry(session, config, AccountIndex.from_parquet(accounts_path), clock)


@pytest.fixture
def outbox(tmp_path: Path) -> OutboxTransport:
    return OutboxTransport(tmp_path / "outbox")


@dataclass
class Requester:
    """Plays the person: submits, reads the mail, types the code."""

    registry: Registry
    outbox: OutboxTransport

    def submit(
        self, email: str, kind: str = "objection", *, country: str = "DE", **extra: Any
    ) -> str:
        form = RequestForm(kind=kind, email=email, country=country, **extra)
        return self.registry.submit(form).request_id

    def code(self, email: str) -> str:
        self.registry.deliver_mail(self.outbox)
        return read_codes(self.outbox.folder)[email]

    def confirm(self, request_id: str, email: str) -> str:
        return self.registry.verify(request_id, self.code(email)).state

    def request(self, email: str, kind: str = "objection", **extra: Any) -> str:
        """Submit and verify; returns the request id."""
        request_id = self.submit(email, kind, **extra)
        self.confirm(request_id, email)
        return request_id


@pytest.fixture
def person(registry: Registry, outbox: OutboxTransport) -> Requester:
    return Requester(registry, outbox)
