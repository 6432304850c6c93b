"""Run a consumer application until it has processed N records, checkpointing everything."""

from __future__ import annotations

import asyncio

from headwater.client import Consumer, ConsumerConfig, RecordProcessorBase, open_lease_store


class CheckpointEverything(RecordProcessorBase):
    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    async def process_records(self, batch) -> None:
        self.seen.extend(record.sequence_number for record in batch.records)
        if batch.records:
            await batch.checkpointer.checkpoint()


async def consume(endpoint: str, stream: str, application: str, leases: str, count: int) -> None:
    """Process ``count`` records of ``stream`` as ``application``, then stop (30 s at most)."""
    seen: list[str] = []
    consumer = Consumer(
        stream,
        application,
        processor_factory=lambda: CheckpointEverything(seen),
        config=ConsumerConfig(idle_time_between_reads=0.05, failover_time=3.0),
        lease_store=open_lease_store(leases),
        endpoint_url=endpoint,
        region="us-east-1",
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while len(seen) < count:
                await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
