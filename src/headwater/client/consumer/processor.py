"""The record processor contract, as the KCL (v3 interface) defines it, in async form.

One processor instance per shard lease. Calls come in this order: ``initialize`` once,
``process_records`` zero or more times, then exactly one of ``lease_lost`` (another worker
owns the shard now: do not checkpoint), ``shard_ended`` (the shard was split or merged:
checkpoint to let its children start) or ``shutdown_requested`` (the worker is stopping
or handing the shard to another worker: checkpoint what is done).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from headwater.client.consumer.leases.model import Checkpoint
from headwater.client.records import Record

if TYPE_CHECKING:
    from headwater.client.consumer.checkpointer import Checkpointer


@dataclass(frozen=True, slots=True)
class InitializationInput:
    shard_id: str
    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class ProcessRecordsInput:
    shard_id: str
    records: list[Record]
    checkpointer: Checkpointer
    millis_behind_latest: int | None = None


class RecordProcessor(Protocol):
    async def initialize(self, initialization: InitializationInput) -> None: ...

    async def process_records(self, batch: ProcessRecordsInput) -> None: ...

    async def lease_lost(self) -> None: ...

    async def shard_ended(self, checkpointer: Checkpointer) -> None: ...

    async def shutdown_requested(self, checkpointer: Checkpointer) -> None: ...


class RecordProcessorBase:
    """Defaults: ignore lifecycle calls, and checkpoint at shard end so children can start."""

    async def initialize(self, initialization: InitializationInput) -> None:
        return None

    async def process_records(self, batch: ProcessRecordsInput) -> None:
        raise NotImplementedError

    async def lease_lost(self) -> None:
        return None

    async def shard_ended(self, checkpointer: Checkpointer) -> None:
        await checkpointer.checkpoint()

    async def shutdown_requested(self, checkpointer: Checkpointer) -> None:
        return None


ProcessorFactory = Callable[[], RecordProcessor]
