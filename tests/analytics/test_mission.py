"""The mission's cross-stream example end to end against the real server: IoT readings joined
with CDC machine metadata (as of each reading's time) and windowed social posts per
platform, written to one output stream — exactly what a batch run over all events gives."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from headwater.analytics import Application
from headwater.analytics.sinks import encode_row
from headwater.sources import simulators
from tests.analytics.streams import all_records, count_records, create_stream, put_json

EXAMPLES = Path(__file__).parents[2] / "examples" / "analytics"
BASE = datetime(2026, 5, 1, 12, 0, 0)
FLUSH = BASE + timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


def cdc(machine: int, model: str, site: str, operation: str, when: datetime) -> dict:
    """A row change as `headwater cdc` writes it (AWS DMS format)."""
    return {
        "data": {"machine_id": f"machine-{machine:03d}", "model": model, "site": site},
        "metadata": {
            "timestamp": iso(when),
            "record-type": "data",
            "operation": operation,
            "schema-name": "public",
            "table-name": "machines",
        },
    }


def generated(kind: str, count: int, rate: float) -> list[dict]:
    start = (BASE - datetime(1970, 1, 1)).total_seconds()
    events = simulators.GENERATORS[kind](7, start, rate)
    return [record for _, record in itertools.islice(events, count)]


def test_iot_joined_with_cdc_and_social_windows_end_to_end(server, kinesis, stream_name, tmp_path):
    names = {
        "iot-stream": f"{stream_name}-iot",
        "db-stream": f"{stream_name}-db",
        "social-stream": f"{stream_name}-social",
        "insights": f"{stream_name}-insights",
    }
    text = (EXAMPLES / "mission.sql").read_text()
    for example, actual in names.items():
        text = text.replace(f"'{example}'", f"'{actual}'")
        create_stream(kinesis, actual, shards=2 if example == "iot-stream" else 1)
    app = Application.from_sql(text)

    machines = [
        cdc(i, f"model-{i % 3}", f"site-{i % 2}", "insert", BASE - timedelta(minutes=5))
        for i in range(10)
    ]
    machines.append(cdc(3, "model-9", "site-9", "update", BASE + timedelta(seconds=12)))
    readings = generated("iot", 600, rate=20)  # 30 s of event time, 10 machines
    posts = generated("social", 240, rate=8)
    readings_flush = [{**readings[0], "ts": iso(FLUSH)} for _ in range(2)]
    posts_flush = [{**posts[0], "ts": iso(FLUSH)}]

    put_json(kinesis, names["db-stream"], machines, key="metadata")
    put_json(kinesis, names["iot-stream"], readings, key="machine_id")
    put_json(kinesis, names["social-stream"], posts, key="user_id")
    for shard in kinesis.list_shards(StreamName=names["iot-stream"])["Shards"]:
        kinesis.put_record(  # a reading far ahead on each shard closes every real window
            StreamName=names["iot-stream"],
            Data=json.dumps(readings_flush[0]).encode(),
            PartitionKey="flush",
            ExplicitHashKey=shard["HashKeyRange"]["StartingHashKey"],
        )
    put_json(kinesis, names["social-stream"], posts_flush, key="user_id")

    batch = app.run_batch(
        {"readings": readings + readings_flush, "machines": machines, "posts": posts + posts_flush}
    )
    expected = Counter(
        encode_row(row).decode()
        for rows in batch.values()
        for row in rows
        if row["window_start"] < FLUSH
    )
    sites = {row["site"] for row in batch["site_temperature"]}
    assert "site-9" in sites, "the update is seen from its time on"
    assert {row["platform"] for row in batch["platform_posts"]} == set(simulators.PLATFORMS)

    async def run() -> None:
        runner = app.runner(
            endpoint_url=server.endpoint, state_dir=tmp_path / "state", checkpoint_interval=0.2
        )
        task = asyncio.create_task(runner.run())
        deadline = asyncio.get_running_loop().time() + 60
        while count_records(kinesis, names["insights"]) < sum(expected.values()):
            assert not task.done(), task
            assert asyncio.get_running_loop().time() < deadline, runner.metrics()
            await asyncio.sleep(0.5)
        runner.stop()
        await asyncio.wait_for(task, 30)
        assert all(s["late"] == 0 for s in runner.metrics()["sources"].values())

    asyncio.run(run())
    written = all_records(kinesis, names["insights"])
    got = Counter(json.dumps(data, separators=(",", ":")) for _, data in written)
    assert got == expected
