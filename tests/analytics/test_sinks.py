"""Results into the online store: the latest window per key, written idempotently."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from headwater.analytics import Application
from headwater.delivery.online.store import open_store
from tests.analytics.streams import create_stream, put_json, put_to_every_shard
from tests.analytics.test_restart import BASE, readings

APP = """
CREATE TABLE readings (key STRING, value BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'headwater', 'stream' = '{source}');
CREATE TABLE features (key STRING, window_end TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'online-store', 'store' = '{store}', 'table' = 'per_key',
        'key' = 'key', 'event-time' = 'window_end');
INSERT INTO features
SELECT key, window_end, COUNT(*), SUM(value)
FROM TABLE(TUMBLE(TABLE readings, DESCRIPTOR(ts), INTERVAL '2' SECOND))
GROUP BY key, window_start, window_end;
"""


def test_window_results_upserted_into_the_online_store(server, kinesis, stream_name, tmp_path):
    create_stream(kinesis, stream_name)
    store_path = tmp_path / "features.sqlite"
    app = Application.from_sql(APP.format(source=stream_name, store=store_path))
    put_json(kinesis, stream_name, readings(0, 200))  # 10 s of readings, 7 keys
    put_to_every_shard(kinesis, stream_name, {"key": "flush", "value": 0, "ts": "2026-03-02"})
    store = open_store(str(store_path))

    async def run() -> None:
        runner = app.runner(
            endpoint_url=server.endpoint, state_dir=tmp_path / "state", checkpoint_interval=0.1
        )
        task = asyncio.create_task(runner.run())
        deadline = asyncio.get_running_loop().time() + 30
        last_end = (BASE + timedelta(seconds=10)).isoformat(timespec="milliseconds") + "Z"
        while (feature := store.get("per_key", "k6")) is None or (
            feature.value["window_end"] != last_end
        ):
            assert not task.done(), task
            assert asyncio.get_running_loop().time() < deadline, runner.metrics()
            await asyncio.sleep(0.1)
        runner.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(run())
    last = [r for r in readings(0, 200) if r["key"] == "k3" and r["ts"] >= "2026-03-01T00:00:08"]
    feature = store.get("per_key", "k3")
    assert feature is not None
    assert feature.value["n"] == len(last)
    assert feature.value["total"] == sum(r["value"] for r in last)
