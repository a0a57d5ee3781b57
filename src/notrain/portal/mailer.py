"""Sending the mail the registry queues, in a thread of its own, off the request path.

A step that queues mail (submit, resend, verify, decide, extend, apply) wakes the pump;
the pump runs the registry's delivery step, which sends what is due and keeps what fails
queued for a later try (the registry's retry rules). It also wakes on its own every few
seconds, so mail queued by another process, or held back after a failure, goes out too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from notrain.errors import NotrainError
from notrain.mail.transport import Transport
from notrain.registry.service import Registry

log = logging.getLogger("notrain.portal.mail")


class MailPump:
    def __init__(
        self,
        registry: Callable[[], AbstractContextManager[Registry]],
        transport: Transport,
        *,
        interval: float = 5.0,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        self._registry = registry
        self._transport = transport
        self._interval = interval
        self._on_sent = on_sent
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="notrain-mail", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def deliver_once(self) -> int:
        """Send what is due now; returns how many went out."""
        sent = 0
        while not self._stop.is_set():
            with self._registry() as registry:
                report = registry.deliver_mail(self._transport)
            sent += report.sent
            if self._on_sent and report.sent:
                self._on_sent(report.sent)
            if report.error:
                log.warning("mail: %s; %d waiting", report.error, report.pending)
                break
            if report.sent == 0 or report.pending == 0:
                break
        return sent

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.deliver_once()
            except NotrainError as exc:
                log.warning("mail: %s", exc.message)
            except Exception:  # keep the pump alive; the next wake retries
                log.exception("mail delivery failed")
