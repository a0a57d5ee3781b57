"""The one sealer of a portal process: a thread that seals the log every few hundred ms.

While it runs, the process's PostgreSQL sessions set ``notrain.audit_defer`` (migration
0010), so a request's commit only stages its events and never waits for the chain's head;
the sealer chains and seals them in batches. Several sealers (several portal workers) take
turns on the head's row lock; a reader of the trail chains what is staged itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from notrain.proofs.keys import LogKey
from notrain.proofs.log import seal

log = logging.getLogger("notrain.proofs.sealer")


def defer_chaining(engine: Engine) -> None:
    """Make this engine's PostgreSQL sessions leave their events to the sealer."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _defer(dbapi_connection: Any, record: Any) -> None:
        del record
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET notrain.audit_defer = 'on'")
        dbapi_connection.commit()

    engine.dispose()  # connections opened before now would still chain at commit


class Sealer:
    def __init__(
        self,
        factory: sessionmaker[Session],
        key: LogKey,
        clock: Callable[[], datetime],
        interval: float,
    ) -> None:
        self._factory = factory
        self._key = key
        self._clock = clock
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="notrain-sealer", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self._thread = None
        self.seal_once()  # what the last requests committed is sealed before the process ends

    def seal_once(self) -> int:
        try:
            with self._factory() as session:
                return seal(session, self._key, self._clock()).sealed
        except SQLAlchemyError as exc:
            log.warning("sealing the transparency log failed: %s", exc)
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seal_once()
            self._wake.wait(self._interval)
            self._wake.clear()
