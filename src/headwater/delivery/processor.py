"""One shard's delivery: buffer records, flush them as objects, then checkpoint.

Exactly-once files. A flush of records ``first..last`` of a shard:

1. writes an *intent* ``_delivery/<name>/intents/<shard>.json`` = {first, last} (atomic);
2. writes every object of the batch; each name ends in ``<shard>-<first>-<last>`` of the
   records it holds, and is committed atomically (temporary name + rename, or one PUT);
3. only then moves the consumer's checkpoint to ``last``.

After a crash, the shard resumes after its checkpoint. If the intent reaches beyond the
checkpoint, the crash happened between 1 and 3: the next flush is made to end exactly at the
intent's ``last`` (whatever the buffer limits say), so the same records are transformed and
partitioned into objects of the same names, which overwrite what may already be there.
Records at or before the checkpoint are never read again. So no record is lost or written
twice — provided the transform is deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from headwater.client import Checkpointer, Record, RecordProcessorBase
from headwater.client.consumer.processor import InitializationInput, ProcessRecordsInput
from headwater.delivery.config import DeliveryStream
from headwater.delivery.paths import PartitionError, field_value, parse_event_time
from headwater.delivery.transform import Dropped, Ok, ProcessingFailed, Transform

log = logging.getLogger(__name__)
_decoder = msgspec.json.Decoder()
RETRY_BASE = 0.25
RETRY_CAP = 10.0


@dataclass(slots=True)
class Prepared:
    """A record after the transform: its JSON object and event time, or why it failed."""

    record: Record
    value: dict[str, Any] | None = None
    event_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    error: str | None = None
    error_code: str = "ProcessingFailed"


def position_text(record: Record) -> str:
    return f"{record.sequence_number}_{record.sub_sequence_number}"


def prepare(record: Record, settings: DeliveryStream, transform: Transform | None) -> Prepared:
    """Transform, parse and time one record; never raises (failures are values)."""
    arrival = record.arrival_time or datetime.fromtimestamp(0, UTC)
    try:
        value: Any = record.data
        if transform is not None:
            outcome = transform(record)
            if isinstance(outcome, Dropped):
                return Prepared(record, None, arrival, None, "Dropped")
            if isinstance(outcome, ProcessingFailed):
                return Prepared(record, None, arrival, outcome.reason, "ProcessingFailed")
            if not isinstance(outcome, Ok):
                return Prepared(record, None, arrival, "transform returned no outcome")
            value = outcome.value
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, bytes | bytearray):
            try:
                value = _decoder.decode(value)
            except msgspec.DecodeError:
                return Prepared(record, None, arrival, "malformed: not JSON", "Malformed")
        if not isinstance(value, dict):
            return Prepared(record, None, arrival, "malformed: not a JSON object", "Malformed")
        event_time = arrival
        if settings.event_time_field:
            event_time = parse_event_time(field_value(value, settings.event_time_field))
        return Prepared(record, value, event_time)
    except PartitionError as error:
        return Prepared(record, None, arrival, str(error), "Partitioning")
    except Exception as error:  # a failing transform fails the record, not the delivery
        return Prepared(record, None, arrival, f"transform raised {error!r}", "ProcessingFailed")


class Destination:
    """Where prepared batches go (files, online store)."""

    def recover(self, shard_id: str) -> tuple[int, int] | None:
        """The end of a flush that may have been written but not checkpointed."""
        return None

    def write(self, shard_id: str, batch: list[Prepared]) -> None:
        raise NotImplementedError


class DeliveryProcessor(RecordProcessorBase):
    """Buffers one shard by size and interval (whichever first) and flushes to a destination."""

    def __init__(
        self, settings: DeliveryStream, destination: Destination, transform: Transform | None
    ) -> None:
        self.settings = settings
        self.destination = destination
        self.transform = transform
        self.shard_id = ""
        self.buffer: list[Record] = []
        self.buffered_bytes = 0
        self.started: float | None = None
        self.boundary: tuple[int, int] | None = None

    async def initialize(self, initialization: InitializationInput) -> None:
        self.shard_id = initialization.shard_id
        boundary = await asyncio.to_thread(self.destination.recover, self.shard_id)
        checkpoint = initialization.checkpoint
        done = None if checkpoint.is_sentinel else checkpoint.position
        if boundary is not None and (done is None or boundary > done):
            log.info("%s: replaying an uncheckpointed flush up to %s", self.shard_id, boundary)
            self.boundary = boundary

    def _due(self) -> bool:
        if not self.buffer or self.boundary is not None:
            return False
        if self.buffered_bytes >= self.settings.buffer_bytes:
            return True
        assert self.started is not None
        return time.monotonic() - self.started >= self.settings.buffer_interval

    async def process_records(self, batch: ProcessRecordsInput) -> None:
        for record in batch.records:
            if not self.buffer:
                self.started = time.monotonic()
            self.buffer.append(record)
            self.buffered_bytes += len(record.data) + len(record.partition_key)
            if self.boundary is not None and record.position >= self.boundary:
                self.boundary = None
                await self.flush(batch.checkpointer)
            elif self.boundary is None and self.buffered_bytes >= self.settings.buffer_bytes:
                await self.flush(batch.checkpointer)
        if self._due():  # an idle shard still flushes: empty batches come too
            await self.flush(batch.checkpointer)

    async def flush(self, checkpointer: Checkpointer) -> None:
        if not self.buffer:
            return
        records, self.buffer, self.buffered_bytes, self.started = self.buffer, [], 0, None
        prepared = [prepare(record, self.settings, self.transform) for record in records]
        attempt = 0
        while True:
            try:
                await asyncio.to_thread(self.destination.write, self.shard_id, prepared)
                break
            except Exception as error:
                # Nothing is checkpointed: retry the same batch (same object names) until it
                # is written, or give the shard up (its next owner replays it from the intent).
                attempt += 1
                log.warning("%s %s: write failed (%r)", self.settings.name, self.shard_id, error)
                if checkpointer.stopping:
                    raise
                await asyncio.sleep(min(RETRY_CAP, RETRY_BASE * 2**attempt))
        await checkpointer.checkpoint(records[-1])
        log.info(
            "%s %s: delivered %d records up to %s",
            self.settings.name,
            self.shard_id,
            len(records),
            position_text(records[-1]),
        )

    async def shard_ended(self, checkpointer: Checkpointer) -> None:
        self.boundary = None
        await self.flush(checkpointer)
        await checkpointer.checkpoint()

    async def shutdown_requested(self, checkpointer: Checkpointer) -> None:
        if self.boundary is None:
            await self.flush(checkpointer)

    async def lease_lost(self) -> None:
        self.buffer, self.buffered_bytes, self.started = [], 0, None
