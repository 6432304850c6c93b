"""Time sources. The service reads time only through a ``Clock`` so tests can move it."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    """Wall-clock time in epoch milliseconds."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class AdjustableClock:
    """System time plus an offset that only moves forward (``--dev-clock``, tests)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def advance(self, milliseconds: int) -> None:
        if milliseconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset_ms += milliseconds
