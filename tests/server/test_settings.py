"""Large records, warm throughput and account settings."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

MIB = 1024 * 1024


def test_large_records_once_the_stream_allows_them(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    big = bytes(range(256)) * (5 * MIB // 256)
    with pytest.raises(ClientError) as caught:
        kinesis.put_record(StreamName=stream_name, Data=big, PartitionKey="k")
    assert caught.value.response["Error"]["Code"] == "ValidationException"

    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=10240)
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 10240
    kinesis.put_record(StreamName=stream_name, Data=big, PartitionKey="k")
    iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert kinesis.get_records(ShardIterator=iterator)["Records"][0]["Data"] == big
    with pytest.raises(ClientError) as caught:
        kinesis.put_record(StreamName=stream_name, Data=big * 2 + b"x", PartitionKey="k")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_warm_throughput_pre_scales_an_on_demand_stream(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    try:
        answer = kinesis.update_stream_warm_throughput(
            StreamName=stream_name, WarmThroughputMiBps=8
        )
        assert answer["WarmThroughput"]["TargetMiBps"] == 8
        shards = kinesis.list_shards(StreamName=stream_name, ShardFilter={"Type": "AT_LATEST"})
        assert len(shards["Shards"]) == 8
    finally:
        kinesis.delete_stream(StreamName=stream_name, EnforceConsumerDeletion=True)


def test_account_settings_round_trip(kinesis):
    kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    settings = kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert settings["Status"] == "ENABLED"
    kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    settings = kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert settings["Status"] == "DISABLED"
