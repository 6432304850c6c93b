"""Reading a shard with GetShardIterator / GetRecords (the KCL's polling mode).

Keeps its own position (after the last record returned), so an expired iterator or a
transient failure resumes where it stopped. Throttling backs off with jitter; an empty or
caught-up shard waits ``idle_time_between_reads`` before the next call, and calls never come
closer than ``min_call_interval`` (AWS allows 5 GetRecords per second per shard).
"""

from __future__ import annotations

import asyncio
import logging
import time

from headwater.client.api import KinesisClient
from headwater.client.backoff import Backoff
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.readers.base import ReadBatch
from headwater.client.errors import is_retryable
from headwater.client.positions import StartingPosition
from headwater.errors import ExpiredIteratorException, KinesisError

log = logging.getLogger(__name__)


class PollingReader:
    def __init__(
        self,
        client: KinesisClient,
        stream: str,
        shard_id: str,
        start: StartingPosition,
        config: ConsumerConfig,
    ) -> None:
        self.client = client
        self.stream = stream
        self.shard_id = shard_id
        self.position = start
        self.config = config
        self._iterator: str | None = None
        self._backoff = Backoff(config.backoff_base, config.backoff_cap)
        self._failures = 0
        self._next_call = 0.0

    async def _wait_turn(self) -> None:
        delay = self._next_call - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def next_batch(self) -> ReadBatch:
        while True:
            await self._wait_turn()
            try:
                if self._iterator is None:
                    self._iterator = await self.client.get_shard_iterator(
                        self.stream, self.shard_id, self.position
                    )
                output = await self.client.get_records(self._iterator, self.config.max_records)
            except ExpiredIteratorException:
                self._iterator = None
                continue
            except KinesisError as exc:
                if not is_retryable(exc):
                    raise
                self._failures += 1
                delay = self._backoff.delay(self._failures)
                log.debug("GetRecords on %s: %s; retrying in %.2fs", self.shard_id, exc, delay)
                self._next_call = time.monotonic() + delay
                continue
            self._failures = 0
            return self._accept(output)

    def _accept(self, output) -> ReadBatch:
        if output.Records:
            self.position = StartingPosition.after_sequence(output.Records[-1].SequenceNumber)
        self._iterator = output.NextShardIterator
        caught_up = not output.Records or output.MillisBehindLatest == 0
        pause = self.config.idle_time_between_reads if caught_up else self.config.min_call_interval
        self._next_call = time.monotonic() + pause
        return ReadBatch(
            records=output.Records,
            millis_behind_latest=output.MillisBehindLatest,
            shard_end=output.NextShardIterator is None,
            child_shards=output.ChildShards or [],
        )

    async def close(self) -> None:
        return None
