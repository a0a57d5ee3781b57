"""``notrain doctor``: is this deployment fit to hold people's objections?

Each check says ok, warn or fail with one line of evidence: the registry database is
reachable and migrated, mail is configured and its server answers, the mail queue is not
stuck, the audit chain is intact, the secret key is not a default, failed verifications
across all addresses are under their ceiling (past it, someone may be guessing codes), and
the files holding codes and requests (outbox, SQLite database) are their owner's alone.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from notrain.settings import Settings

Status = Literal["ok", "warn", "fail"]
WEAK_KEYS = {"changeme", "secret", "password", "notrain", "test", "default"}
STUCK_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def check_database(settings: Settings) -> list[Check]:
    from notrain.errors import NotrainError
    from notrain.registry.db import (
        create_registry_engine,
        current_revision,
        database_url,
        head_revision,
        safe_url,
    )

    try:
        url = safe_url(settings.database_url)
        parsed = database_url(settings.database_url)
        file = parsed.database if parsed.get_backend_name() == "sqlite" else None
        if file and file != ":memory:" and not Path(file).is_file():
            # Opening it would create it (and its folders): a mistyped path must not pass
            # as a new, empty registry.
            return [
                Check(
                    "database",
                    "fail",
                    f"{url}: no such file, not migrated (run `notrain registry migrate`)",
                )
            ]
        engine = create_registry_engine(settings.database_url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except NotrainError as exc:
        return [Check("database", "fail", exc.message)]
    except Exception as exc:  # the driver's own error: unreachable, refused, bad login
        return [Check("database", "fail", f"unreachable: {type(exc).__name__}: {exc}")]
    head = head_revision()
    if revision is None:
        return [Check("database", "fail", f"{url}: not migrated (run `notrain registry migrate`)")]
    if revision != head:
        return [Check("database", "fail", f"{url}: at revision {revision}, {head} is current")]
    return [Check("database", "ok", f"{url}: reachable, at revision {revision}")]


def check_registry(settings: Settings, now: datetime | None = None) -> list[Check]:
    """Audit chain and mail queue; needs a migrated database."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from notrain.registry import audit, verification
    from notrain.registry.db import first_line, session_factory
    from notrain.registry.models import QueuedMail

    now = now or datetime.now(UTC)
    factory = session_factory(settings.database_url, migrate_schema=False)
    checks = []
    try:
        with factory() as session:
            report = audit.verify(session)
            if report.intact:
                checks.append(
                    Check("audit chain", "ok", f"{report.events} events, intact to the head")
                )
            else:
                first = report.problems[0]
                checks.append(
                    Check("audit chain", "fail", f"broken at event {first.seq}: {first.message}")
                )
            pending, oldest = session.execute(
                select(func.count(), func.min(QueuedMail.created_at)).where(
                    QueuedMail.sent_at.is_(None)
                )
            ).one()
            failures = verification.failures_last_hour(session, now)
    except (SQLAlchemyError, ValueError) as exc:
        # Tables dropped or rows that no longer decode: the chain cannot be walked, which is
        # as much a failure as a broken link.
        name = "mail queue" if checks else "audit chain"  # whichever was being read
        return [*checks, Check(name, "fail", f"cannot be read: {first_line(exc)}")]
    finally:
        factory.kw["bind"].dispose()
    if not pending:
        checks.append(Check("mail queue", "ok", "nothing waiting"))
    else:
        oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        waited = now - oldest_at
        status: Status = "warn" if waited > STUCK_AFTER else "ok"
        checks.append(
            Check("mail queue", status, f"{pending} waiting, oldest since {oldest_at.isoformat()}")
        )
    checks.append(_guessing(failures, settings.code_failure_ceiling))
    return checks


