"""A time bound per item: one file or record that takes too long is given up, not waited on.

Files in a crawl or a media folder are written by anyone; one of them must not hold a
worker. :func:`time_limit` arms a real-time timer (``SIGALRM``) around the work of one item;
when it fires, :class:`ItemTimeout` is raised in the middle of that work, and the caller
records the item as an error and goes on to the next.

The timer fires again every second until the work is given up. Once is not always enough:
the C2PA library reads the file through Python callbacks, and an exception raised inside
one is reported to the library as a failed read rather than unwinding the stack; the next
firing, back in Python, ends the item. Timers exist only in the main thread of a process
(each worker's tasks run there); elsewhere the bound is not applied.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

DEFAULT_ITEM_SECONDS = 60.0
_REFIRE_SECONDS = 1.0


class ItemTimeout(BaseException):
    """One item took longer than its bound. A ``BaseException``, so that the readers'
    ``except Exception`` clauses, which turn a bad file into an error, do not absorb it."""


class Deadline:
    """A time bound for each of many items: the handler is installed once, around all of
    them (``with Deadline(60) as deadline``), and each item only starts and stops the
    timer (``with deadline.item("reading this record")``)."""

    def __init__(self, seconds: float | None) -> None:
        main = threading.current_thread() is threading.main_thread()
        usable = hasattr(signal, "setitimer") and main
        self.seconds = seconds if seconds and seconds > 0 and usable else None
        self._what = ""
        self._previous: signal._HANDLER = None

    def __enter__(self) -> Deadline:
        if self.seconds is not None:
            self._previous = signal.signal(signal.SIGALRM, self._expire)
        return self

    def __exit__(self, *_: object) -> None:
        if self.seconds is not None:
            _disarm()
            signal.signal(signal.SIGALRM, self._previous)

    def _expire(self, _signum: int, _frame: FrameType | None) -> None:
        raise ItemTimeout(f"{self._what} took longer than {self.seconds:g} s; given up")

    @contextmanager
    def item(self, what: str) -> Iterator[None]:
        """Raise :class:`ItemTimeout` in the enclosed work once the bound has passed."""
        if self.seconds is None:
            yield
            return
        self._what = what
        signal.setitimer(signal.ITIMER_REAL, self.seconds, _REFIRE_SECONDS)
        try:
            yield
        finally:
            _disarm()


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """One item's bound: raise :class:`ItemTimeout` in it once ``seconds`` have passed."""
    with Deadline(seconds) as deadline, deadline.item(what):
        yield


def _disarm() -> None:
    # The timer may fire between the end of the work and its disarming; the work is done
    # then, and that late firing is dropped.
    while True:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        except ItemTimeout:
            continue
