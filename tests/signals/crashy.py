"""Work for the runner tests: the item "boom" kills its worker process outright."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence


def work(items: Sequence[str]) -> list[str]:
    for item in items:
        if item == "boom":
            os._exit(3)  # what a segfault in a native reader looks like from outside
        if item == "hang":
            # Native code stuck in a loop of its own: no timer of the worker reaches it.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(3600)
    return [item.upper() for item in items]


def overdue(item: str) -> str:
    return f"overdue:{item}"


def crashed(item: str) -> str:
    return f"crashed:{item}"


def die() -> None:
    """A pool initializer that kills every worker as it starts."""
    os._exit(4)
