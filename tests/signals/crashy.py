"""Work for the runner tests: the item "boom" kills its worker process outright."""

from __future__ import annotations

import os
from collections.abc import Sequence


def work(items: Sequence[str]) -> list[str]:
    for item in items:
        if item == "boom":
            os._exit(3)  # what a segfault in a native reader looks like from outside
    return [item.upper() for item in items]


def crashed(item: str) -> str:
    return f"crashed:{item}"


def die() -> None:
    """A pool initializer that kills every worker as it starts."""
    os._exit(4)
