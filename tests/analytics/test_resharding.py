"""A split in the middle of the input: the parent is read to its end before its children,
its watermark stops counting once it ends, and the results are those of a batch run."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from headwater.analytics import Application
from headwater.analytics.sinks import encode_row
from tests.analytics.streams import (
    all_records,
    count_records,
    create_stream,
    put_json,
    put_to_every_shard,
)
from tests.analytics.test_restart import APP, BASE, readings
from tests.support.waiting import poll_until


def test_split_mid_stream(server, kinesis, stream_name, tmp_path):
    source, sink = f"{stream_name}-in", f"{stream_name}-out"
    create_stream(kinesis, source)
    create_stream(kinesis, sink)
    app = Application.from_sql(APP.format(source=source, sink=sink))
    flush = {"key": "flush", "value": 0, "ts": BASE.replace(hour=1).isoformat()}
    expected = Counter(
        encode_row(row).decode()
        for row in app.run_batch({"readings": readings(0, 600)})["totals"]
        if row["key"] != "flush"
    )

    async def run() -> None:
        runner = app.runner(
            endpoint_url=server.endpoint,
            state_dir=tmp_path / "state",
            checkpoint_interval=0.1,
            shard_sync_interval=0.5,
        )
        task = asyncio.create_task(runner.run())
        put_json(kinesis, source, readings(0, 300))
        parent = kinesis.list_shards(StreamName=source)["Shards"][0]
        middle = (int(parent["HashKeyRange"]["EndingHashKey"]) + 1) // 2
        kinesis.split_shard(
            StreamName=source, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(middle)
        )

        def active() -> bool:
            summary = kinesis.describe_stream_summary(StreamName=source)
            return summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"

        poll_until(active, 10, "the split")
        put_json(kinesis, source, readings(300, 600))
        put_to_every_shard(kinesis, source, flush)
        deadline = asyncio.get_running_loop().time() + 60
        while count_records(kinesis, sink) < sum(expected.values()):
            assert not task.done(), task
            assert asyncio.get_running_loop().time() < deadline, runner.metrics()
            await asyncio.sleep(0.5)
        runner.stop()
        await asyncio.wait_for(task, 30)
        assert runner.metrics()["sources"]["readings"]["late"] == 0

    asyncio.run(run())
    got = Counter(json.dumps(data, separators=(",", ":")) for _, data in all_records(kinesis, sink))
    assert got == expected
