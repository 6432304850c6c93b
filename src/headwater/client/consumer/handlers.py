"""Record processors behind the friendly APIs: handlers and ``async for``.

Both checkpoint only what the application finished: a handler's batch once the handler
returned, an iterated batch once the loop asked for the record after its last one. A
handler that raises is retried with back-off (records are never skipped); catch inside the
handler to skip poison records deliberately.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from headwater.client.backoff import Backoff
from headwater.client.consumer.checkpointer import Checkpointer
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.processor import ProcessRecordsInput, RecordProcessorBase
from headwater.client.errors import LeaseLostError
from headwater.client.records import Record

log = logging.getLogger(__name__)

BatchHandler = Callable[[list[Record]], Awaitable[None] | None]


async def _checkpoint(checkpointer: Checkpointer) -> None:
    try:
        await checkpointer.checkpoint()
    except LeaseLostError:
        log.info("lease of %s lost before checkpoint", checkpointer.shard_id)


class HandlerProcessor(RecordProcessorBase):
    """Runs a batch handler, retrying it until it succeeds, then checkpoints."""

    def __init__(self, handler: BatchHandler, config: ConsumerConfig) -> None:
        self.handler = handler
        self.backoff = Backoff(config.backoff_base, config.backoff_cap)
        self.stopping = False

    async def process_records(self, batch: ProcessRecordsInput) -> None:
        attempt = 0
        while True:
            try:
                result = self.handler(batch.records)
                if asyncio.iscoroutine(result):
                    await result
                break
            except Exception:
                attempt += 1
                log.exception("handler failed on %s (attempt %d)", batch.shard_id, attempt)
                if self.stopping or batch.checkpointer.stopping:
                    return
                await asyncio.sleep(self.backoff.delay(attempt))
        await _checkpoint(batch.checkpointer)

    async def lease_lost(self) -> None:
        self.stopping = True

    async def shutdown_requested(self, checkpointer: Checkpointer) -> None:
        self.stopping = True


class _Delivery:
    """One batch on its way through the iterator; ``processed`` is the last finished record."""

    __slots__ = ("done", "processed", "records")

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.processed: Record | None = None
        self.done = asyncio.Event()


class RecordFeed:
    """The queue between shard processors and ``async for record in consumer``."""

    def __init__(self) -> None:
        self._batches: asyncio.Queue[_Delivery | None] = asyncio.Queue()
        self._open: set[_Delivery] = set()
        self.closed = False

    def processor(self) -> _FeedProcessor:
        return _FeedProcessor(self)

    def close(self) -> None:
        """End iteration; processors waiting on the loop checkpoint what it finished."""
        self.closed = True
        self._batches.put_nowait(None)
        for delivery in self._open:
            delivery.done.set()

    async def deliver(self, records: list[Record]) -> Record | None:
        """Queue a batch; wait until the loop is past it; the last record it finished."""
        delivery = _Delivery(records)
        self._open.add(delivery)
        try:
            await self._batches.put(delivery)
            await delivery.done.wait()
        finally:
            self._open.discard(delivery)
        return delivery.processed

    async def __aiter__(self) -> AsyncIterator[Record]:
        while not self.closed:
            delivery = await self._batches.get()
            if delivery is None:
                return
            try:
                for record in delivery.records:
                    yield record
                    delivery.processed = record
            finally:
                delivery.done.set()


class _FeedProcessor(RecordProcessorBase):
    def __init__(self, feed: RecordFeed) -> None:
        self.feed = feed

    async def process_records(self, batch: ProcessRecordsInput) -> None:
        if self.feed.closed:
            return
        processed = await self.feed.deliver(batch.records)
        if processed is None:
            return
        try:
            await batch.checkpointer.checkpoint(processed)
        except LeaseLostError:
            log.info("lease of %s lost before checkpoint", batch.shard_id)
