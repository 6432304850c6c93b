"""Exactly-once results into a stream: kill -9 the runner mid-stream, restart it, and the
output stream holds exactly the results an uninterrupted run gives."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from headwater.analytics import Application
from headwater.analytics.checkpoint import CheckpointStore, Result
from tests.analytics.streams import (
    all_records,
    count_records,
    create_stream,
    put_json,
    put_to_every_shard,
)
from tests.support.waiting import poll_until

BASE = datetime(2026, 3, 1)
APP = """
CREATE TABLE readings (key STRING, value BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'headwater', 'stream' = '{source}', 'start' = 'TRIM_HORIZON');
CREATE TABLE totals (key STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3),
  n BIGINT, total BIGINT)
  WITH ('connector' = 'headwater', 'stream' = '{sink}', 'partition-key' = 'key');
INSERT INTO totals
SELECT key, window_start, window_end, COUNT(*), SUM(value)
FROM TABLE(TUMBLE(TABLE readings, DESCRIPTOR(ts), INTERVAL '2' SECOND))
GROUP BY key, window_start, window_end;
"""


def readings(start: int, stop: int) -> list[dict]:
    return [
        {
            "key": f"k{i % 7}",
            "value": i,
            "ts": (BASE + timedelta(milliseconds=50 * i)).isoformat(timespec="milliseconds"),
        }
        for i in range(start, stop)
    ]


def start_runner(app_file: Path, endpoint: str, state: Path, log: Path) -> subprocess.Popen:
    handle = open(log, "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "headwater",
            "analytics",
            "run",
            str(app_file),
            "--endpoint-url",
            endpoint,
            "--state-dir",
            str(state),
            "--checkpoint-interval",
            "0.1",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    handle.close()
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_kill_9_mid_stream_then_restart_gives_exactly_the_results(
    server, kinesis, stream_name, tmp_path
):
    source, sink = f"{stream_name}-in", f"{stream_name}-out"
    create_stream(kinesis, source, shards=2)
    create_stream(kinesis, sink, shards=2)
    app_file = tmp_path / "app.sql"
    app_file.write_text(APP.format(source=source, sink=sink))
    total = 1_500
    flush = {"key": "flush", "value": 0, "ts": (BASE + timedelta(hours=1)).isoformat()}
    app = Application.from_file(app_file)
    expected = [
        row
        for row in app.run_batch({"readings": readings(0, total)})["totals"]
        if row["key"] != "flush"
    ]

    log = tmp_path / "runner.log"
    process = start_runner(app_file, server.endpoint, tmp_path / "state", log)
    try:
        put_json(kinesis, source, readings(0, 500))
        poll_until(lambda: count_records(kinesis, sink) > 20, 60, "first results", 0.5)
        for start in range(500, 1_000, 100):  # the runner reads while these arrive...
            put_json(kinesis, source, readings(start, start + 100))
        process.send_signal(signal.SIGKILL)  # ...and dies mid-stream, with no warning
        process.wait(timeout=10)
        put_json(kinesis, source, readings(1_000, total))
        put_to_every_shard(kinesis, source, flush)
        process = start_runner(app_file, server.endpoint, tmp_path / "state", log)
        poll_until(lambda: count_records(kinesis, sink) >= len(expected), 60, "every result", 0.5)
    finally:
        stop(process)
    assert process.returncode == 0, log.read_text()[-2000:]  # SIGTERM: a clean stop
    written = all_records(kinesis, sink)
    assert Counter(key for key, _ in written).most_common(1)[0][1] == 1, "an id twice"
    as_text = Counter(json.dumps(data, sort_keys=True) for _, data in written)
    wanted = Counter(
        json.dumps(
            {
                **row,
                **{
                    k: row[k].isoformat(timespec="milliseconds") + "Z"
                    for k in ("window_start", "window_end")
                },
            },
            sort_keys=True,
        )
        for row in expected
    )
    assert as_text == wanted


def test_results_committed_but_partly_written_are_completed_once(
    server, kinesis, stream_name, tmp_path
):
    """The crash fell between writing some of a checkpoint's results and recording that."""
    source, sink = f"{stream_name}-in", f"{stream_name}-out"
    create_stream(kinesis, source)
    create_stream(kinesis, sink)
    app = Application.from_sql(APP.format(source=source, sink=sink))
    state = tmp_path / "state"
    results = [Result(f"analytics/1/totals/{i}", json.dumps({"n": i}).encode()) for i in range(6)]
    store = CheckpointStore(state / "analytics.checkpoint.sqlite")
    store.commit(1, {}, {}, {"totals": results})
    store.close()
    for result in results[:4]:  # written before the crash
        kinesis.put_record(StreamName=sink, Data=result.data, PartitionKey=result.id)

    async def run_once() -> None:
        runner = app.runner(endpoint_url=server.endpoint, state_dir=state)
        task = asyncio.create_task(runner.run())
        while count_records(kinesis, sink) < 6:
            assert not task.done(), task
            await asyncio.sleep(0.5)
        runner.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(run_once())
    written = all_records(kinesis, sink)
    assert sorted(key for key, _ in written) == sorted(r.id for r in results)
