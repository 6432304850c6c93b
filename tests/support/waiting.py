"""Waiting on a condition with a deadline (never a blind sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    condition: Callable[[], T],
    timeout: float = 20.0,
    what: str | None = None,
    interval: float = 0.05,
) -> T:
    """Call ``condition`` until it returns something truthy, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            subject = what or f"a condition (last: {value!r})"
            raise AssertionError(f"timed out after {timeout}s waiting for {subject}")
        time.sleep(interval)
