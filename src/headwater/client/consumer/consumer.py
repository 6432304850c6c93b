"""The consumer worker: leases, one task per held shard, and the ways to hand it code.

Three ways to use it, all at-least-once:

* ``async for record in consumer`` — records from every held shard; a batch is
  checkpointed once the loop has asked for the record after its last one;
* ``@consumer.on_record`` / ``@consumer.on_batch`` handlers, checkpointed after each batch;
* ``processor_factory=`` a KCL-style ``RecordProcessor`` class that checkpoints itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from headwater.client.api import KinesisClient
from headwater.client.consumer.config import FANOUT, ConsumerConfig
from headwater.client.consumer.coordinator import LeaseCoordinator
from headwater.client.consumer.handlers import BatchHandler, HandlerProcessor, RecordFeed
from headwater.client.consumer.held import SHUTDOWN, HeldLease
from headwater.client.consumer.leases import LeaseScope, LeaseStore, open_lease_store
from headwater.client.consumer.processor import ProcessorFactory
from headwater.client.consumer.readers.base import ShardReader
from headwater.client.consumer.readers.fanout import FanOutReader
from headwater.client.consumer.readers.polling import PollingReader
from headwater.client.consumer.shard_consumer import ShardConsumer
from headwater.client.positions import StartingPosition
from headwater.client.records import Record

log = logging.getLogger(__name__)

DEFAULT_LEASE_FILE = "headwater-leases.sqlite"
RecordHandler = Callable[[Record], Awaitable[None] | None]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Consumer:
    """A KCL-style worker for one stream and application."""

    def __init__(
        self,
        stream: str,
        application: str,
        *,
        processor_factory: ProcessorFactory | None = None,
        config: ConsumerConfig | None = None,
        lease_store: LeaseStore | str | None = None,
        client: KinesisClient | None = None,
        **client_options: Any,
    ) -> None:
        self.stream = stream
        self.application = application
        self.config = config or ConsumerConfig()
        self.worker_id = self.config.worker_id or default_worker_id()
        self.processor_factory = processor_factory
        if lease_store is None or isinstance(lease_store, str):
            lease_store = open_lease_store(lease_store or DEFAULT_LEASE_FILE)
        self.store = lease_store
        self._owns_client = client is None
        self.client = client or KinesisClient(**client_options)
        self.scope = LeaseScope(application, stream)
        self.coordinator = LeaseCoordinator(
            self.client, stream, self.store, self.scope, self.worker_id, self.config, self._spawn
        )
        self._tasks: dict[str, asyncio.Task[str]] = {}
        self._coordinator_task: asyncio.Task[None] | None = None
        self._consumer_arn: str | None = None
        self._feed: RecordFeed | None = None
        self._stopped = asyncio.Event()

    # -- ways to give it code ------------------------------------------------------------

    def on_batch(self, handler: BatchHandler) -> BatchHandler:
        """Decorator: ``handler(records)`` runs per batch; the batch is checkpointed after."""
        self.processor_factory = lambda: HandlerProcessor(handler, self.config)
        return handler

    def on_record(self, handler: RecordHandler) -> RecordHandler:
        """Decorator: ``handler(record)`` runs per record, in order within a shard."""

        async def per_batch(records: list[Record]) -> None:
            for record in records:
                result = handler(record)
                if asyncio.iscoroutine(result):
                    await result

        self.on_batch(per_batch)
        return handler

    def __aiter__(self) -> AsyncIterator[Record]:
        if self._feed is None:
            self._feed = RecordFeed()
            feed = self._feed
            self.processor_factory = feed.processor
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Record]:
        assert self._feed is not None
        if self._coordinator_task is None:
            await self.start()
        async for record in self._feed:
            yield record

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Consumer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def held_shards(self) -> list[str]:
        return sorted(self.coordinator.held)

    async def start(self) -> None:
        """Open the lease table, register for fan-out if asked, start taking leases."""
        if self._coordinator_task is not None:
            return
        if self.processor_factory is None:
            raise ValueError("give a processor_factory, a handler, or iterate the consumer")
        await self.store.open()
        if self.config.retrieval == FANOUT:
            summary = await self.client.describe_stream_summary(self.stream)
            name = self.config.consumer_name or self.application
            consumer = await self.client.register_consumer(summary.StreamARN, name)
            self._consumer_arn = consumer.ConsumerARN
        self._coordinator_task = asyncio.create_task(self.coordinator.run(), name="leases")

    async def run(self) -> None:
        """Start and process until ``stop`` is called (or the task is cancelled)."""
        await self.start()
        try:
            await self._stopped.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Graceful: processors hear shutdown_requested, checkpoint, leases are released."""
        if self._coordinator_task is None:
            await self._close_resources()
            return
        self.coordinator.taking = False
        for held in list(self.coordinator.held.values()):
            held.request_stop(SHUTDOWN)
        if self._feed is not None:
            self._feed.close()
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._coordinator_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._coordinator_task
        self._coordinator_task = None
        self._stopped.set()
        await self._close_resources()

    async def _close_resources(self) -> None:
        await self.store.close()
        if self._owns_client:
            await self.client.aclose()

    # -- shards --------------------------------------------------------------------------

    def _reader(self, shard_id: str, position: StartingPosition) -> ShardReader:
        if self._consumer_arn is not None:
            return FanOutReader(self.client, self._consumer_arn, shard_id, position, self.config)
        return PollingReader(self.client, self.stream, shard_id, position, self.config)

    def _spawn(self, held: HeldLease) -> None:
        assert self.processor_factory is not None
        shard_consumer = ShardConsumer(
            held,
            self.processor_factory(),
            self._reader,
            self.store,
            self.scope,
            self.worker_id,
            self.config,
            self.coordinator.add_children,
        )
        task = asyncio.create_task(shard_consumer.run(), name=f"shard-{held.shard_id}")
        self._tasks[held.shard_id] = task
        task.add_done_callback(lambda t, shard=held.shard_id: self._finished(shard, t))

    def _finished(self, shard_id: str, task: asyncio.Task[str]) -> None:
        self._tasks.pop(shard_id, None)
        self.coordinator.forget(shard_id)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("shard consumer %s crashed: %r", shard_id, error)
        else:
            log.info("shard %s: %s", shard_id, task.result())
        self.coordinator.poke()
