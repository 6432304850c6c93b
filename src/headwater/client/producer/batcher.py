"""Turning ready records into one PutRecords call: limits, pacing, ordering, aggregation.

A call holds at most 500 Kinesis records and 5 MiB. Shards are visited in rotation so a
busy shard cannot starve the others, and each shard only gives what its pacing bucket
allows. A *unit* is one Kinesis record of the call: a plain user record, or an aggregate of
several user records of the same predicted shard (all-or-nothing, so it is retried whole).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from headwater.client.aggregation import AggregateBuilder
from headwater.client.errors import RecordExpiredError
from headwater.client.producer.buffer import KeyedBuffer, Pending
from headwater.client.producer.config import ProducerConfig
from headwater.client.producer.limiter import ShardBucket, ShardLimiter
from headwater.client.shapes import PutRecordsRequestEntry


@dataclass(slots=True)
class Unit:
    """One Kinesis record of a call and the user records it carries."""

    records: list[Pending]
    shard_id: str | None
    entry: PutRecordsRequestEntry
    keys: list[str] = field(default_factory=list)
    aggregated: bool = False


@dataclass(slots=True)
class Batch:
    units: list[Unit] = field(default_factory=list)
    size: int = 0


class Batcher:
    """Builds calls from a ``KeyedBuffer``; expired records are failed on the way."""

    def __init__(
        self, buffer: KeyedBuffer, limiter: ShardLimiter, config: ProducerConfig, on_expired
    ) -> None:
        self.buffer = buffer
        self.limiter = limiter
        self.config = config
        self.on_expired = on_expired
        self._rotation = 0

    def assemble(self, now: float) -> tuple[Batch, float | None]:
        """The next call's units, and when to try again if pacing held records back."""
        batch = Batch()
        retry_in: float | None = None
        shards = [shard for shard, keys in self.buffer.ready.items() if keys]
        if not shards:
            return batch, None
        self._rotation = (self._rotation + 1) % len(shards)
        for shard in shards[self._rotation :] + shards[: self._rotation]:
            if self._full(batch):
                break
            keys = self.buffer.ready[shard]
            bucket = self.limiter.bucket(shard, now)
            wait = self._fill_from_shard(batch, shard, keys, bucket, now)
            if wait is not None:
                retry_in = wait if retry_in is None else min(retry_in, wait)
        for shard in shards:
            if not self.buffer.ready.get(shard, True):
                del self.buffer.ready[shard]
        return batch, retry_in

    def _full(self, batch: Batch) -> bool:
        return len(batch.units) >= self.config.max_batch_records

    def _expire_heads(self, key: str, keys: deque[str], now: float) -> bool:
        """Fail the key's expired head records; True when the key has none left."""
        queue = self.buffer.queues[key]
        while queue and queue[0].deadline <= now:
            pending = self.buffer.pop_head(key)
            self.on_expired(pending, RecordExpiredError("RecordExpired", "record TTL ran out"))
        if queue:
            return False
        self.buffer.unlist_first(keys)
        self.buffer.drop_key_if_empty(key)
        return True

    def _fill_from_shard(
        self,
        batch: Batch,
        shard: str | None,
        keys: deque[str],
        bucket: ShardBucket | None,
        now: float,
    ) -> float | None:
        """Add this shard's units to the batch; seconds until pacing allows more, if blocked."""
        while keys and not self._full(batch):
            key = keys[0]
            if self._expire_heads(key, keys, now):
                continue
            head = self.buffer.queues[key][0]
            if batch.size + head.size > self.config.max_batch_bytes:
                return None
            if self.config.aggregation:
                unit = self._aggregate(batch, shard, keys, bucket, now)
            else:
                unit = self._plain(shard, key, keys, head, bucket, now)
            if unit is None:
                return bucket.wait_for(head.size) if bucket is not None else None
            batch.units.append(unit)
            batch.size += len(unit.entry.Data) + len(unit.entry.PartitionKey.encode())
        return None

    def _take(self, key: str, keys: deque[str]) -> Pending:
        """Pop the key's head for sending; in ordered mode the key is busy until it returns."""
        pending = self.buffer.pop_head(key)
        if self.config.ordered:
            self.buffer.unlist_first(keys)
            self.buffer.busy.add(key)
        elif not self.buffer.queues[key]:
            self.buffer.unlist_first(keys)
            self.buffer.drop_key_if_empty(key)
        return pending

    def _plain(
        self,
        shard: str | None,
        key: str,
        keys: deque[str],
        head: Pending,
        bucket: ShardBucket | None,
        now: float,
    ) -> Unit | None:
        if bucket is not None and not bucket.try_take(head.size, now):
            return None
        pending = self._take(key, keys)
        entry = PutRecordsRequestEntry(
            pending.data, pending.partition_key, pending.explicit_hash_key
        )
        return Unit([pending], shard, entry, [key])

    def _aggregate(
        self,
        batch: Batch,
        shard: str | None,
        keys: deque[str],
        bucket: ShardBucket | None,
        now: float,
    ) -> Unit | None:
        """Pack head records of this shard's ready keys into one aggregate."""
        limit = self.config.aggregation_max_size
        budget = min(limit, self.config.max_batch_bytes - batch.size)
        if bucket is not None:
            budget = min(budget, int(bucket.available_bytes(now)))
        builder = AggregateBuilder(max(1, budget))
        taken: list[Pending] = []
        unit_keys: list[str] = []
        while keys and budget > 0:
            key = keys[0]
            if self._expire_heads(key, keys, now):
                continue
            queue = self.buffer.queues[key]
            if not builder.add(queue[0].partition_key, queue[0].data, queue[0].explicit_hash_key):
                break
            taken.append(self.buffer.pop_head(key))
            while queue and queue[0].deadline > now:
                head = queue[0]
                if not builder.add(head.partition_key, head.data, head.explicit_hash_key):
                    break
                taken.append(self.buffer.pop_head(key))
            unit_keys.append(self.buffer.unlist_first(keys))
            if self.config.ordered:
                self.buffer.busy.add(key)
            elif not self.buffer.drop_key_if_empty(key):
                self.buffer.release(key, None, ordered=False)
            if queue:
                break
        if not taken:
            return self._alone(shard, keys, bucket, now)
        if len(taken) == 1:
            only = taken[0]
            entry = PutRecordsRequestEntry(only.data, only.partition_key, only.explicit_hash_key)
        else:
            built = builder.build()
            entry = PutRecordsRequestEntry(built.data, built.partition_key, built.explicit_hash_key)
        if bucket is not None:
            bucket.charge(len(entry.Data) + len(entry.PartitionKey.encode()), now)
        return Unit(taken, shard, entry, unit_keys, aggregated=len(taken) > 1)

    def _alone(
        self, shard: str | None, keys: deque[str], bucket: ShardBucket | None, now: float
    ) -> Unit | None:
        """A head that fits no aggregate goes as a plain record; one that would, waits."""
        if not keys:
            return None
        key = keys[0]
        head = self.buffer.queues[key][0]
        if AggregateBuilder(self.config.aggregation_max_size).fits(
            head.partition_key, head.data, head.explicit_hash_key
        ):
            return None
        return self._plain(shard, key, keys, head, bucket, now)
