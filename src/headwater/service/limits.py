"""Kinesis' per-shard throughput limits as token buckets.

Writes: 1 MiB/s and 1,000 records/s per shard. Reads: 5 GetRecords calls/s and 2 MiB/s per
shard. A bucket holds one second's worth; reads may run into debt (a 10 MiB response makes
the next calls wait), as on AWS. The multiplier scales every rate (``--limits``); ``None``
turns limiting off.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
WRITE_BYTES_PER_SECOND = 1 * MIB
WRITE_RECORDS_PER_SECOND = 1000
READ_BYTES_PER_SECOND = 2 * MIB
READ_CALLS_PER_SECOND = 5


class TokenBucket:
    """Refills continuously at ``rate`` per second up to ``capacity``."""

    __slots__ = ("capacity", "rate", "tokens", "updated_ms")

    def __init__(self, rate: float, now_ms: int) -> None:
        self.rate = rate
        self.capacity = rate
        self.tokens = rate
        self.updated_ms = now_ms

    def refill(self, now_ms: int) -> None:
        elapsed = now_ms - self.updated_ms
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate / 1000)
            self.updated_ms = now_ms

    def has(self, amount: float) -> bool:
        return self.tokens >= amount

    def take(self, amount: float) -> None:
        self.tokens -= amount


@dataclass(frozen=True, slots=True)
class LimitsPolicy:
    """``multiplier`` scales AWS' rates; ``None`` means unlimited."""

    multiplier: float | None = 1.0

    @classmethod
    def parse(cls, text: str) -> LimitsPolicy:
        """``aws`` (AWS' limits), ``off``, or a positive multiplier such as ``10``."""
        if text == "aws":
            return cls(1.0)
        if text == "off":
            return cls(None)
        value = float(text)
        if not value > 0:
            raise ValueError("limits multiplier must be positive")
        return cls(value)

    @property
    def enabled(self) -> bool:
        return self.multiplier is not None


class ShardThrottle:
    """The four buckets of one shard."""

    __slots__ = ("read_bytes", "read_calls", "write_bytes", "write_records")

    def __init__(self, policy: LimitsPolicy, now_ms: int) -> None:
        scale = policy.multiplier or 1.0
        self.write_bytes = TokenBucket(WRITE_BYTES_PER_SECOND * scale, now_ms)
        self.write_records = TokenBucket(WRITE_RECORDS_PER_SECOND * scale, now_ms)
        self.read_bytes = TokenBucket(READ_BYTES_PER_SECOND * scale, now_ms)
        self.read_calls = TokenBucket(READ_CALLS_PER_SECOND * scale, now_ms)

    def try_write(self, size: int, now_ms: int) -> bool:
        """Admit one record of ``size`` bytes, or refuse it without consuming anything.

        A record larger than a second's worth of bytes (a 1 MiB record plus its key, or a
        large record) is admitted when the byte bucket is full, leaving it in debt, so it is
        slowed down but never refused forever.
        """
        self.write_bytes.refill(now_ms)
        self.write_records.refill(now_ms)
        bytes_ok = (
            self.write_bytes.has(size) or self.write_bytes.tokens >= self.write_bytes.capacity
        )
        if not (self.write_records.has(1) and bytes_ok):
            return False
        self.write_records.take(1)
        self.write_bytes.take(size)
        return True

    def try_read_call(self, now_ms: int) -> bool:
        """Admit a GetRecords call unless the call rate or the byte debt says wait."""
        self.read_calls.refill(now_ms)
        self.read_bytes.refill(now_ms)
        if not self.read_calls.has(1) or self.read_bytes.tokens < 0:
            return False
        self.read_calls.take(1)
        return True

    def charge_read(self, size: int) -> None:
        self.read_bytes.take(size)


class ShardUsage:
    """Records and bytes offered to a shard since the last sample (for on-demand scaling)."""

    __slots__ = ("bytes", "records")

    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0

    def add(self, records: int, size: int) -> None:
        self.records += records
        self.bytes += size

    def take(self) -> tuple[int, int]:
        """The counts since the previous call, resetting them."""
        sample = (self.records, self.bytes)
        self.records = self.bytes = 0
        return sample
