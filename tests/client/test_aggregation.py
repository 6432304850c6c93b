"""The KPL aggregated-record format, and interoperation with aws-kinesis-agg both ways."""

from __future__ import annotations

import base64
import hashlib

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import deaggregate_records
from hypothesis import given
from hypothesis import strategies as st

from headwater.client.aggregation import (
    MAGIC,
    AggregateBuilder,
    aggregate,
    deaggregate,
    is_aggregated,
)
from headwater.client.consumer.readers.base import user_records
from headwater.client.shapes import WireRecord

keys = st.text(min_size=1, max_size=20)
payloads = st.binary(max_size=300)


def as_lambda_event(data: bytes, partition_key: str) -> dict:
    """The shape aws-kinesis-agg's deaggregator reads (a Lambda Kinesis event record)."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "approximateArrivalTimestamp": 1700000000.0,
            "partitionKey": partition_key,
            "data": base64.b64encode(data).decode(),
        }
    }


@given(st.lists(st.tuples(keys, payloads), min_size=1, max_size=40))
def test_aggregates_round_trip_in_order(records):
    for blob in aggregate(records, max_size=4000):
        assert len(blob.data) + len(blob.partition_key.encode()) <= 4000
    parts = [p for blob in aggregate(records, 4000) for p in deaggregate(blob.data)]
    assert [(p.partition_key, p.data) for p in parts] == records


@given(st.lists(st.tuples(keys, payloads), min_size=2, max_size=40))
def test_our_aggregates_deaggregate_with_aws_kinesis_agg(records):
    for blob in aggregate(records, max_size=8000):
        theirs = deaggregate_records([as_lambda_event(blob.data, blob.partition_key)])
        assert len(theirs) == blob.count
    everything = [
        (r["kinesis"]["partitionKey"], base64.b64decode(r["kinesis"]["data"]))
        for blob in aggregate(records, max_size=8000)
        for r in deaggregate_records([as_lambda_event(blob.data, blob.partition_key)])
    ]
    assert everything == records


def test_aws_kinesis_agg_aggregates_deaggregate_in_the_consumer():
    aggregator = RecordAggregator()
    sent = [(f"key-{i % 7}", f"payload {i}".encode()) for i in range(50)]
    for i, (key, data) in enumerate(sent):
        assert aggregator.add_user_record(key, data, str(i * 1000)) is None
    partition_key, _explicit_hash_key, data = aggregator.clear_and_get().get_contents()
    assert is_aggregated(data)
    wire = [WireRecord(SequenceNumber="123", Data=data, PartitionKey=partition_key)]
    records = user_records(wire, "shardId-000000000000")
    assert [(r.partition_key, r.data) for r in records] == sent
    assert [r.sub_sequence_number for r in records] == list(range(50))
    assert all(r.aggregated and r.sequence_number == "123" for r in records)
    assert [r.explicit_hash_key for r in records] == [str(i * 1000) for i in range(50)]


def test_records_after_the_checkpoint_position_are_kept():
    blob = aggregate([(f"k{i}", b"x") for i in range(5)])[0]
    wire = [
        WireRecord(SequenceNumber="10", Data=b"plain", PartitionKey="p"),
        WireRecord(SequenceNumber="11", Data=blob.data, PartitionKey=blob.partition_key),
    ]
    kept = user_records(wire, "s", after=(11, 2))
    assert [(r.sequence_number, r.sub_sequence_number) for r in kept] == [("11", 3), ("11", 4)]


@pytest.mark.parametrize(
    "data",
    [
        b"plain text",
        MAGIC,
        MAGIC + b"\x00" * 16,
        MAGIC + b"garbage" + hashlib.md5(b"other").digest(),
        MAGIC + b"\xff\xff" + hashlib.md5(b"\xff\xff").digest(),
    ],
)
def test_anything_not_a_valid_aggregate_is_a_plain_record(data):
    assert deaggregate(data) is None
    [record] = user_records([WireRecord(SequenceNumber="1", Data=data, PartitionKey="k")], "s")
    assert record.data == data and not record.aggregated


def test_builder_refuses_what_does_not_fit_and_counts_exact_size():
    builder = AggregateBuilder(max_size=300)
    added = 0
    while builder.add(f"key-{added}", b"z" * 40, "12345" if added % 2 else None):
        added += 1
    built = builder.build()
    assert added == builder.count > 1
    assert len(built.data) + len(built.partition_key.encode()) == builder.size <= 300
    with pytest.raises(ValueError):
        AggregateBuilder(max_size=2 * 1024 * 1024)
