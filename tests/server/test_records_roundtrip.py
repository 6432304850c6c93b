"""Put and get records through boto3 against the real server."""

from __future__ import annotations


def test_records_come_back_in_order_with_their_sequence_numbers(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    sent = [{"Data": f"event-{i}".encode(), "PartitionKey": f"user-{i % 7}"} for i in range(50)]
    put = kinesis.put_records(StreamName=stream_name, Records=sent)
    assert put["FailedRecordCount"] == 0
    iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator)
    assert [r["Data"] for r in got["Records"]] == [s["Data"] for s in sent]
    assert [r["SequenceNumber"] for r in got["Records"]] == [
        r["SequenceNumber"] for r in put["Records"]
    ]
    numbers = [int(r["SequenceNumber"]) for r in got["Records"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == 50
    assert all(len(r["SequenceNumber"]) == 56 for r in got["Records"])
    assert got["MillisBehindLatest"] == 0
