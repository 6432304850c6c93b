"""Processing one leased shard from its checkpoint to a stop, in the KCL's order.

initialize → process_records… → one of lease_lost / shard_ended / shutdown_requested.
Reading is interrupted at once by a stop signal; a batch being processed is not (the
processor finishes it, then hears why it stops). After the processor's last call the lease
is settled: handed to the worker that asked for it, released on shutdown or shard end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from headwater.client.backoff import Backoff
from headwater.client.consumer.checkpointer import Checkpointer
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.held import FAILED, HANDOFF, LOST, HeldLease
from headwater.client.consumer.leases.model import (
    AT_TIMESTAMP,
    LATEST,
    TRIM_HORIZON,
    Checkpoint,
    LeaseScope,
)
from headwater.client.consumer.leases.store import LeaseStore, LeaseStoreError
from headwater.client.consumer.processor import (
    InitializationInput,
    ProcessRecordsInput,
    RecordProcessor,
)
from headwater.client.consumer.readers.base import (
    ReadBatch,
    ReaderFactory,
    ShardReader,
    user_records,
)
from headwater.client.errors import ProcessorFailedError
from headwater.client.positions import StartingPosition
from headwater.client.shapes import ChildShard

log = logging.getLogger(__name__)

SHARD_ENDED = "shard_end"
OnShardEnd = Callable[[str, list[ChildShard]], Awaitable[None]]


def start_position(checkpoint: Checkpoint) -> tuple[StartingPosition, tuple[int, int] | None]:
    """Where to read from, and the position up to which records are already done.

    A sequence checkpoint re-reads its own record (AT_SEQUENCE_NUMBER) because it may be an
    aggregate whose later user records were not processed yet; the rest is skipped.
    """
    if checkpoint.sequence == TRIM_HORIZON:
        return StartingPosition.trim_horizon(), None
    if checkpoint.sequence == LATEST:
        return StartingPosition.latest(), None
    if checkpoint.sequence == AT_TIMESTAMP:
        assert checkpoint.timestamp is not None
        return StartingPosition.at_timestamp(checkpoint.timestamp), None
    return StartingPosition.at_sequence(checkpoint.sequence), checkpoint.position


class ShardConsumer:
    def __init__(
        self,
        held: HeldLease,
        processor: RecordProcessor,
        reader_factory: ReaderFactory,
        store: LeaseStore,
        scope: LeaseScope,
        owner: str,
        config: ConsumerConfig,
        on_shard_end: OnShardEnd,
    ) -> None:
        self.held = held
        self.processor = processor
        self.reader_factory = reader_factory
        self.store = store
        self.scope = scope
        self.owner = owner
        self.config = config
        self.on_shard_end = on_shard_end
        self.checkpointer = Checkpointer(held, store, scope, owner)
        self._backoff = Backoff(config.backoff_base, config.backoff_cap)

    @property
    def shard_id(self) -> str:
        return self.held.shard_id

    async def _call(self, step: Awaitable[None], what: str) -> None:
        """Run a processor call; its exceptions are logged, not fatal (as in the KCL)."""
        try:
            await step
        except ProcessorFailedError as exc:
            log.error("record processor of %s cannot go on (%s): restarting", self.shard_id, exc)
            self.held.request_stop(FAILED)
        except Exception:
            log.exception("record processor %s failed on %s", what, self.shard_id)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the shard is asked to stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.held.stop.wait()

    async def run(self) -> str:
        """Process the shard until it ends or a stop is requested; the outcome."""
        checkpoint = self.held.lease.checkpoint
        position, done_up_to = start_position(checkpoint)
        await self._call(
            self.processor.initialize(InitializationInput(self.shard_id, checkpoint)), "initialize"
        )
        reader = self.reader_factory(self.shard_id, position)
        failures = 0
        try:
            while not self.held.stop.is_set():
                try:
                    batch = await self._read(reader)
                except Exception as exc:
                    failures += 1
                    log.warning("reading %s failed: %s", self.shard_id, exc)
                    await self._pause(self._backoff.delay(failures))
                    continue
                failures = 0
                if batch is None:
                    break
                records = user_records(batch.records, self.shard_id, done_up_to)
                if records or self.config.call_process_records_even_for_empty_list:
                    self.checkpointer.delivered(records)
                    batch_input = ProcessRecordsInput(
                        self.shard_id, records, self.checkpointer, batch.millis_behind_latest
                    )
                    await self._call(self.processor.process_records(batch_input), "process")
                if batch.shard_end:
                    await self.on_shard_end(self.shard_id, batch.child_shards)
                    if await self._end_shard():
                        await self._settle(SHARD_ENDED)
                        return SHARD_ENDED
                    break
        finally:
            await reader.close()
        reason = self.held.stop_reason or LOST
        if reason == FAILED:
            pass
        elif reason == LOST:
            await self._call(self.processor.lease_lost(), "lease_lost")
        else:
            await self._call(self.processor.shutdown_requested(self.checkpointer), "shutdown")
        await self._settle(reason)
        return reason

    async def _read(self, reader: ShardReader) -> ReadBatch | None:
        """The next batch, or None when a stop was requested first."""
        read = asyncio.ensure_future(reader.next_batch())
        stop = asyncio.ensure_future(self.held.stop.wait())
        try:
            await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not read.done():
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await read
        if read.cancelled():
            return None
        return read.result()

    async def _end_shard(self) -> bool:
        """Call shard_ended until the processor checkpoints SHARD_END (KCL's rule)."""
        self.checkpointer.at_shard_end = True
        attempt = 0
        while not self.held.stop.is_set():
            await self._call(self.processor.shard_ended(self.checkpointer), "shard_ended")
            if self.held.lease.finished:
                return True
            attempt += 1
            log.warning("processor of %s did not checkpoint at shard end", self.shard_id)
            await self._pause(self._backoff.delay(attempt))
        return False

    async def _settle(self, outcome: str) -> None:
        """Hand the lease over, or release it; nothing to do once it is lost."""
        if self.held.lost:
            return
        duration = self.config.failover_time
        store, scope, owner = self.store, self.scope, self.owner

        async def hand_over(lease):
            return await store.hand_over(scope, lease.shard_id, owner, lease.counter, duration)

        async def release(lease):
            return await store.release(scope, lease.shard_id, owner, lease.counter)

        try:
            if outcome == HANDOFF and self.held.lease.pending_owner:
                await self.held.write(hand_over)
            else:
                await self.held.write(release)
        except LeaseStoreError as exc:
            log.warning("could not settle lease %s (%s); it will expire", self.shard_id, exc)
