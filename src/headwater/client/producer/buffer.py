"""Records waiting to be written: one FIFO per partition key, grouped by predicted shard.

Per-key queues are what keep per-key order through retries: in ordered mode a key is
*busy* while one of its records is in flight, so a later record of that key can never
overtake an earlier one that gets throttled; the throttled one goes back to the head of
its queue. Keys whose head may be sent are *ready*, listed under their predicted shard so
the batcher can pace shards; keys backing off after a failure *wait* in a time heap.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Callable

from headwater.client.records import PutResult


class Pending:
    """One user record from ``put`` until it is acknowledged or fails."""

    __slots__ = (
        "attempts",
        "data",
        "deadline",
        "enqueued",
        "explicit_hash_key",
        "future",
        "hash_key",
        "partition_key",
        "size",
    )

    def __init__(
        self,
        data: bytes,
        partition_key: str,
        explicit_hash_key: str | None,
        hash_key: int,
        future: asyncio.Future[PutResult],
        enqueued: float,
        deadline: float,
    ) -> None:
        self.data = data
        self.partition_key = partition_key
        self.explicit_hash_key = explicit_hash_key
        self.hash_key = hash_key
        self.size = len(data) + len(partition_key.encode())
        self.future = future
        self.enqueued = enqueued
        self.deadline = deadline
        self.attempts = 0


ShardOf = Callable[[Pending], str | None]


class KeyedBuffer:
    """The producer's bounded store of unfinished records (queued or in flight)."""

    def __init__(self, shard_of: ShardOf) -> None:
        self.shard_of = shard_of
        self.queues: dict[str, deque[Pending]] = {}
        self.ready: dict[str | None, deque[str]] = {}
        self.busy: set[str] = set()
        self.listed: set[str] = set()
        self._waiting: list[tuple[float, int, str]] = []
        self._waiting_keys: set[str] = set()
        self._tiebreak = itertools.count()
        self.records = 0
        self.bytes = 0
        self.queued = 0

    @property
    def ready_keys(self) -> int:
        return sum(len(keys) for keys in self.ready.values())

    def add(self, pending: Pending) -> None:
        self.records += 1
        self.bytes += pending.size
        self.queued += 1
        queue = self.queues.get(pending.partition_key)
        if queue is None:
            self.queues[pending.partition_key] = deque((pending,))
            self._make_ready(pending.partition_key)
        else:
            queue.append(pending)

    def _make_ready(self, key: str) -> None:
        shard = self.shard_of(self.queues[key][0])
        keys = self.ready.get(shard)
        if keys is None:
            keys = self.ready[shard] = deque()
        keys.append(key)
        self.listed.add(key)

    def unlist_first(self, keys: deque[str]) -> str:
        """Take the first key off a shard's ready list."""
        key = keys.popleft()
        self.listed.discard(key)
        return key

    def pop_head(self, key: str) -> Pending:
        """Take the head record of ``key`` to send it (the key's bookkeeping is the caller's)."""
        self.queued -= 1
        return self.queues[key].popleft()

    def drop_key_if_empty(self, key: str) -> bool:
        queue = self.queues.get(key)
        if queue is not None and not queue and key not in self.busy:
            del self.queues[key]
            return True
        return False

    def finished(self, pending: Pending) -> None:
        """A record left the producer for good (acknowledged, failed or expired)."""
        self.records -= 1
        self.bytes -= pending.size

    def requeue(self, records: list[Pending]) -> None:
        """Put records that must be retried back at the head of their keys, in order."""
        for pending in reversed(records):
            queue = self.queues.get(pending.partition_key)
            if queue is None:
                queue = self.queues[pending.partition_key] = deque()
            queue.appendleft(pending)
            self.queued += 1

    def release(self, key: str, not_before: float | None, ordered: bool) -> None:
        """An in-flight unit holding ``key`` finished; let the key's next record go."""
        if ordered:
            self.busy.discard(key)
        queue = self.queues.get(key)
        if not queue:
            self.drop_key_if_empty(key)
            return
        if key in self.listed or key in self._waiting_keys:
            return
        if not_before is None:
            self._make_ready(key)
        elif key not in self._waiting_keys:
            self._waiting_keys.add(key)
            heapq.heappush(self._waiting, (not_before, next(self._tiebreak), key))

    def promote(self, now: float) -> float | None:
        """Move keys whose back-off ended to ready; the next time one ends, if any."""
        while self._waiting and self._waiting[0][0] <= now:
            _, _, key = heapq.heappop(self._waiting)
            self._waiting_keys.discard(key)
            if self.queues.get(key):
                self._make_ready(key)
        return self._waiting[0][0] if self._waiting else None

    def regroup(self) -> None:
        """File ready keys under their shards again (after the shard map changed)."""
        keys = [key for group in self.ready.values() for key in group]
        self.ready = {}
        self.listed.clear()
        for key in keys:
            if self.queues.get(key):
                self._make_ready(key)
