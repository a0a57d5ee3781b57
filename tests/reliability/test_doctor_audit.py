"""`notrain doctor` against each way a deployment can be unfit (issue 8), on both databases.

tests/test_doctor.py covers the first cases on SQLite; these add the ones it leaves out: a
database one migration behind, the default key file, an unreadable key, an audit chain
that cannot be read, outboxes that are not folders or not made yet, and the command's exit
code and one-line evidence for each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from notrain.doctor import Check, diagnose
from notrain.registry.config import RegistryConfig
from notrain.registry.db import (
    _alembic_config,
    create_registry_engine,
    ensure_schema,
    head_revision,
    session_factory,
)
from notrain.registry.forms import RequestForm
from notrain.registry.service import Registry
from notrain.settings import Settings
from tests.mail.smtp_server import free_port, smtp_server
from tests.registry.fixtures import KEY, FakeClock
from tests.registry.fixtures import backend as backend  # fixtures: both databases
from tests.registry.fixtures import database_url as database_url

STRONG = "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz"


def settings(tmp_path: Path, database_url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "outbox_dir": str(tmp_path / "outbox"),
        "secret_key": SecretStr(STRONG),
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def migrate_to(url: str, revision: str) -> None:
    engine = create_registry_engine(url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def migrated(url: str) -> None:
    engine = create_registry_engine(url)
    ensure_schema(engine)
    engine.dispose()


def doctor_cli(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str]:
    from notrain.cli import app

    for name, value in env.items():
        monkeypatch.setenv(f"NOTRAIN_{name.upper()}", value)
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_healthy_deployment_passes_on_both_databases(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    config = settings(tmp_path, database_url, smtp_host="127.0.0.1", smtp_port=port,
                      smtp_tls="none")  # fmt: skip
    migrated(database_url)
    with smtp_server(port):
        checks = diagnose(config)
    assert all(c.status == "ok" for c in checks), checks


def test_a_database_one_migration_behind_fails(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = head_revision()
    behind = f"{int(head) - 1:04d}"
    migrate_to(database_url, behind)
    check = by_name(diagnose(settings(tmp_path, database_url)))["database"]
    assert check.status == "fail"
    assert f"at revision {behind}, {head} is current" in check.detail
    code, output = doctor_cli(monkeypatch, database_url=database_url, secret_key=STRONG,
                              outbox_dir=str(tmp_path / "outbox"))  # fmt: skip
    assert code == 1
    assert f"at revision {behind}" in output


def test_a_tampered_event_fails_on_both_databases(
    tmp_path: Path, database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated(database_url)
    factory = session_factory(database_url)
    with factory() as session:
        registry = Registry(session, RegistryConfig(secret_key=KEY), None, FakeClock())
        registry.submit(RequestForm(kind="objection", email="a@example.org", country="FR"))
        session.commit()
        connection = session.connection()
        if backend == "sqlite":
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE audit_events SET action = 'x' WHERE seq = 1"))
        session.commit()
    factory.kw["bind"].dispose()
    code, output = doctor_cli(monkeypatch, database_url=database_url, secret_key=STRONG,
                              outbox_dir=str(tmp_path / "outbox"))  # fmt: skip
    assert code == 1
    assert "broken at event 1" in output


def test_an_audit_chain_that_cannot_be_read_fails_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrated(url)
    engine = create_registry_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE audit_events"))
    engine.dispose()
    check = by_name(diagnose(settings(tmp_path, url)))["audit chain"]
    assert check.status == "fail"
    assert "cannot be read" in check.detail
    code, output = doctor_cli(monkeypatch, database_url=url, secret_key=STRONG,
                              outbox_dir=str(tmp_path / "outbox"))  # fmt: skip
    assert code == 1
    assert "audit_events" in output


@pytest.mark.parametrize("key", ["", "changeme", "short-but-random-9f3", "a" * 64])
def test_default_empty_short_and_repetitive_keys_fail(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrated(url)
    check = by_name(diagnose(settings(tmp_path, url, secret_key=SecretStr(key))))["secret key"]
    assert check.status == "fail"
    assert "short or guessable" in check.detail
    assert key not in check.detail or not key  # the key itself is never printed
    code, output = doctor_cli(monkeypatch, database_url=url, secret_key=key,
                              outbox_dir=str(tmp_path / "outbox"))  # fmt: skip
    assert code == 1
    assert "short or guessable" in output


def test_a_weak_key_in_the_default_file_fails_not_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default file name, relative to the working directory, with a guessable key.
    monkeypatch.chdir(tmp_path)
    default = Path(Settings.model_fields["secret_key_file"].default)
    default.write_text("changeme\n")
    default.chmod(0o600)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrated(url)
    check = by_name(diagnose(settings(tmp_path, url, secret_key=None)))["secret key"]
    assert check.status == "fail"
    assert "short or guessable" in check.detail
    default.write_text(STRONG + "\n")  # a strong key there is only a warning about the place
    check = by_name(diagnose(settings(tmp_path, url, secret_key=None)))["secret key"]
    assert check.status == "warn"
    assert "default file" in check.detail


def test_an_unreadable_key_file_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A directory where the key should be cannot be read, even by root.
    unreadable = tmp_path / "secret.key"
    unreadable.mkdir(mode=0o700)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrated(url)
    config = settings(tmp_path, url, secret_key=None, secret_key_file=str(unreadable))
    check = by_name(diagnose(config))["secret key"]
    assert check.status == "fail"
    assert "cannot read the key" in check.detail
    monkeypatch.delenv("NOTRAIN_SECRET_KEY", raising=False)
    code, output = doctor_cli(monkeypatch, database_url=url, secret_key_file=str(unreadable),
                              outbox_dir=str(tmp_path / "outbox"))  # fmt: skip
    assert code == 1
    assert "cannot read the key" in output


def test_smtp_unreachable_on_loopback_fails_with_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrated(url)
    port = free_port()  # nothing listens there
    code, output = doctor_cli(monkeypatch, database_url=url, secret_key=STRONG,
                              smtp_host="127.0.0.1", smtp_port=str(port), smtp_tls="none",
                              smtp_timeout_seconds="2",
                              outbox_dir=str(tmp_path / "outbox"))  # fmt: skip
    assert code == 1
    assert f"127.0.0.1:{port}" in output


def test_outbox_mode_warns_and_a_healthy_outbox_deployment_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrated(url)
    # Not made yet, nor its parent: the outbox makes them on first use, so only a warning.
    nested = tmp_path / "mail" / "outbox"
    check = by_name(diagnose(settings(tmp_path, url, outbox_dir=str(nested))))["mail"]
    assert check.status == "warn"
    assert "NOTRAIN_SMTP_HOST" in check.detail
    code, output = doctor_cli(monkeypatch, database_url=url, secret_key=STRONG,
                              outbox_dir=str(nested))  # fmt: skip
    assert code == 0
    assert "FAIL" not in output


def test_an_outbox_that_is_a_file_fails(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrated(url)
    not_a_folder = tmp_path / "outbox"
    not_a_folder.write_text("")
    check = by_name(diagnose(settings(tmp_path, url, outbox_dir=str(not_a_folder))))["mail"]
    assert check.status == "fail"
    assert "not a directory" in check.detail


def test_a_mistyped_sqlite_path_fails_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "registry.db"
    check = by_name(diagnose(settings(tmp_path, f"sqlite:///{missing}")))["database"]
    assert check.status == "fail"
    assert "no such file" in check.detail
    assert not (tmp_path / "no").exists()


def test_one_whole_line_per_check_even_on_a_narrow_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notrain.cli import app

    deep = tmp_path / ("long-folder-name-" * 6) / "registry.db"
    deep.parent.mkdir()
    migrate_to(f"sqlite:///{deep}", head_revision())
    for name, value in {"database_url": f"sqlite:///{deep}", "secret_key": "changeme",
                        "outbox_dir": str(tmp_path / "outbox")}.items():  # fmt: skip
        monkeypatch.setenv(f"NOTRAIN_{name.upper()}", value)
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "60"})
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   database", "ok   audit chain", "ok   mail queue", "ok   verification", "warn mail",
        "FAIL secret key", "ok   database file",
    ]  # fmt: skip
    assert str(deep) in lines[0]  # the evidence is whole, not cut to the width
