"""Reading one shard between two offsets with GetRecords, and finding where it ends now.

Both run on the client's ``PollingReader`` (its iterator renewal, throttling back-off and
AWS' 5 calls/s per shard), so they behave the same against Headwater and AWS. Every call has
a deadline: a stalled service fails the Spark task (which Spark retries) instead of hanging.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from headwater.analytics.spark.offsets import ShardOffset
from headwater.client.api import KinesisClient
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.readers.base import ReadBatch, user_records
from headwater.client.consumer.readers.polling import PollingReader
from headwater.client.positions import StartingPosition
from headwater.client.records import Record

#: GetRecords' largest page; the pause while caught up only matters when a read must wait.
READ_CONFIG = ConsumerConfig(max_records=10_000, idle_time_between_reads=0.2)
CALL_TIMEOUT_S = 60.0
#: How long planning a micro-batch may read one shard to find its end (a busier shard's
#: end is then wherever the scan got to; the next batch goes on from there).
SCAN_BUDGET_S = 30.0


class RangeNotFoundError(RuntimeError):
    """The records a batch's offsets name are no longer in the shard (trimmed by retention)."""


def caught_up(batch: ReadBatch) -> bool:
    if batch.millis_behind_latest is None:
        return not batch.records
    return batch.millis_behind_latest == 0


async def _next(reader: PollingReader) -> ReadBatch:
    return await asyncio.wait_for(reader.next_batch(), CALL_TIMEOUT_S)


async def scan_to_end(
    client: KinesisClient, stream: str, shard_id: str, offset: ShardOffset
) -> ShardOffset:
    """The shard's offset after its last record now (``ended`` if it is closed and done)."""
    reader = PollingReader(client, stream, shard_id, offset.position, READ_CONFIG)
    last = offset.last_read
    deadline = time.monotonic() + SCAN_BUDGET_S
    while True:
        batch = await _next(reader)
        if batch.records:
            last = batch.records[-1].SequenceNumber
        position = offset.position if last is None else StartingPosition.after_sequence(last)
        if batch.shard_end:
            return ShardOffset(position, ended=True)
        if caught_up(batch) or time.monotonic() > deadline:
            return ShardOffset(position)


async def read_range(
    client: KinesisClient, stream: str, shard_id: str, start: StartingPosition, end: str
) -> AsyncIterator[list[Record]]:
    """Pages of the shard's records from ``start`` up to sequence number ``end`` inclusive."""
    reader = PollingReader(client, stream, shard_id, start, READ_CONFIG)
    last = int(end)
    while True:
        batch = await _next(reader)
        wire = [r for r in batch.records if int(r.SequenceNumber) <= last]
        if wire:
            yield user_records(wire, shard_id)
        if len(wire) < len(batch.records) or (wire and int(wire[-1].SequenceNumber) == last):
            return
        if batch.shard_end or caught_up(batch):
            raise RangeNotFoundError(
                f"{stream}/{shard_id}: records up to {end} are gone (past retention?)"
            )
