"""Predicting a record's shard: MD5 of the partition key into the shards' hash-key ranges.

The producer uses the prediction to pace each shard and group aggregated records; the
service still routes every record itself, so a stale map costs throughput, never
correctness. A PutRecords answer naming another shard tells the producer to refresh.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

from headwater.client.shapes import Shard

MAX_HASH_KEY = 2**128 - 1


def hash_key_of(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def parse_hash_key(text: str) -> int:
    """An ExplicitHashKey as an integer, refused (ValueError) outside ``[0, 2**128)``."""
    if not text.isdigit():
        raise ValueError(f"ExplicitHashKey must be a decimal number: {text!r}")
    value = int(text)
    if value > MAX_HASH_KEY:
        raise ValueError("ExplicitHashKey must be below 2**128")
    return value


class ShardMap:
    """The open shards' hash-key ranges, searched by bisection."""

    def __init__(self, shards: Iterable[Shard] = ()) -> None:
        open_shards = sorted(
            (s for s in shards if s.is_open), key=lambda s: int(s.HashKeyRange.StartingHashKey)
        )
        self._starts = [int(s.HashKeyRange.StartingHashKey) for s in open_shards]
        self._ends = [int(s.HashKeyRange.EndingHashKey) for s in open_shards]
        self._ids = [s.ShardId for s in open_shards]

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def shard_ids(self) -> list[str]:
        return list(self._ids)

    def shard_for(self, hash_key: int) -> str | None:
        """The open shard whose range holds ``hash_key``; None when the map does not know."""
        index = bisect.bisect_right(self._starts, hash_key) - 1
        if index >= 0 and hash_key <= self._ends[index]:
            return self._ids[index]
        return None
