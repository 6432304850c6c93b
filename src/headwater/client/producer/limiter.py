"""Client-side pacing of each shard's writes, so most records are not throttled at all.

A token bucket per predicted shard, refilled at AWS' per-shard write rates (scaled by
``shard_rate``). Throttling still happens (other producers, a stale shard map, rounding) and
is handled by retries; pacing only keeps it rare, which keeps retries and reordering rare.
"""

from __future__ import annotations

WRITE_RECORDS_PER_SECOND = 1000.0
WRITE_BYTES_PER_SECOND = 1024.0 * 1024.0


class ShardBucket:
    """Record and byte tokens of one shard, holding at most one second's worth."""

    __slots__ = ("byte_rate", "bytes", "record_rate", "records", "updated")

    def __init__(self, scale: float, now: float) -> None:
        self.record_rate = WRITE_RECORDS_PER_SECOND * scale
        self.byte_rate = WRITE_BYTES_PER_SECOND * scale
        self.records = self.record_rate
        self.bytes = self.byte_rate
        self.updated = now

    def refill(self, now: float) -> None:
        elapsed = now - self.updated
        if elapsed > 0:
            self.records = min(self.record_rate, self.records + elapsed * self.record_rate)
            self.bytes = min(self.byte_rate, self.bytes + elapsed * self.byte_rate)
            self.updated = now

    def available_bytes(self, now: float) -> float:
        self.refill(now)
        return self.bytes if self.records >= 1 else 0.0

    def try_take(self, size: int, now: float) -> bool:
        """Take one record of ``size`` bytes if both buckets allow it."""
        self.refill(now)
        if self.records < 1 or self.bytes < size:
            return False
        self.records -= 1
        self.bytes -= size
        return True

    def charge(self, size: int, now: float) -> None:
        """Take one record of ``size`` bytes even if that runs the buckets into debt."""
        self.refill(now)
        self.records -= 1
        self.bytes -= size

    def wait_for(self, size: int) -> float:
        """Seconds until one record of ``size`` bytes would be admitted."""
        need_records = max(0.0, 1 - self.records) / self.record_rate
        need_bytes = max(0.0, min(size, self.byte_rate) - self.bytes) / self.byte_rate
        return max(need_records, need_bytes)


class ShardLimiter:
    """The buckets of every predicted shard; ``None`` when pacing is off or the shard unknown."""

    def __init__(self, scale: float | None) -> None:
        self.scale = scale
        self._buckets: dict[str, ShardBucket] = {}

    def bucket(self, shard_id: str | None, now: float) -> ShardBucket | None:
        if self.scale is None or shard_id is None:
            return None
        found = self._buckets.get(shard_id)
        if found is None:
            found = self._buckets[shard_id] = ShardBucket(self.scale, now)
        return found
