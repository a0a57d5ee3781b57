"""Console accounts of privacy officers: argon2 hashes, one error for every failure."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notrain.errors import AuthenticationFailed, RequestInvalid, UserError
from notrain.registry.models import Officer
from notrain.registry.service import Registry

PASSWORD = "correct horse battery staple"


def test_create_and_authenticate(registry: Registry, session: Session) -> None:
    created = registry.create_officer("Olga", PASSWORD, actor="admin:test")
    assert created.username == "olga"
    stored = session.scalars(select(Officer.password_hash)).one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert registry.authenticate("olga", PASSWORD).id == created.id
    for name, password in (("olga", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationFailed, match="wrong name or password"):
            registry.authenticate(name, password)
    assert "officer_created" in list(_actions(registry))


def _actions(registry: Registry) -> list[str]:
    from notrain.registry.models import AuditEvent

    return list(registry.session.scalars(select(AuditEvent.action)))


def test_bad_names_passwords_and_duplicates(registry: Registry) -> None:
    with pytest.raises(RequestInvalid, match="password"):
        registry.create_officer("olga", "short", actor="admin:test")
    with pytest.raises(RequestInvalid, match="username"):
        registry.create_officer("x y", PASSWORD, actor="admin:test")
    registry.create_officer("olga", PASSWORD, actor="admin:test")
    with pytest.raises(UserError, match="exists already"):
        registry.create_officer("OLGA", PASSWORD, actor="admin:test")


def test_create_user_command(database_url: str, registry: Registry) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "admin", "create-user", "olga",
         "--password-stdin", "--db", database_url],
        input=PASSWORD + "\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "officer olga created" in proc.stdout
    assert registry.authenticate("olga", PASSWORD).username == "olga"
