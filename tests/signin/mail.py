"""What the portal mailed, read back from its outbox."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path


def mails_to(outbox: Path, to: str) -> list[str]:
    """Subject and body of every message sent to ``to``, oldest first."""
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if str(message["To"]).lower() == to:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found.append(str(message["Subject"]) + "\n" + body.get_content())
    return found
