"""A lease this worker holds: its latest row, and the signals that end its processing.

Every write for the lease (renewal, checkpoint, handoff, release) goes through ``write``
under one lock, so the counter each conditional update names is always the latest one this
worker wrote, and a failed condition can only mean another worker took the shard.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from headwater.client.consumer.leases.model import Lease

LOST = "lease_lost"
HANDOFF = "handoff"
SHUTDOWN = "shutdown"
FAILED = "processor_failed"
_PRIORITY = {LOST: 2, FAILED: 1}


class HeldLease:
    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.lock = asyncio.Lock()
        self.stop = asyncio.Event()
        self.stop_reason: str | None = None
        self.renewed_at = time.monotonic()

    @property
    def shard_id(self) -> str:
        return self.lease.shard_id

    def request_stop(self, reason: str) -> None:
        """Ask the shard's consumer to stop; LOST, then FAILED, outrank the first reason."""
        current = self.stop_reason
        if current is None or _PRIORITY.get(reason, 0) > _PRIORITY.get(current, 0):
            self.stop_reason = reason
        self.stop.set()

    @property
    def lost(self) -> bool:
        return self.stop_reason == LOST

    async def write(self, operation: Callable[[Lease], Awaitable[Lease | None]]) -> bool:
        """Run one conditional update from the current row; False (and LOST) if it failed."""
        async with self.lock:
            if self.lost:
                return False
            updated = await operation(self.lease)
            if updated is None:
                self.request_stop(LOST)
                return False
            self.lease = updated
            return True
