"""The schema comes from the shipped migrations, on first use or on demand, on both databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from notrain.errors import DatabaseError
from notrain.registry.db import (
    create_registry_engine,
    current_revision,
    database_url,
    ensure_schema,
    head_revision,
    migrate,
)
from notrain.registry.models import Base


def test_first_use_migrates_and_models_match_the_migrations(database_url: str) -> None:
    engine = create_registry_engine(database_url)
    try:
        assert current_revision(engine) is None
        ensure_schema(engine)
        assert current_revision(engine) == head_revision()
        ensure_schema(engine)  # a second time is a no-op
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            tables = set(inspect(connection).get_table_names())
        assert differences == []
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
    finally:
        engine.dispose()


def test_migrate_command(database_url: str) -> None:
    command = [sys.executable, "-m", "notrain.cli", "registry", "migrate", "--db", database_url]
    for _ in range(2):
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert f"revision {head_revision()}" in proc.stdout
    engine = create_registry_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
        assert migrate(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_urls_use_psycopg_for_postgresql(url: str, driver: str) -> None:
    assert database_url(url).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_databases_are_refused(url: str) -> None:
    with pytest.raises(DatabaseError):
        database_url(url)


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "requests", "list",
         "--db", "postgresql://nobody:secret@127.0.0.1:1/none"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 9
    assert proc.stderr.startswith("error: postgresql+psycopg://nobody:***@127.0.0.1:1/none")
    assert "secret" not in proc.stderr
    assert "Traceback" not in proc.stderr
