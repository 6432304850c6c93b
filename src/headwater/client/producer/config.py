"""The producer's knobs, with defaults that match AWS' limits and the KPL's habits."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.client.aggregation import DEFAULT_AGGREGATE_SIZE

MIB = 1024 * 1024
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * MIB
MAX_RECORD_BYTES = MIB


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    """How records are buffered, grouped, paced and retried.

    ``shard_rate`` scales the per-shard pacing against AWS' write limits (1,000 records/s
    and 1 MiB/s): 1.0 paces to exactly the limit, more than 1 accepts some throttling for
    throughput (the KPL's default ``RateLimit`` is 1.5), None turns pacing off (a Headwater
    server with ``--limits off``). ``ordered`` keeps each partition key's records in order
    through retries by having at most one record (or one aggregate) of a key in flight.
    """

    max_batch_records: int = MAX_BATCH_RECORDS
    max_batch_bytes: int = MAX_BATCH_BYTES
    linger: float = 0.05
    max_buffered_records: int = 100_000
    max_buffered_bytes: int = 64 * MIB
    record_ttl: float | None = 30.0
    max_in_flight_calls: int = 8
    shard_rate: float | None = 1.0
    ordered: bool = True
    aggregation: bool = False
    aggregation_max_size: int = DEFAULT_AGGREGATE_SIZE
    backoff_base: float = 0.1
    backoff_cap: float = 3.0
    shard_map_refresh_interval: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_batch_records <= MAX_BATCH_RECORDS:
            raise ValueError(f"max_batch_records must be in 1..{MAX_BATCH_RECORDS}")
        if not MAX_RECORD_BYTES <= self.max_batch_bytes <= MAX_BATCH_BYTES:
            raise ValueError("max_batch_bytes must be between 1 MiB and 5 MiB")
        if self.max_buffered_records < 1 or self.max_buffered_bytes < MAX_RECORD_BYTES:
            raise ValueError("the buffer must hold at least one record of the largest size")
        if self.max_in_flight_calls < 1:
            raise ValueError("max_in_flight_calls must be at least 1")
