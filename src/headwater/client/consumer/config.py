"""The consumer's knobs, named after their KCL counterparts where one exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from headwater.client.consumer.leases.model import AT_TIMESTAMP, LATEST, TRIM_HORIZON, Checkpoint
from headwater.client.positions import epoch_seconds

POLLING = "polling"
FANOUT = "fanout"


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """How a worker reads, leases and balances.

    ``failover_time`` is the lease duration (KCL ``failoverTimeMillis``): a worker that has
    not renewed for that long loses its shards to the others. Leases are renewed and the
    table is scanned every third of it. ``retrieval`` picks the shard reader: ``polling``
    (GetRecords) or ``fanout`` (SubscribeToShard through a registered consumer).
    """

    initial_position: str = TRIM_HORIZON
    initial_timestamp: datetime | float | None = None
    worker_id: str | None = None
    failover_time: float = 10.0
    shard_sync_interval: float = 60.0
    max_records: int = 10_000
    idle_time_between_reads: float = 1.0
    min_call_interval: float = 0.2
    call_process_records_even_for_empty_list: bool = False
    retrieval: str = POLLING
    consumer_name: str | None = None
    max_leases_per_worker: int | None = None
    handoff_timeout: float | None = None
    backoff_base: float = 0.2
    backoff_cap: float = 5.0
    shutdown_grace: float = 30.0

    def __post_init__(self) -> None:
        if self.initial_position not in (TRIM_HORIZON, LATEST, AT_TIMESTAMP):
            raise ValueError("initial_position must be TRIM_HORIZON, LATEST or AT_TIMESTAMP")
        if self.initial_position == AT_TIMESTAMP and self.initial_timestamp is None:
            raise ValueError("AT_TIMESTAMP needs initial_timestamp")
        if self.retrieval not in (POLLING, FANOUT):
            raise ValueError("retrieval must be 'polling' or 'fanout'")
        if self.failover_time <= 0:
            raise ValueError("failover_time must be positive")

    @property
    def renew_interval(self) -> float:
        return self.failover_time / 3

    @property
    def initial_checkpoint(self) -> Checkpoint:
        if self.initial_position == AT_TIMESTAMP:
            assert self.initial_timestamp is not None
            return Checkpoint(AT_TIMESTAMP, 0, epoch_seconds(self.initial_timestamp))
        return Checkpoint(self.initial_position)
