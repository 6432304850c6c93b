"""Exponential back-off with jitter (AWS' recommendation for retrying throttled calls).

Jitter spreads retries of many clients over the whole window, so throttled producers
and pollers do not come back in lock-step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``delay(n)``: a random wait in ``[c/4, c]``, ``c = min(cap, base * 2**n)``, for retry n.

    The quarter floor keeps a retry from coming back at once, which would only be throttled again.
    """

    base: float = 0.1
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 30)))
        return random.uniform(ceiling / 4, ceiling)
