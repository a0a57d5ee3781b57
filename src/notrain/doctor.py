"""``notrain doctor``: is this deployment fit to hold people's objections?

Each check says ok, warn or fail with one line of evidence: the registry database is
reachable and migrated, mail is configured and its server answers, the mail queue is not
stuck, the audit chain is intact, and the secret key is not a default.
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
        head_revision,
        safe_url,
    )

    try:
        url = safe_url(settings.database_url)
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

    from notrain.registry import audit
    from notrain.registry.db import session_factory
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
    return checks


def check_mail(settings: Settings) -> list[Check]:
    from notrain.errors import MailDeliveryError
    from notrain.mail.transport import SmtpTransport

    if not settings.smtp_host:
        folder = Path(settings.outbox_dir)
        probe = folder if folder.is_dir() else folder.parent
        try:
            with tempfile.NamedTemporaryFile(dir=probe or Path("."), prefix=".doctor-"):
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
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        source = "NOTRAIN_SECRET_KEY"
    else:
        path = Path(settings.secret_key_file)
        if not path.exists():
            return [Check("secret key", "fail", f"{path} does not exist yet; set a key first")]
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            return [Check("secret key", "fail", f"{path} is readable by others (mode {mode:o})")]
        key = path.read_text(encoding="utf-8", errors="replace").strip()
        source = str(path)
        if settings.secret_key_file == Settings.model_fields["secret_key_file"].default:
            return [
                Check(
                    "secret key",
                    "warn",
                    f"{source}: the default file in the working directory "
                    f"({os.getcwd()}); keep the key where it is backed up and protected",
                )
            ]
    if len(key) < 32 or key.lower() in WEAK_KEYS or len(set(key)) < 8:
        return [Check("secret key", "fail", f"{source}: the key is short or guessable")]
    return [Check("secret key", "ok", f"{source}: set, {len(key)} characters")]


def diagnose(settings: Settings) -> list[Check]:
    checks = check_database(settings)
    if checks[0].status == "ok":
        checks += check_registry(settings)
    checks += check_mail(settings)
    checks += check_secret(settings)
    return checks
