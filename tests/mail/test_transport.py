"""Transports: a real SMTP server on loopback, and the outbox folder."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from notrain.errors import MailDeliveryError
from notrain.mail.message import compose
from notrain.mail.transport import OutboxTransport, SmtpTransport, transport_from_settings
from notrain.settings import Settings
from tests.mail.smtp_server import free_port, smtp_server

AT = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)


def _message(to: str = "ann@example.org") -> EmailMessage:
    return compose(sender="privacy <privacy@example.com>", to=to, subject="Hello",
                   body="Grüße — a body.", at=AT)  # fmt: skip


def test_smtp_delivers_to_a_real_server() -> None:
    port = free_port()
    with smtp_server(port) as inbox:
        SmtpTransport("127.0.0.1", port, tls="none").send(_message())
    [received] = inbox.messages
    assert received["Subject"] == "Hello"
    assert received["To"] == "ann@example.org"
    body = received.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Grüße — a body." in body.get_content()


def test_smtp_logs_in_with_the_credentials_from_settings() -> None:
    port = free_port()
    settings = Settings.model_validate(
        {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none",
         "smtp_username": "notrain", "smtp_password": "s3cret-pass"}
    )  # fmt: skip
    transport = transport_from_settings(settings)
    assert isinstance(transport, SmtpTransport)
    with smtp_server(port, credentials=("notrain", "s3cret-pass")) as inbox:
        transport.send(_message())
    assert inbox.logins == [("notrain", "s3cret-pass")]
    assert len(inbox.messages) == 1


def test_smtp_down_is_a_delivery_error() -> None:
    transport = SmtpTransport("127.0.0.1", free_port(), tls="none", timeout=5)
    with pytest.raises(MailDeliveryError, match=r"127\.0\.0\.1"):
        transport.send(_message())


def test_outbox_writes_eml_files(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    for to in ("a@example.org", "b@example.org"):
        outbox.send(_message(to))
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [
        f.name.endswith(f"-{to}.eml")
        for f, to in zip(files, ("a@example.org", "b@example.org"), strict=True)
    ] == [True, True]
    parsed = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert parsed["To"] == "a@example.org"
    assert not list((tmp_path / "outbox").glob("*.partial"))


def test_outbox_is_the_default(tmp_path: Path) -> None:
    transport = transport_from_settings(
        Settings.model_validate({"outbox_dir": str(tmp_path / "o")})
    )
    assert isinstance(transport, OutboxTransport)
    assert transport.folder == tmp_path / "o"
    forced = transport_from_settings(
        Settings.model_validate({"smtp_host": "mail.example.com"}), outbox=tmp_path
    )
    assert isinstance(forced, OutboxTransport)


def test_unwritable_outbox_is_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MailDeliveryError, match="cannot write the outbox"):
        OutboxTransport(blocker).send(_message())
