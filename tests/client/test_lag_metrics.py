"""Consumer applications' lag as Prometheus gauges, measured from their lease stores."""

from __future__ import annotations

import sqlite3

from prometheus_client import CollectorRegistry, Gauge

from headwater.client.consumer.lag_metrics import LagWatcher
from headwater.client.consumer.leases.store import TABLE
from tests.support.consuming import consume


def _values(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["application"], s.labels["stream"], s.labels["shard"]): s.value
        for family in registry.collect()
        for s in family.samples
    }


async def test_watcher_reports_every_application_and_forgets_gone_ones(
    server, kinesis, make_stream, tmp_path
) -> None:
    stream = make_stream(2)
    leases = str(tmp_path / "leases.sqlite")
    entries = [{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(8)]
    assert kinesis.put_records(StreamName=stream, Records=entries)["FailedRecordCount"] == 0
    await consume(server.endpoint, stream, "app-a", leases, 8)
    await consume(server.endpoint, stream, "app-b", leases, 8)

    registry = CollectorRegistry()
    gauge = Gauge("lag", "lag", ("application", "stream", "shard"), registry=registry)
    watcher = LagWatcher([leases], gauge, endpoint_url=server.endpoint, region="us-east-1")
    assert await watcher.refresh() == 4
    values = _values(registry)
    assert {(app, name) for app, name, _ in values} == {("app-a", stream), ("app-b", stream)}
    assert set(values.values()) == {0.0}

    # app-b falls 4 s behind on the first shard; app-a's leases disappear.
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    for _ in range(2):  # the service measures the wait of a record that newer ones follow
        kinesis.put_record(StreamName=stream, Data=b"y", PartitionKey="k", ExplicitHashKey="0")
    server.advance_clock(4000)
    with sqlite3.connect(leases) as db:
        db.execute(f"DELETE FROM {TABLE} WHERE application = 'app-a'")
    assert await watcher.refresh() == 2
    values = _values(registry)
    assert values.pop(("app-b", stream, shard)) >= 4000
    assert list(values.values()) == [0.0]
