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
        workers: int = 1,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        self._registry = registry
        self._transport = transport
        self._interval = interval
        self._on_sent = on_sent
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._workers = max(1, workers)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the delivery threads; several share the queue (the registry's delivery
        skips rows another worker holds), so round trips to the database overlap."""
        if not self._threads:
            for n in range(self._workers):
                thread = threading.Thread(target=self._run, name=f"notrain-mail-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

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
            if (self._wake.wait(self._interval) and self._workers == 1) or self._wake.is_set():
                self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.deliver_once()
            except NotrainError as exc:
                log.warning("mail: %s", exc.message)
            except Exception:  # keep the pump alive; the next wake retries
                log.exception("mail delivery failed")
