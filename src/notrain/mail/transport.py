"""Transports: SMTP (host, port, TLS and login from settings) or an outbox folder of .eml files.

A transport sends one message or raises :class:`~notrain.errors.MailDeliveryError`; the
queue decides what happens next. :func:`connection` sends many over one connection (one
SMTP session, logged in once), as the queue does for each batch it delivers. The outbox is
the default, so everything works offline and a demo can read the codes it sent.
"""

from __future__ import annotations

import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from notrain.errors import MailDeliveryError
from notrain.mail.message import header_text
from notrain.settings import Settings

Send = Callable[[EmailMessage], None]


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def describe(self) -> str: ...


@runtime_checkable
class ConnectedTransport(Transport, Protocol):
    """A transport that can send several messages over one connection."""

    def connect(self) -> AbstractContextManager[Send]: ...


@contextmanager
def connection(transport: Transport) -> Iterator[Send]:
    """One connection for several messages; a transport without one sends each on its own.

    Opening it, like sending, raises :class:`~notrain.errors.MailDeliveryError`.
    """
    if isinstance(transport, ConnectedTransport):
        with transport.connect() as send:
            yield send
    else:
        yield transport.send


class OutboxTransport:
    """Writes each message as ``<time>-<random>-<recipient>.eml`` into a folder, atomically."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def describe(self) -> str:
        return f"outbox {self.folder}"

    def send(self, message: EmailMessage) -> None:
        self._mkdir()
        self._write(message)

    @contextmanager
    def connect(self) -> Iterator[Send]:
        self._mkdir()
        yield self._write

    def _mkdir(self) -> None:
        # The messages hold live codes: a folder this makes is its owner's alone (0700),
        # and every message file is (0600) whatever the umask.
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.folder.chmod(0o700)  # mkdir's mode is masked by the umask
        except OSError as exc:
            raise MailDeliveryError(f"{self.folder}: cannot write the outbox: {exc}") from None

    def _write(self, message: EmailMessage) -> None:
        # Time first, so names sort in the order messages were written; a random part, so
        # two processes never pick the same name.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        to = re.sub(r"[^A-Za-z0-9@._-]", "_", header_text(message, "To"))[:80]
        target = self.folder / f"{stamp}-{secrets.token_hex(3)}-{to}.eml"
        try:
            partial = target.with_suffix(".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(message.as_bytes())
            os.replace(partial, target)
        except OSError as exc:
            raise MailDeliveryError(f"{self.folder}: cannot write the outbox: {exc}") from None


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int = 587,
        tls: Literal["starttls", "tls", "none"] = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password
        self.timeout = timeout
        self.context = context

    def describe(self) -> str:
        return f"smtp {self.host}:{self.port} ({self.tls})"

    def _connect(self) -> smtplib.SMTP:
        context = self.context or ssl.create_default_context()
        if self.tls == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            smtp.starttls(context=context)
        return smtp

    def check(self) -> None:
        """Connect, greet, log in and leave, sending nothing (for `notrain doctor`)."""
        try:
            with self._connect() as smtp:
                smtp.ehlo_or_helo_if_needed()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.noop()
        except (OSError, smtplib.SMTPException) as exc:
            raise MailDeliveryError(f"{self.describe()}: {type(exc).__name__}: {exc}") from None

    def send(self, message: EmailMessage) -> None:
        with self.connect() as send:
            send(message)

    @contextmanager
    def connect(self) -> Iterator[Send]:
        """One SMTP session, logged in once, for several messages."""
        try:
            smtp = self._connect()
            if self.username:
                smtp.login(self.username, self.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise self._error(exc) from None

        def send(message: EmailMessage) -> None:
            try:
                refused = smtp.send_message(message)
            except (OSError, smtplib.SMTPException) as exc:
                raise self._error(exc) from None
            if refused:
                raise MailDeliveryError(f"{self.describe()}: recipients refused: {sorted(refused)}")

        try:
            yield send
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()  # the messages sent are sent; a failed goodbye changes nothing

    def _error(self, exc: BaseException) -> MailDeliveryError:
        return MailDeliveryError(f"{self.describe()}: {type(exc).__name__}: {exc}")


def transport_from_settings(settings: Settings, outbox: str | Path | None = None) -> Transport:
    """SMTP when ``NOTRAIN_SMTP_HOST`` is set (and no outbox is asked for), else the outbox."""
    if outbox is None and settings.smtp_host:
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_tls,
            settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            settings.smtp_timeout_seconds,
        )
    return OutboxTransport(outbox or settings.outbox_dir)
