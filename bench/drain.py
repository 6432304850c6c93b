"""Drain: GetRecords from TRIM_HORIZON over a stream filled beforehand, one reader per shard.

Headwater is filled with ``drain_records`` records of 100 B (1M in the full run); kinesalite
and moto with ``peer_drain_records`` (they ingest far slower). Reports records/s over the
whole drain. Run alone: ``python -m bench.drain [--smoke] [--servers ...]``.
"""

from __future__ import annotations

import time

import msgspec

from bench.client import KinesisClient
from bench.config import Settings
from bench.loadgen import LoadPlan, run_load
from bench.results import NOT_APPLICABLE, ServerResults
from bench.servers import HEADWATER, RunningServer
from bench.workers import run_workers

STREAM = "drain"
RECORD_SIZE = 100
MAX_PER_CALL = 10_000
MAX_CALLS_PER_SHARD = 100_000


class _Page(msgspec.Struct):
    """Records are counted, not decoded: the reader stays cheap."""

    Records: list[msgspec.Raw] = []
    NextShardIterator: str | None = None
    MillisBehindLatest: int = 0


_decode_page = msgspec.json.Decoder(_Page).decode

ReaderJob = tuple[int, str, float]  # port, shard id, time bound


def _open_reader(job: ReaderJob) -> tuple[KinesisClient, str]:
    port, shard_id, _ = job
    client = KinesisClient(port, timeout_s=60)
    return client, client.iterator(STREAM, shard_id, "TRIM_HORIZON")


def _read_to_end(job: ReaderJob, state: tuple[KinesisClient, str]) -> tuple[int, float, float]:
    """Read until caught up; returns (records read, monotonic end time, CPU seconds)."""
    _, _, seconds = job
    client, iterator = state
    cpu0 = time.process_time()
    deadline = time.monotonic() + seconds
    count = 0
    next_iterator: str | None = iterator
    for _ in range(MAX_CALLS_PER_SHARD):
        if next_iterator is None or time.monotonic() >= deadline:
            break
        answer = client.raw("GetRecords", {"ShardIterator": next_iterator, "Limit": MAX_PER_CALL})
        page = _decode_page(answer)
        count += len(page.Records)
        if not page.Records and page.MillisBehindLatest == 0:
            break
        next_iterator = page.NextShardIterator
    ended = time.monotonic()
    client.close()
    return count, ended, time.process_time() - cpu0


def fill(server: RunningServer, settings: Settings, records: int) -> int:
    """Create the drain stream and put ``records`` records into it; returns how many acked."""
    with KinesisClient(server.port) as client:
        client.create_stream(STREAM, settings.shards)
    plan = LoadPlan(
        port=server.port,
        stream=STREAM,
        record_size=RECORD_SIZE,
        seconds=settings.drain_fill_seconds,
        max_records=records,
        records_per_call=settings.records_per_call,
        workers=settings.workers,
        bodies_per_worker=settings.bodies_per_worker,
    )
    return run_load(plan).acked


def drain(port: int, seconds: float) -> tuple[int, float, float]:
    """Read the drain stream from TRIM_HORIZON, one process per shard.

    Returns (records read, wall seconds, the readers' CPU seconds).
    """
    with KinesisClient(port) as client:
        shard_ids = client.shard_ids(STREAM)
    jobs = [(port, shard_id, seconds) for shard_id in shard_ids]
    reports, started, _ = run_workers(_open_reader, _read_to_end, jobs, timeout_s=seconds + 60)
    total = sum(count for count, _, _ in reports)
    wall = max(ended for _, ended, _ in reports) - started
    return total, wall, sum(cpu for _, _, cpu in reports)


def measure_drain(server: RunningServer, settings: Settings, out: ServerResults) -> None:
    if not server.kind.stores_records:
        out.set("drain.records_s", NOT_APPLICABLE)
        return
    wanted = settings.drain_records if server.name == HEADWATER else settings.peer_drain_records
    acked = fill(server, settings, wanted)
    total, wall, cpu = drain(server.port, settings.drain_fill_seconds)
    out.set("drain.records_s", total / wall if wall > 0 else 0.0)
    out.set("drain.records", total)
    out.set("drain.reader_cores", cpu / wall if wall > 0 else 0.0)
    if server.name != HEADWATER:
        out.note(f"drain sized {wanted:,} records (Headwater: {settings.drain_records:,})")
    if total != acked:
        out.note(f"drain read {total:,} of {acked:,} acknowledged records")


if __name__ == "__main__":
    from bench.cli import main_for

    main_for(__doc__ or "", [measure_drain])
