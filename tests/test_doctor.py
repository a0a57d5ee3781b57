"""`notrain doctor` finds what is wrong with a deployment, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from notrain.doctor import Check, diagnose
from notrain.registry.config import RegistryConfig
from notrain.registry.db import create_registry_engine, ensure_schema, session_factory
from notrain.registry.forms import RequestForm
from notrain.registry.service import Registry
from notrain.settings import Settings
from tests.mail.smtp_server import free_port, smtp_server
from tests.registry.fixtures import KEY, FakeClock

STRONG = "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz"


def settings(tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'registry.db'}",
        "outbox_dir": str(tmp_path / "outbox"),
        "secret_key": SecretStr(STRONG),
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def migrated(config: Settings) -> None:
    engine = create_registry_engine(config.database_url)
    ensure_schema(engine)
    engine.dispose()


def test_healthy_deployment(tmp_path: Path) -> None:
    port = free_port()
    config = settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
    migrated(config)
    with smtp_server(port):
        checks = by_name(diagnose(config))
    assert {name: c.status for name, c in checks.items()} == {
        "database": "ok", "audit chain": "ok", "mail queue": "ok", "mail": "ok",
        "secret key": "ok", "verification": "ok", "database file": "ok",
    }  # fmt: skip


def test_unmigrated_database_unreachable_smtp_and_weak_key(tmp_path: Path) -> None:
    config = settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nothing listens there
        smtp_tls="none",
        smtp_timeout_seconds=2,
        secret_key=SecretStr("changeme"),
    )
    checks = by_name(diagnose(config))
    assert checks["database"].status == "fail"
    assert "not migrated" in checks["database"].detail
    assert checks["mail"].status == "fail"
    assert checks["secret key"].status == "fail"


def test_outbox_only_is_a_warning(tmp_path: Path) -> None:
    config = settings(tmp_path)
    migrated(config)
    assert by_name(diagnose(config))["mail"].status == "warn"


def test_tampered_audit_chain_and_exposed_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(STRONG)
    key_file.chmod(0o644)
    config = settings(tmp_path, secret_key=None, secret_key_file=str(key_file))
    migrated(config)
    factory = session_factory(config.database_url)
    with factory() as session:
        registry = Registry(session, RegistryConfig(secret_key=KEY), None, FakeClock())
        registry.submit(RequestForm(kind="objection", email="a@example.org", country="FR"))
        connection = session.connection()
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("UPDATE audit_events SET detail = '{}' WHERE seq = 1"))
        session.commit()
    factory.kw["bind"].dispose()
    checks = by_name(diagnose(config))
    assert checks["audit chain"].status == "fail"
    assert "event 1" in checks["audit chain"].detail
    assert checks["secret key"].status == "fail"
    assert "readable by others" in checks["secret key"].detail


def test_cli_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from notrain.cli import app

    monkeypatch.setenv("NOTRAIN_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("NOTRAIN_SECRET_KEY", STRONG)
    monkeypatch.setenv("NOTRAIN_OUTBOX_DIR", str(tmp_path / "outbox"))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "not migrated" in result.output


def test_unreachable_postgresql(tmp_path: Path) -> None:
    config = settings(tmp_path, database_url=f"postgresql://u@127.0.0.1:{free_port()}/x")
    check = by_name(diagnose(config))["database"]
    assert check.status == "fail"
    assert "unreachable" in check.detail
