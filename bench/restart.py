"""Restart: time from spawning Headwater after ``kill -9`` to its first successful GetRecords.

Measured twice: with an empty data directory (the floor: interpreter and server start-up)
and after filling a 4-shard stream with ``restart_data_bytes`` of records (2 GB in the full
run; the files are still in the page cache, as after a crash-and-restart on a live machine).
Only Headwater keeps data across a restart. Run alone: ``python -m bench.restart [--smoke]``.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.client import KinesisCallError, KinesisClient
from bench.config import Settings
from bench.loadgen import LoadPlan, run_load
from bench.results import NOT_APPLICABLE, ServerResults
from bench.servers import RunningServer, ServerKind
from bench.table import bytes_text

STREAM = "restart"
RECORDS_PER_CALL = 500
SERVE_TIMEOUT_S = 120.0


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def first_get_records(port: int, shard_id: str, timeout_s: float) -> None:
    """Poll until a GetRecords on ``shard_id`` succeeds (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with KinesisClient(port, timeout_s=5) as client:
                iterator = client.iterator(STREAM, shard_id, "TRIM_HORIZON")
                client.call("GetRecords", {"ShardIterator": iterator, "Limit": 1})
                return
        except (OSError, KinesisCallError):
            time.sleep(0.005)
    raise TimeoutError(f"no GetRecords answered within {timeout_s} s after restart")


def kill_and_time_restart(server: RunningServer, shard_id: str) -> float:
    server.kill()
    started = time.monotonic()
    server.spawn()
    first_get_records(server.port, shard_id, SERVE_TIMEOUT_S)
    return time.monotonic() - started


def fill(server: RunningServer, settings: Settings) -> None:
    size = settings.restart_record_size
    records = max(settings.restart_data_bytes // size, RECORDS_PER_CALL)
    plan = LoadPlan(
        port=server.port,
        stream=STREAM,
        record_size=size,
        seconds=settings.restart_fill_seconds,
        max_records=records,
        records_per_call=min(RECORDS_PER_CALL, records),
        workers=2,
        bodies_per_worker=2,
    )
    load = run_load(plan)
    if load.errors:
        raise RuntimeError(f"fill failed: {load.errors[:1]}")


def measure_restart(kind: ServerKind, work: Path, settings: Settings, out: ServerResults) -> None:
    if not kind.durable:
        out.set("restart.empty_s", NOT_APPLICABLE)
        out.set("restart.data_s", NOT_APPLICABLE)
        return
    with RunningServer(kind, work) as server:
        with KinesisClient(server.port) as client:
            client.create_stream(STREAM, 4)
            shard_id = client.shard_ids(STREAM)[0]
        out.set("restart.empty_s", kill_and_time_restart(server, shard_id))
        fill(server, settings)
        stored = directory_bytes(work / "data")
        out.set("restart.data_s", kill_and_time_restart(server, shard_id))
        out.note(f"restart: {bytes_text(stored)} on disk when killed")


if __name__ == "__main__":
    from bench.cli import main_for

    main_for(__doc__ or "", [], fresh=[measure_restart])
