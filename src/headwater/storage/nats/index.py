"""A bounded, sparse map of known batches: positions and times → JetStream sequences.

Every batch a node appends, hears about, reads or probes is noted. Sequential readers then
find their next batch without a request (a shard's sequences are contiguous: each append
expects the previous one), and random access starts its search from the tightest bracket.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from headwater.storage.nats.frames import BatchMeta

DEFAULT_CAPACITY = 1024  # about 200 KB for a busy shard
_KEEP_NEWEST = 128  # never thinned: where tailing readers and appends work


class BatchIndex:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._positions: list[int] = []
        self._arrivals: list[int] = []
        self._metas: list[BatchMeta] = []

    def __len__(self) -> int:
        return len(self._metas)

    def add(self, meta: BatchMeta) -> None:
        i = bisect_left(self._positions, meta.first_position)
        if i < len(self._positions) and self._positions[i] == meta.first_position:
            return
        self._positions.insert(i, meta.first_position)
        self._arrivals.insert(i, meta.arrival_ms)
        self._metas.insert(i, meta)
        if len(self._metas) > self._capacity:
            self._thin()

    def around(self, position: int) -> tuple[BatchMeta | None, BatchMeta | None]:
        """The known batches starting at or before ``position`` and after it (nearest each)."""
        i = bisect_right(self._positions, position)
        return self._at(i - 1), self._at(i)

    def around_time(self, arrival_ms: int) -> tuple[BatchMeta | None, BatchMeta | None]:
        """The nearest known batches arriving before ``arrival_ms`` and at or after it."""
        i = bisect_left(self._arrivals, arrival_ms)
        return self._at(i - 1), self._at(i)

    def forget_before(self, seq: int) -> None:
        """Drop batches a purge removed."""
        keep = next((i for i, meta in enumerate(self._metas) if meta.seq >= seq), len(self))
        del self._positions[:keep], self._arrivals[:keep], self._metas[:keep]

    def _at(self, i: int) -> BatchMeta | None:
        return self._metas[i] if 0 <= i < len(self._metas) else None

    def _thin(self) -> None:
        """Halve the older part, so memory stays bounded while every region keeps a guide."""
        old = len(self._metas) - _KEEP_NEWEST
        for column in (self._positions, self._arrivals, self._metas):
            column[:old] = column[:old:2]
