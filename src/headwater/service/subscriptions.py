"""SubscribeToShard: push a shard's records to an enhanced fan-out consumer as they land.

A subscription is an async stream of events: ``initial-response`` first, then
``SubscribeToShardEvent``s, each sent as soon as new records are durable (the log wakes the
subscriber; there is no polling interval), or as a heartbeat every few seconds when the shard
is quiet. It ends after five minutes, at a closed shard's end (with its ChildShards), or when
a newer subscription of the same consumer to the same shard replaces it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from headwater.errors import LimitExceededException, ResourceInUseException
from headwater.service.consumers import STATUS_ACTIVE, ConsumerRegistry, consumer_status
from headwater.service.model import Consumer, Shard, Stream
from headwater.service.records import ReadBatch, RecordPlane, child_shards

SUBSCRIPTION_SECONDS = 300.0
HEARTBEAT_SECONDS = 5.0
CLOSE_CHECK_SECONDS = 0.5
EVENT_MAX_RECORDS = 10_000
EVENT_MAX_BYTES = 2 * 1024 * 1024
SUBSCRIBE_INTERVAL_MS = 1000  # one call per second per consumer and shard
TAKEOVER_AFTER_MS = 5000  # a newer call replaces a live subscription only after 5 s


@dataclass(frozen=True, slots=True)
class Event:
    event_type: str
    body: dict


class Subscriptions:
    def __init__(self, records: RecordPlane, consumers: ConsumerRegistry) -> None:
        self.records = records
        self.consumers = consumers
        self._last_call_ms: dict[tuple[str, str, int], int] = {}
        self._active: dict[tuple[str, str, int], asyncio.Event] = {}

    async def open(self, request: dict) -> AsyncIterator[Event]:
        """Validate and resolve the start now (errors become plain responses), then stream."""
        stream, consumer = self.consumers.find({"ConsumerARN": request["ConsumerARN"]})
        registry = self.records.registry
        now = registry.clock.now_ms()
        if consumer_status(consumer, now) != STATUS_ACTIVE:
            raise ResourceInUseException(
                f"Consumer {consumer.name} with creation timestamp {consumer.created_ms // 1000} "
                f"under stream {stream.name} and account {registry.config.account_id} is not "
                "in ACTIVE status."
            )
        shard = self.records.shard_or_fail(stream, request["ShardId"])
        key = (stream.stream_id, consumer.name, shard.index)
        last = self._last_call_ms.get(key)
        if last is not None and now - last < SUBSCRIBE_INTERVAL_MS:
            raise LimitExceededException(
                f"Consumer {self.consumers.arn(stream, consumer)} exceeded the limit of one "
                f"SubscribeToShard call per second on shard {shard.shard_id}."
            )
        if last is not None and now - last < TAKEOVER_AFTER_MS and key in self._active:
            raise ResourceInUseException(
                f"Consumer {self.consumers.arn(stream, consumer)} already has an active "
                f"subscription to shard {shard.shard_id}, started less than 5 seconds ago."
            )
        self._last_call_ms[key] = now
        start = request["StartingPosition"]
        position = await self.records.start_position(
            stream, shard, start["Type"], start.get("SequenceNumber"), start.get("Timestamp")
        )
        replaced = self._active.pop(key, None)
        if replaced is not None:
            replaced.set()
        stop = self._active[key] = asyncio.Event()
        return self._events(stream, consumer, shard, position, key, stop)

    async def _events(
        self,
        stream: Stream,
        consumer: Consumer,
        shard: Shard,
        position: int,
        key: tuple[str, str, int],
        stop: asyncio.Event,
    ) -> AsyncIterator[Event]:
        registry = self.records.registry
        shard_log = await registry.shard_log(stream, shard)
        clock = registry.clock
        deadline = clock.now_ms() + SUBSCRIPTION_SECONDS * 1000
        quiet_since = clock.now_ms()
        try:
            yield Event("initial-response", {})
            while not stop.is_set() and clock.now_ms() < deadline:
                batch = await self.records.read_batch(
                    stream, shard, position, EVENT_MAX_RECORDS, EVENT_MAX_BYTES
                )
                position = batch.next_position
                quiet = clock.now_ms() - quiet_since >= HEARTBEAT_SECONDS * 1000
                self.records.metrics.subscription_event(
                    stream, consumer.name, len(batch.records), batch.size, batch.millis_behind
                )
                if batch.records or batch.at_end or quiet:
                    yield Event(
                        "SubscribeToShardEvent", self._event_body(stream, shard, batch, position)
                    )
                    quiet_since = clock.now_ms()
                    if batch.at_end:
                        return
                if not batch.records:
                    left_s = max(deadline - clock.now_ms(), 0) / 1000
                    await shard_log.wait_beyond(position, min(CLOSE_CHECK_SECONDS, left_s))
        finally:
            if self._active.get(key) is stop:
                del self._active[key]

    @staticmethod
    def _event_body(stream: Stream, shard: Shard, batch: ReadBatch, position: int) -> dict:
        """At a closed shard's end AWS sends no ContinuationSequenceNumber (null) and the
        children instead: consumers (KCL, Flink) test for exactly that."""
        body: dict = {"Records": batch.records, "MillisBehindLatest": batch.millis_behind}
        if batch.at_end:
            body["ChildShards"] = child_shards(stream, shard)
        else:
            body["ContinuationSequenceNumber"] = str(shard.sequence_base + position)
        return body