def _guessing(failures: int, ceiling: int) -> Check:
    if ceiling <= 0:
        return Check(
            "verification",
            "warn",
            f"no ceiling on failed verifications (NOTRAIN_CODE_FAILURE_CEILING is 0); "
            f"{failures} failed in the last hour",
        )
    if failures >= ceiling:
        return Check(
            "verification",
            "warn",
            f"{failures} failed verifications in the last hour, past the ceiling of {ceiling}: "
            "verification is slowed for everyone; someone may be guessing codes",
        )
    return Check("verification", "ok", f"{failures} failed in the last hour (ceiling {ceiling})")


def check_files(settings: Settings) -> list[Check]:
    """The outbox (live codes) and a SQLite registry must not be readable by others."""
    from notrain.registry.db import database_url

    checks = []
    paths: list[tuple[str, Path]] = []
    if not settings.smtp_host:
        paths.append(("outbox", Path(settings.outbox_dir)))
    try:
        parsed = database_url(settings.database_url)
    except Exception:  # check_database already says what is wrong with the URL
        parsed = None
    sqlite = parsed is not None and parsed.get_backend_name() == "sqlite"
    if sqlite and parsed is not None and parsed.database not in (None, "", ":memory:"):
        paths.append(("database file", Path(str(parsed.database))))
    for name, path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # made on first use, with the owner's mode only
        if mode & 0o077:
            checks.append(Check(name, "warn", f"{path} is open to others (mode {mode:o}); "
                                f"chmod {'700' if path.is_dir() else '600'} it"))  # fmt: skip
        else:
            checks.append(Check(name, "ok", f"{path}: owner only (mode {mode:o})"))
    return checks


def check_mail(settings: Settings) -> list[Check]:
    from notrain.errors import MailDeliveryError
    from notrain.mail.transport import SmtpTransport

    if not settings.smtp_host:
        folder = Path(settings.outbox_dir)
        if folder.exists() and not folder.is_dir():
            return [Check("mail", "fail", f"outbox {folder} is not a directory")]
        # The outbox and its missing parents are made on first use: probe what exists.
        probe = folder.absolute()
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        try:
            with tempfile.NamedTemporaryFile(dir=probe, prefix=".doctor-"):
                pass
        except OSError as exc:
            return [Check("mail", "fail", f"outbox {folder} is not writable: {exc.strerror}")]
        return [
            Check(
                "mail",
                "warn",
                f"no SMTP server configured: mail is written to {folder} (set NOTRAIN_SMTP_HOST)",
            )
        ]
    transport = SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_tls,
        settings.smtp_username,
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        settings.smtp_timeout_seconds,
    )
    try:
        transport.check()
    except MailDeliveryError as exc:
        return [Check("mail", "fail", exc.message)]
    return [Check("mail", "ok", f"{transport.describe()} answers")]


def check_secret(settings: Settings) -> list[Check]:
    default_file = False
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        source = "NOTRAIN_SECRET_KEY"
    else:
        path = Path(settings.secret_key_file)
        if not path.exists():
            return [Check("secret key", "fail", f"{path} does not exist yet; set a key first")]
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            key = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError as exc:
            return [Check("secret key", "fail", f"{path}: cannot read the key: {exc.strerror}")]
        if mode & 0o077:
            return [Check("secret key", "fail", f"{path} is readable by others (mode {mode:o})")]
        source = str(path)
        default_file = settings.secret_key_file == Settings.model_fields["secret_key_file"].default
    # A weak key fails wherever it is kept; only a strong one earns the location warning.
    if len(key) < 32 or key.lower() in WEAK_KEYS or len(set(key)) < 8:
        return [Check("secret key", "fail", f"{source}: the key is short or guessable")]
    if default_file:
        return [
            Check(
                "secret key",
                "warn",
                f"{source}: the default file in the working directory "
                f"({os.getcwd()}); keep the key where it is backed up and protected",
            )
        ]
    return [Check("secret key", "ok", f"{source}: set, {len(key)} characters")]


def diagnose(settings: Settings) -> list[Check]:
    checks = check_database(settings)
    if checks[0].status == "ok":
        checks += check_registry(settings)
    checks += check_mail(settings)
    checks += check_secret(settings)
    checks += check_files(settings)
    return checks
