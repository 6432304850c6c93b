"""How far a consumer application is behind, judged from its checkpoints alone.

Works for any application whose leases are in a lease store — running, stopped or crashed —
because it asks the stream, not the workers: for each shard, a GetRecords right after the
checkpoint finds the oldest unprocessed record; the lag is how long it has waited (0 when
nothing is left). The service measures that wait (``MillisBehindLatest``) when newer records
follow it; when it is the newest record, the service calls the reader caught up, so its age
is taken from this machine's clock instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from headwater.client.api import KinesisClient
from headwater.client.consumer.leases.model import Checkpoint, LeaseScope
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


async def _oldest_pending_age(
    client: KinesisClient, stream: str, shard_id: str, checkpoint: Checkpoint
) -> int:
    position, done = start_position(checkpoint)
    # A sequence checkpoint re-reads its own (processed) record first: ask for two.
    iterator = await client.get_shard_iterator(stream, shard_id, position)
    output = await client.get_records(iterator, 1 if done is None else 2)
    pending = [
        record for record in output.Records if done is None or int(record.SequenceNumber) > done[0]
    ]
    if not pending:
        return 0
    arrival = pending[0].ApproximateArrivalTimestamp
    waited = 0 if arrival is None else round(time.time() * 1000 - arrival * 1000)
    return max(output.MillisBehindLatest or 0, waited, 0)


async def shard_lags(
    client: KinesisClient, store: LeaseStore, application: str, stream: str
) -> list[ShardLag]:
    """One entry per lease of ``application`` on ``stream``, in shard order."""
    lags = []
    for lease in await store.list_leases(LeaseScope(application, stream)):
        checkpoint = lease.checkpoint
        behind: int | None = 0
        if not checkpoint.is_shard_end:
            try:
                behind = await _oldest_pending_age(client, stream, lease.shard_id, checkpoint)
            except KinesisError:
                behind = None
        lags.append(
            ShardLag(lease.shard_id, lease.owner, checkpoint.encode(), behind, lease.finished)
        )
    return sorted(lags, key=lambda lag: lag.shard_id)
