"""Mail: messages to requesters, sent through SMTP or written to an outbox folder.

Messages are never sent straight from a request: they are queued in the registry
database in the same transaction as the step that causes them (:mod:`notrain.mail.queue`)
and delivered afterwards, with retries, so an SMTP outage delays mail but loses none.
"""

from notrain.mail.message import compose
from notrain.mail.queue import DeliveryReport, deliver_due, enqueue, pending_count
from notrain.mail.transport import (
    OutboxTransport,
    SmtpTransport,
    Transport,
    transport_from_settings,
)

__all__ = [
    "DeliveryReport",
    "OutboxTransport",
    "SmtpTransport",
    "Transport",
    "compose",
    "deliver_due",
    "enqueue",
    "pending_count",
    "transport_from_settings",
]
