"""How far a consumer application is behind, judged from its checkpoints alone.

Works for any application whose leases are in a lease store — running, stopped or crashed —
because it asks the stream, not the workers: for each shard, a GetRecords right after the
checkpoint tells how long the oldest unprocessed record has waited (``MillisBehindLatest``:
the arrival time of the last record returned, against the tip; 0 when nothing is left).
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.client.api import KinesisClient
from headwater.client.consumer.leases.model import LeaseScope
from headwater.client.consumer.leases.store import LeaseStore
from headwater.client.consumer.shard_consumer import start_position
from headwater.client.errors import KinesisError


@dataclass(frozen=True, slots=True)
class ShardLag:
    shard_id: str
    owner: str | None
    checkpoint: str
    millis_behind: int | None  # None: the shard or its checkpoint is no longer readable
    finished: bool


async def shard_lags(
    client: KinesisClient, store: LeaseStore, application: str, stream: str
) -> list[ShardLag]:
    """One entry per lease of ``application`` on ``stream``, in shard order."""
    lags = []
    for lease in await store.list_leases(LeaseScope(application, stream)):
        checkpoint = lease.checkpoint
        behind: int | None = 0
        if not checkpoint.is_shard_end:
            position, done = start_position(checkpoint)
            # A sequence checkpoint re-reads its own (processed) record first: ask for two.
            limit = 1 if done is None else 2
            try:
                iterator = await client.get_shard_iterator(stream, lease.shard_id, position)
                behind = (await client.get_records(iterator, limit)).MillisBehindLatest
            except KinesisError:
                behind = None
        lags.append(
            ShardLag(lease.shard_id, lease.owner, checkpoint.encode(), behind, lease.finished)
        )
    return sorted(lags, key=lambda lag: lag.shard_id)
