"""Opening the registry database and bringing its schema up to date.

``NOTRAIN_DATABASE_URL`` names the database: a SQLite file by default, PostgreSQL in
production (``postgresql://`` URLs are driven by psycopg 3). The schema belongs to the
Alembic migrations shipped in ``migrations/``; they run programmatically on first use or
through ``notrain registry migrate``, never by hand.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from notrain.errors import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant will do: it only has to be the same for every notrain process.
_MIGRATION_LOCK = 0x6E6F747261696E


def database_url(url: str) -> URL:
    """Parse ``url``; plain ``postgresql://`` (or ``postgres://``) means psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"{url!r} is not a database URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"{safe_url(parsed)}: only SQLite and PostgreSQL are supported")
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def create_registry_engine(url: str) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_transactions(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _private_file(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (0600; SQLite gives its WAL and
    shared-memory files the database file's mode). An existing file keeps its mode:
    ``notrain doctor`` warns when others may read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # SQLite reports what is wrong with the path when it opens it
    os.close(fd)


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLite run real transactions that take the write lock when they begin.

    pysqlite begins a transaction only before the first write, so a step that reads, then
    writes (the audit chain's head, a code's attempts) could act on a stale read. Taking
    the lock at BEGIN makes every step serial, which is what the audit chain needs.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        del record
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> str:
    """Upgrade the schema to the newest revision; returns it. Safe to run concurrently."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"{safe_url(engine.url)}: migration failed: {first_line(exc)}"
        ) from None
    return head_revision()


def ensure_schema(engine: Engine) -> None:
    """Migrate if the database is new or behind; cheap when it is up to date."""
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"{safe_url(engine.url)}: cannot connect: {first_line(exc)}") from None
    if current != head_revision():
        migrate(engine)


def session_factory(url: str, *, migrate_schema: bool = True) -> sessionmaker[Session]:
    """Sessions on the registry at ``url``, its schema brought up to date first."""
    engine = create_registry_engine(url)
    if migrate_schema:
        ensure_schema(engine)
    return sessionmaker(engine, expire_on_commit=False)


def first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
