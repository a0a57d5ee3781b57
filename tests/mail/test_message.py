"""Messages: the plain fast path and the full e-mail API give the same message."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from notrain.mail.message import compose, header_text

AT = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
SENDER = "notrain privacy <privacy@example.com>"


def _full(to: str, subject: str, body: str) -> EmailMessage:
    """The same message made with the full API only, as notrain did before."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Fri, 31 Jan 2025 09:30:00 +0000"
    message["Message-ID"] = "<m@x>"
    message.set_content(body)
    return message


def _read(message: EmailMessage) -> tuple[dict[str, str], str]:
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    names = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version")
    headers = {name: str(parsed[name]) for name in names}
    headers["type"] = parsed.get_content_type()
    headers["charset"] = str(parsed.get_content_charset())
    return headers, body.get_content()


BODIES = [
    "Your code is:  123456\n\n-- \nThe privacy team.\n",  # short lines, a trailing space
    "A line far longer than seventy-eight characters, which has to be wrapped softly "
    "when it is sent, and must come back whole.\n.\nFrom here on\n",
    "No newline at the end",
    "Grüße — ça marche, 中文.\n",  # not ASCII: the full API
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("ann@example.org", "Your verification code"),
        ("ann@example.org", "Votre demande est acceptée (req-0123456789abcdef)"),
        ("jörg@bücher.example", "Your request is accepted"),
        (
            "ann@example.org",
            "A subject long enough that it has to be folded over two lines "
            "when the message is written out",
        ),
    ],
)
def test_every_message_reads_back_as_the_full_api_makes_it(
    to: str, subject: str, body: str
) -> None:
    made = compose(sender=SENDER, to=to, subject=subject, body=body, at=AT, message_id="<m@x>")
    assert isinstance(made, EmailMessage)
    assert _read(made) == _read(_full(to, subject, body))
    text = made.get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content() == _read(_full(to, subject, body))[1]
    assert header_text(made, "message-id") == "<m@x>"
    assert made["To"].addresses[0].domain == to.split("@")[1]


def test_line_breaks_in_a_header_are_refused() -> None:
    for subject in ("Hello\nBcc: victim@example.org", "Hello\r\nBcc: victim@example.org"):
        with pytest.raises(ValueError, match="linefeed or carriage return"):
            compose(sender=SENDER, to="ann@example.org", subject=subject, body="x", at=AT)


def test_a_new_message_id_each_time() -> None:
    first, second = (
        compose(sender=SENDER, to="ann@example.org", subject="s", body="b", at=AT) for _ in range(2)
    )
    assert header_text(first, "Message-ID") != header_text(second, "Message-ID")
    assert header_text(first, "Message-ID").endswith("@example.com>")
    assert header_text(first, "X-Missing") == ""
