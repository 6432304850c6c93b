"""/metrics: Kinesis' CloudWatch metrics in Prometheus format, equal to what was sent."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fanout import Subscription, register_consumer
from tests.support.server import HeadwaterServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    running = HeadwaterServer(tmp_path_factory.mktemp("metrics") / "data").start()
    yield running
    running.stop()


def _samples(server: HeadwaterServer) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_equal_the_known_load(server):
    kinesis = server.client()
    kinesis.create_stream(StreamName="metered", ShardCount=2)
    records = [{"Data": b"x" * (10 + i), "PartitionKey": f"key-{i}"} for i in range(40)]
    sent_bytes = sum(len(r["Data"]) + len(r["PartitionKey"]) for r in records)
    assert kinesis.put_records(StreamName="metered", Records=records)["FailedRecordCount"] == 0
    kinesis.put_record(StreamName="metered", Data=b"single", PartitionKey="k")
    read = 0
    for shard in kinesis.list_shards(StreamName="metered")["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName="metered", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        read += len(kinesis.get_records(ShardIterator=iterator)["Records"])
    assert read == 41

    samples = _samples(server)
    assert _value(samples, "kinesis_IncomingRecords_total", stream="metered") == 41
    assert _value(samples, "kinesis_IncomingBytes_total", stream="metered") == sent_bytes + 7
    assert _value(samples, "kinesis_GetRecords_Records_total", stream="metered") == 41
    assert _value(samples, "kinesis_Success_total", stream="metered", operation="PutRecords") == 1
    assert _value(samples, "kinesis_Success_total", stream="metered", operation="PutRecord") == 1
    assert _value(samples, "kinesis_Success_total", stream="metered", operation="GetRecords") == 2
    latency_count = _value(
        samples, "kinesis_Latency_milliseconds_count", stream="metered", operation="PutRecords"
    )
    assert latency_count == 1


def test_throttles_are_counted_and_shard_metrics_follow_enhanced_monitoring(server):
    kinesis = server.client()
    kinesis.create_stream(StreamName="hot", ShardCount=1)
    kinesis.enable_enhanced_monitoring(
        StreamName="hot",
        ShardLevelMetrics=["IncomingRecords", "WriteProvisionedThroughputExceeded"],
    )
    failed = 0
    for _ in range(6):  # 3,000 records at once into a shard that takes 1,000 per second
        batch = [{"Data": b"h", "PartitionKey": f"k{i}"} for i in range(500)]
        failed += kinesis.put_records(StreamName="hot", Records=batch)["FailedRecordCount"]
    assert failed > 0

    samples = _samples(server)
    assert _value(samples, "kinesis_WriteProvisionedThroughputExceeded_total", stream="hot") == (
        failed
    )
    assert _value(samples, "kinesis_IncomingRecords_total", stream="hot") == 3000 - failed
    shard = {"stream": "hot", "shard": "shardId-000000000000"}
    assert _value(samples, "kinesis_shard_IncomingRecords_total", **shard) == 3000 - failed
    assert _value(samples, "kinesis_shard_WriteProvisionedThroughputExceeded_total", **shard) == (
        failed
    )
    assert _value(samples, "kinesis_shard_IncomingBytes_total", **shard) == 0  # not enabled


def test_fan_out_pushes_are_counted_per_consumer(server):
    kinesis = server.client()
    kinesis.create_stream(StreamName="fanned", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(
        StreamName="fanned", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    arn = register_consumer(kinesis, "fanned", "model")
    shard_id = kinesis.list_shards(StreamName="fanned")["Shards"][0]["ShardId"]
    records = [{"Data": b"y" * 20, "PartitionKey": f"k{i}"} for i in range(5)]
    assert kinesis.put_records(StreamName="fanned", Records=records)["FailedRecordCount"] == 0
    with Subscription(kinesis, arn, shard_id, {"Type": "TRIM_HORIZON"}) as subscription:
        assert len(subscription.records(5)) == 5

    samples = _samples(server)
    labels = {"stream": "fanned", "consumer": "model"}
    assert _value(samples, "kinesis_SubscribeToShardEvent_Records_total", **labels) == 5
    assert _value(samples, "kinesis_SubscribeToShardEvent_Bytes_total", **labels) == 5 * 22
