"""End to end (``--streams``): the queries reading real streams through the stream runner.

A fresh Headwater server (``--limits off``) holds one stream per Nexmark table, filled with
the workload before any clock starts. Each query's runner (``Application.runner``: GetRecords
from every shard, engine, checkpoints of positions and state every second) then reads from
TRIM_HORIZON until it has consumed every event. CPU is the runner's plus the server's.
Streams never end, so windows still open at the last event have not fired: rows out are fewer
than in memory.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import time
from pathlib import Path

from bench.nexmark.measure import Measurement, load
from bench.nexmark.workload import Workload
from bench.servers import HEADWATER, KINDS, RunningServer
from headwater.client import KinesisClient, Producer, ProducerConfig

SHARDS = 2
RUN_TIMEOUT_S = 600.0
POLL_S = 0.05


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def fill(endpoint: str, workload: Workload, streams: dict[str, str]) -> None:
    """Create the streams and put the events of their tables (unpaced, any order per key)."""
    async with KinesisClient(endpoint_url=endpoint, region="us-east-1") as client:
        for stream in streams.values():
            await client.create_stream(stream, SHARDS)
            await client.wait_for_active(stream)
        config = ProducerConfig(ordered=False, shard_rate=None)
        producers = {t: Producer(s, client=client, config=config) for t, s in streams.items()}
        for producer in producers.values():
            await producer.start()
        keys = itertools.count()  # one key per record: the producer keeps arrival order
        try:
            for table, records in workload.batches:
                if table not in producers:
                    continue
                for data in records:
                    await producers[table].put(data, str(next(keys)))
        finally:
            for producer in producers.values():
                await producer.close()


async def run_query(
    query: str, workload: Workload, server: RunningServer, state: Path
) -> Measurement:
    app = load(query)
    endpoint = f"http://127.0.0.1:{server.port}"
    runner = app.runner(endpoint_url=endpoint, state_dir=state, name=query, poll_interval=POLL_S)
    expected = workload.events_of(app.sources)
    cpu, server_cpu, wall = time.process_time(), process_cpu_s(server.pid), time.perf_counter()
    task = asyncio.create_task(runner.run())
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while sum(s["events"] for s in runner.engine.metrics()["sources"].values()) < expected:
        if task.done():
            task.result()  # the runner failed: raise its error
            raise RuntimeError(f"{query}: the runner stopped before reading every event")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{query}: not every event read after {RUN_TIMEOUT_S:g} s")
        await asyncio.sleep(POLL_S)
    runner.stop()
    await task
    wall = time.perf_counter() - wall
    server_cpu = process_cpu_s(server.pid) - server_cpu
    cpu = time.process_time() - cpu + server_cpu
    rows = sum(q["rows_out"] for q in runner.engine.metrics()["queries"])
    return Measurement(query, expected, rows, cpu, wall, server_cpu)


def measure_all(queries: list[str], workload: Workload) -> list[Measurement]:
    apps = [load(query) for query in queries]
    streams = {name: app.tables[name].stream for app in apps for name in app.sources}
    with (
        tempfile.TemporaryDirectory(prefix="nexmark-") as work,
        RunningServer(KINDS[HEADWATER], Path(work)) as server,
    ):
        asyncio.run(fill(f"http://127.0.0.1:{server.port}", workload, streams))
        return [
            asyncio.run(run_query(query, workload, server, Path(work) / "state" / query))
            for query in queries
        ]
