"""The registry's working values, taken once from the settings (or given by a test)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from notrain.errors import UserError
from notrain.registry.verification import CodePolicy
from notrain.settings import Settings

_MIN_KEY_BYTES = 16
DEFAULT_AUTHORITY = "the data protection authority of your country of residence"


@dataclass(frozen=True)
class RegistryConfig:
    secret_key: bytes
    codes: CodePolicy = field(default_factory=CodePolicy)
    mail_from: str = "notrain privacy <privacy@localhost>"
    supervisory_authority: str = DEFAULT_AUTHORITY
    public_url: str = "http://localhost:8000"
    retry_seconds: int = 60
    due_soon_days: int = 7
    mail_batch_size: int = 100
    code_reminder_hours: int = 24
    # Files to attach to a request's notice: (session, template, request) -> [(name, bytes)].
    # The portal sets it to add the receipt (notrain.proofs); the registry knows no more.
    attachments: Callable[[Any, str, Any], list[tuple[str, bytes]]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistryConfig:
        return cls(
            secret_key=load_secret_key(settings),
            codes=CodePolicy(
                ttl=timedelta(minutes=settings.code_ttl_minutes),
                max_attempts=settings.code_max_attempts,
                resend_cooldown=timedelta(seconds=settings.code_resend_cooldown_seconds),
                hourly_cap=settings.code_hourly_cap,
                daily_cap=settings.code_daily_cap,
                address_hourly_ceiling=settings.code_address_hourly_ceiling,
                address_daily_ceiling=settings.code_address_daily_ceiling,
                failure_ceiling=settings.code_failure_ceiling,
            ),
            mail_from=settings.mail_from,
            supervisory_authority=settings.supervisory_authority,
            public_url=settings.public_url,
            retry_seconds=settings.mail_retry_seconds,
            due_soon_days=settings.due_soon_days,
            mail_batch_size=settings.mail_batch_size,
            code_reminder_hours=settings.code_reminder_hours,
        )


def load_secret_key(settings: Settings) -> bytes:
    """``NOTRAIN_SECRET_KEY``, or the key file, created with a random key on first use."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().encode()
        if len(key) < _MIN_KEY_BYTES:
            raise UserError(f"NOTRAIN_SECRET_KEY must be at least {_MIN_KEY_BYTES} characters")
        return key
    path = Path(settings.secret_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    try:
        key = path.read_text().strip().encode()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the secret key: {exc}") from None
    if len(key) < _MIN_KEY_BYTES:
        raise UserError(f"{path}: the secret key is shorter than {_MIN_KEY_BYTES} characters")
    return key
