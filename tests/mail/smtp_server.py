"""A real SMTP server on loopback (aiosmtpd), started and stopped by the tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Inbox:
    """Keeps every message the server accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[tuple[str, str]] = []
        self.connections: list[Any] = []  # the client's address of each message, in order
        self.refuse: set[str] = set()  # recipients the server turns away (550)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        del server, session, rcpt_options
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.connections.append(session.peer)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(port: int, credentials: tuple[str, str] | None = None) -> Iterator[Inbox]:
    inbox = Inbox()
    extra: dict[str, Any] = {}
    if credentials:

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            del server, session, envelope, mechanism
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False)
            login = (auth_data.login.decode(), auth_data.password.decode())
            inbox.logins.append(login)
            return AuthResult(success=login == credentials)

        extra = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
