"""Benchmark sizes: the full run and the smoke run (everything tiny, for CI)."""

from __future__ import annotations

from dataclasses import dataclass, replace

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    shards: int = 4
    record_sizes: tuple[int, ...] = (100, 1024)
    records_per_call: int = 500
    # Load generator processes, one keep-alive connection (one call in flight) each. Sixteen
    # saturate every server here (bench/README.md: a durable server answers only after its
    # sync, so it needs more calls in flight than an in-memory one to stay busy).
    workers: int = 16
    bodies_per_worker: int = 4
    ingest_seconds: float = 8.0
    verify_timeout_s: float = 120.0
    drain_records: int = 1_000_000  # Headwater
    peer_drain_records: int = 100_000  # kinesalite and moto (they ingest ~10x slower)
    drain_fill_seconds: float = 90.0  # bound on filling the drain stream
    latency_samples: int = 200
    latency_interval_s: float = 0.005
    idle_streams: int = 100
    idle_shards: int = 10
    idle_settle_s: float = 1.0
    restart_data_bytes: int = 2 * 1024 * MIB
    restart_record_size: int = 8 * 1024
    restart_fill_seconds: float = 180.0
    smoke: bool = False


FULL = Settings()

SMOKE = Settings(
    records_per_call=50,
    workers=2,
    bodies_per_worker=2,
    ingest_seconds=0.3,
    verify_timeout_s=30.0,
    drain_records=2_000,
    peer_drain_records=1_000,
    drain_fill_seconds=10.0,
    latency_samples=5,
    idle_streams=3,
    idle_shards=2,
    idle_settle_s=0.2,
    restart_data_bytes=2 * MIB,
    restart_fill_seconds=10.0,
    smoke=True,
)


def settings_for(smoke: bool, **overrides: object) -> Settings:
    """The smoke or full settings, with any given fields replaced (None values ignored)."""
    chosen = {key: value for key, value in overrides.items() if value is not None}
    return replace(SMOKE if smoke else FULL, **chosen)
