"""Group commit: one round of fdatasync calls acknowledges every write made before it.

Concurrent requests write their frames synchronously, then wait here. While a round is
syncing, newly dirtied segments queue for the next round, so under load one fdatasync per
segment covers many requests instead of one per request.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Syncable(Protocol):
    def sync(self) -> None: ...


def _sync_all(targets: list[Syncable]) -> None:
    for target in targets:
        target.sync()


class GroupCommitter:
    """Serialises sync rounds; each waiter resolves when a round covering its write ends."""

    def __init__(self) -> None:
        self._pending: dict[int, Syncable] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._round: asyncio.Task[None] | None = None

    async def sync(self, target: Syncable) -> None:
        """Return once everything written to ``target`` before this call is durable."""
        await self.request(target)

    def request(self, target: Syncable) -> asyncio.Future[None]:
        """A future resolved once everything written to ``target`` before this call is
        durable (failed with the OSError if a sync failed)."""
        waiter = asyncio.get_running_loop().create_future()
        self._pending[id(target)] = target
        self._waiters.append(waiter)
        if self._round is None:
            self._round = asyncio.create_task(self._run())
        return waiter

    async def drain(self) -> None:
        """Wait until no round is running (before closing files)."""
        while self._round is not None:
            await asyncio.shield(self._round)

    async def _run(self) -> None:
        try:
            while self._waiters:
                targets = list(self._pending.values())
                waiters = self._waiters
                self._pending, self._waiters = {}, []
                try:
                    await asyncio.to_thread(_sync_all, targets)
                except OSError as exc:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                else:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(None)
        finally:
            self._round = None
