"""Reading a shard with enhanced fan-out: SubscribeToShard, re-subscribed as needed.

A subscription lasts up to 5 minutes and pushes ``SubscribeToShardEvent`` values; each
carries a ``ContinuationSequenceNumber`` to re-subscribe from, and the last one of a closed
shard has none but lists the children. The reader re-subscribes after the service ends a
subscription, after a dropped connection, or after ``ResourceInUseException`` (the previous
subscription still closing), with back-off; the consumer is registered once per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from headwater.client.api import KinesisClient
from headwater.client.backoff import Backoff
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.readers.base import ReadBatch
from headwater.client.consumer.readers.eventstream import subscription_events
from headwater.client.errors import is_retryable
from headwater.client.positions import StartingPosition
from headwater.client.shapes import SubscribeToShardEvent
from headwater.errors import KinesisError, ResourceInUseException

log = logging.getLogger(__name__)


class FanOutReader:
    def __init__(
        self,
        client: KinesisClient,
        consumer_arn: str,
        shard_id: str,
        start: StartingPosition,
        config: ConsumerConfig,
    ) -> None:
        self.client = client
        self.consumer_arn = consumer_arn
        self.shard_id = shard_id
        self.position = start
        self._backoff = Backoff(config.backoff_base, config.backoff_cap)
        self._failures = 0
        self._stack: contextlib.AsyncExitStack | None = None
        self._events: AsyncIterator[SubscribeToShardEvent] | None = None

    async def _subscribe(self) -> None:
        stack = contextlib.AsyncExitStack()
        try:
            chunks = await stack.enter_async_context(
                self.client.subscribe_to_shard(self.consumer_arn, self.shard_id, self.position)
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._events = subscription_events(chunks)

    async def _unsubscribe(self) -> None:
        stack, self._stack, self._events = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()

    async def next_batch(self) -> ReadBatch:
        while True:
            try:
                if self._events is None:
                    await self._subscribe()
                assert self._events is not None
                event = await anext(self._events, None)
            except KinesisError as exc:
                await self._unsubscribe()
                if not (is_retryable(exc) or isinstance(exc, ResourceInUseException)):
                    raise
                await self._pause(exc)
                continue
            except Exception as exc:  # a dropped stream surfaces as an httpx/botocore error
                await self._unsubscribe()
                await self._pause(exc)
                continue
            if event is None:
                await self._unsubscribe()
                continue
            self._failures = 0
            return self._accept(event)

    async def _pause(self, reason: Any) -> None:
        self._failures += 1
        delay = self._backoff.delay(self._failures)
        log.debug("SubscribeToShard on %s: %s; again in %.2fs", self.shard_id, reason, delay)
        await asyncio.sleep(delay)

    def _accept(self, event: SubscribeToShardEvent) -> ReadBatch:
        if event.ContinuationSequenceNumber is not None:
            self.position = StartingPosition.after_sequence(event.ContinuationSequenceNumber)
        elif event.Records:
            self.position = StartingPosition.after_sequence(event.Records[-1].SequenceNumber)
        # AWS ends a shard with a null continuation; child shards are only ever listed
        # at the end too, so either sign is taken (servers differ on the first).
        ended = event.ContinuationSequenceNumber is None or bool(event.ChildShards)
        return ReadBatch(
            records=event.Records,
            millis_behind_latest=event.MillisBehindLatest,
            shard_end=ended,
            child_shards=event.ChildShards or [],
        )

    async def close(self) -> None:
        await self._unsubscribe()
