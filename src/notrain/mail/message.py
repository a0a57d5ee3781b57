"""One plain-text message, ready for any transport.

The standard library's modern e-mail API parses every header as it is set and refolds it
as it is written, which costs about a millisecond a message, more than all the database
work of sending it. The registry's messages are plain ASCII with short header lines, which
need neither parsing nor folding: those headers are stored as they are, the way the
standard parser stores the headers it reads (they are parsed, like parsed ones, when
something reads them), and the body is quoted-printable when a line is too long. Anything
else (non-ASCII text, long header lines) goes through the full API, which encodes it and
refuses line breaks inside a header. Either way the result is the same ``EmailMessage``.
"""

from __future__ import annotations

import quopri
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

_MAX_LINE = policy.default.max_line_length or 78
# Read several times by every ``as_bytes`` (a raw value would be parsed each time): parsed
# once here; header objects are immutable, so every message can hold the same one.
_TEXT_PLAIN = policy.default.header_factory("Content-Type", 'text/plain; charset="utf-8"')


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    at: datetime,
    message_id: str | None = None,
    language: str | None = None,
) -> EmailMessage:
    """``language`` (a BCP 47 tag) becomes ``Content-Language`` (RFC 3282)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    headers = [
        ("From", sender),
        ("To", to),
        ("Subject", subject),
        ("Date", format_datetime(at)),
        ("Message-ID", message_id or make_msgid(domain=domain)),
    ]
    if language:
        headers.append(("Content-Language", language))
    if _plain(headers, body):
        return _plain_message(headers, body)
    message = EmailMessage()
    for name, value in headers:
        if name != "Content-Language":
            message[name] = value
    message.set_content(body)  # clears every Content-* header: the language goes after
    if language:
        message["Content-Language"] = language
    return message


def _plain(headers: list[tuple[str, str]], body: str) -> bool:
    """ASCII throughout, no line break in a header, every header on one short line."""
    return body.isascii() and all(
        value.isascii()
        and "\r" not in value
        and "\n" not in value
        and len(name) + 2 + len(value) <= _MAX_LINE
        for name, value in headers
    )


def _plain_message(headers: list[tuple[str, str]], body: str) -> EmailMessage:
    lines = body.splitlines()
    text = "\n".join(lines) + "\n"
    if all(len(line) <= _MAX_LINE for line in lines):
        encoding = "7bit"
    else:
        encoding = "quoted-printable"
        text = quopri.encodestring(text.encode("ascii")).decode("ascii")
    message = EmailMessage()
    for name, value in headers:
        message.set_raw(name, value)
    message.set_raw("Content-Type", _TEXT_PLAIN)
    message.set_raw("Content-Transfer-Encoding", encoding)
    message.set_raw("MIME-Version", "1.0")
    message.set_payload(text)
    return message


def header_text(message: EmailMessage, name: str) -> str:
    """A header's text as stored, without parsing it (``""`` if it is missing)."""
    wanted = name.lower()
    return next((str(v) for k, v in message.raw_items() if k.lower() == wanted), "")


def attach_json(message: EmailMessage, name: str, data: bytes) -> None:
    """Attach ``data`` as a JSON file. Attaching makes the message multipart, which moves
    its Content-* headers to the text part: the whole message keeps its language."""
    language = message["Content-Language"]
    message.add_attachment(data, maintype="application", subtype="json", filename=name)
    if language and "Content-Language" not in message:
        message["Content-Language"] = language
