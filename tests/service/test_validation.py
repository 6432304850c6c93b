"""The request validator answers as AWS does: same exception type, same message.

Expected messages marked "AWS" are copied from kinesalite's tests, which were recorded against
the real service; where the service model has changed since (limits, optional members), the
case says how it was adapted. Other expectations follow the same rules for newer operations.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import botocore.session
import cbor2
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.errors import (
    KinesisError,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)
from headwater.service import shapes, validation
from headwater.service.validation import validate

NAME_129 = "a" * 129
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
QUEUE_ARN = "arn:aws:kinesis:us-east-1:123456789012:queue/q"
CHANNEL_ARN = "arn:aws:kinesis:us-east-1:123456789012:channel/c"
NAME_PATTERN = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
HASH_KEY_PATTERN = r"Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})"
SEQUENCE_PATTERN = r"Member must satisfy regular expression pattern: 0|([1-9]\d{0,128})"
AT_LEAST_1 = "Member must have length greater than or equal to 1"
AT_MOST_128 = "Member must have length less than or equal to 128"
ENTRY = "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310"


def null(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def bad(value: object, path: str, constraint: str) -> str:
    return f"Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"


def detected(*errors: str) -> str:
    plural = "s" if len(errors) > 1 else ""
    return f"{len(errors)} validation error{plural} detected: {'; '.join(errors)}"


def raised(operation: str, body: object, *, cbor: bool = False) -> KinesisError:
    with pytest.raises(KinesisError) as caught:
        validate(operation, body, cbor=cbor)
    return caught.value


def assert_invalid(operation: str, body: object, *errors: str, cbor: bool = False) -> None:
    error = raised(operation, body, cbor=cbor)
    assert type(error) is ValidationException
    assert error.message == detected(*errors)


def assert_unreadable(operation: str, body: object, message: str, *, cbor: bool = False) -> None:
    error = raised(operation, body, cbor=cbor)
    assert type(error) is SerializationException
    assert error.message == message


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- AWS' answers, from kinesalite's tests ---------------------------------------------------


def test_create_stream_empty_name_and_zero_shards():  # AWS
    assert_invalid(
        "CreateStream",
        {"StreamName": "", "ShardCount": 0},
        bad(0, "shardCount", "Member must have value greater than or equal to 1"),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_create_stream_long_name_and_huge_shard_count():  # AWS: 10^11 saturates, passes
    assert_invalid(
        "CreateStream",
        {"StreamName": NAME_129, "ShardCount": 100000000000},
        bad(NAME_129, "streamName", AT_MOST_128),
    )


def test_put_records_empty():  # AWS
    assert_invalid(
        "PutRecords",
        {"StreamName": "", "Records": []},
        bad("[]", "records", AT_LEAST_1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_put_records_empty_members():  # AWS
    assert_invalid(
        "PutRecords",
        {"StreamName": "", "Records": [{"PartitionKey": "", "Data": "", "ExplicitHashKey": ""}]},
        bad("", "records.1.member.partitionKey", AT_LEAST_1),
        bad("", "records.1.member.explicitHashKey", HASH_KEY_PATTERN),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_put_records_too_long():  # AWS, with the model's 10 MiB record limit
    key = "a" * 257
    records = [{"PartitionKey": key, "Data": b64(bytes(10485761)), "ExplicitHashKey": ""}]
    assert_invalid(
        "PutRecords",
        {"StreamName": NAME_129, "Records": records},
        bad(
            key,
            "records.1.member.partitionKey",
            "Member must have length less than or equal to 256",
        ),
        bad("", "records.1.member.explicitHashKey", HASH_KEY_PATTERN),
        bad(
            "java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]",
            "records.1.member.data",
            "Member must have length less than or equal to 10485760",
        ),
        bad(NAME_129, "streamName", AT_MOST_128),
    )


def test_put_records_reports_at_most_ten_errors():  # AWS
    records = [{"PartitionKey": "", "Data": ""}] * 501
    assert_invalid(
        "PutRecords",
        {"StreamName": "", "Records": records},
        bad(
            "[" + ", ".join([ENTRY] * 501) + "]",
            "records",
            "Member must have length less than or equal to 500",
        ),
        *(bad("", f"records.{i}.member.partitionKey", AT_LEAST_1) for i in range(1, 10)),
    )


def test_the_tenth_error_is_the_last():
    records = [{"PartitionKey": "", "Data": ""}] * 9
    assert_invalid(
        "PutRecords",
        {"StreamName": "", "Records": records},
        *(bad("", f"records.{i}.member.partitionKey", AT_LEAST_1) for i in range(1, 10)),
        bad("", "streamName", NAME_PATTERN),
    )


def test_put_record_empty_members():  # AWS
    body = {
        "StreamName": "",
        "PartitionKey": "",
        "Data": "",
        "ExplicitHashKey": "",
        "SequenceNumberForOrdering": "",
    }
    assert_invalid(
        "PutRecord",
        body,
        bad("", "sequenceNumberForOrdering", SEQUENCE_PATTERN),
        bad("", "partitionKey", AT_LEAST_1),
        bad("", "explicitHashKey", HASH_KEY_PATTERN),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_put_record_missing_members():  # AWS, less streamName and partitionKey, now optional
    assert_invalid("PutRecord", {}, null("data"))


def test_split_shard_empty():  # AWS
    assert_invalid(
        "SplitShard",
        {"StreamName": "", "ShardToSplit": "", "NewStartingHashKey": ""},
        bad("", "newStartingHashKey", HASH_KEY_PATTERN),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
        bad("", "shardToSplit", NAME_PATTERN),
        bad("", "shardToSplit", AT_LEAST_1),
    )


def test_split_shard_long():  # AWS
    assert_invalid(
        "SplitShard",
        {"StreamName": NAME_129, "ShardToSplit": NAME_129, "NewStartingHashKey": "0"},
        bad(NAME_129, "streamName", AT_MOST_128),
        bad(NAME_129, "shardToSplit", AT_MOST_128),
    )


def test_merge_shards_empty():  # AWS
    assert_invalid(
        "MergeShards",
        {"StreamName": "", "ShardToMerge": "", "AdjacentShardToMerge": ""},
        bad("", "shardToMerge", NAME_PATTERN),
        bad("", "shardToMerge", AT_LEAST_1),
        bad("", "adjacentShardToMerge", NAME_PATTERN),
        bad("", "adjacentShardToMerge", AT_LEAST_1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_get_shard_iterator_empty():  # AWS
    body = {"StreamName": "", "ShardIteratorType": "", "ShardId": "", "StartingSequenceNumber": ""}
    assert_invalid(
        "GetShardIterator",
        body,
        bad("", "shardId", NAME_PATTERN),
        bad("", "shardId", AT_LEAST_1),
        bad(
            "",
            "shardIteratorType",
            "Member must satisfy enum value set: "
            "[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
        ),
        bad("", "startingSequenceNumber", SEQUENCE_PATTERN),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_get_records_limits():  # AWS
    assert_invalid(
        "GetRecords",
        {"ShardIterator": "", "Limit": 0},
        bad(0, "limit", "Member must have value greater than or equal to 1"),
        bad("", "shardIterator", AT_LEAST_1),
    )
    iterator = "a" * 513
    assert_invalid(
        "GetRecords",
        {"ShardIterator": iterator, "Limit": 100000},
        bad(100000, "limit", "Member must have value less than or equal to 10000"),
        bad(iterator, "shardIterator", "Member must have length less than or equal to 512"),
    )


def test_describe_stream_empty():  # AWS
    assert_invalid(
        "DescribeStream",
        {"StreamName": "", "Limit": 0, "ExclusiveStartShardId": ""},
        bad(0, "limit", "Member must have value greater than or equal to 1"),
        bad("", "exclusiveStartShardId", NAME_PATTERN),
        bad("", "exclusiveStartShardId", AT_LEAST_1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_list_streams_long():  # AWS
    assert_invalid(
        "ListStreams",
        {"ExclusiveStartStreamName": NAME_129, "Limit": 1000000},
        bad(1000000, "limit", "Member must have value less than or equal to 10000"),
        bad(NAME_129, "exclusiveStartStreamName", AT_MOST_128),
    )


def test_list_tags_for_stream():  # AWS; the Limit max is now 50 (was 10)
    assert_invalid(
        "ListTagsForStream",
        {"StreamName": "", "ExclusiveStartTagKey": "", "Limit": 0},
        bad(0, "limit", "Member must have value greater than or equal to 1"),
        bad("", "exclusiveStartTagKey", AT_LEAST_1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )
    assert_invalid(
        "ListTagsForStream",
        {"StreamName": NAME_129, "ExclusiveStartTagKey": NAME_129, "Limit": 100},
        bad(100, "limit", "Member must have value less than or equal to 50"),
        bad(NAME_129, "exclusiveStartTagKey", AT_MOST_128),
        bad(NAME_129, "streamName", AT_MOST_128),
    )


def test_add_tags_to_stream_empty():  # AWS
    assert_invalid(
        "AddTagsToStream",
        {"StreamName": "", "Tags": {}},
        bad("{}", "tags", AT_LEAST_1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


def test_remove_tags_from_stream_long_key():  # AWS
    assert_invalid(
        "RemoveTagsFromStream",
        {"StreamName": "s", "TagKeys": ["a", NAME_129, "b"]},
        bad(
            f"[a, {NAME_129}, b]",
            "tagKeys",
            "Member must satisfy constraint: [Member must have length less than or equal to 128, "
            "Member must have length greater than or equal to 1]",
        ),
    )


def test_remove_tags_from_stream_too_many():  # AWS; the max is now 50 (was 10)
    keys = [str(i) for i in range(1, 52)]
    assert_invalid(
        "RemoveTagsFromStream",
        {"StreamName": "s", "TagKeys": keys},
        bad(f"[{', '.join(keys)}]", "tagKeys", "Member must have length less than or equal to 50"),
    )


def test_update_shard_count_empty():  # AWS
    assert_invalid(
        "UpdateShardCount",
        {"StreamName": "", "ScalingType": "", "TargetShardCount": 0},
        bad("", "scalingType", "Member must satisfy enum value set: [UNIFORM_SCALING]"),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
        bad(0, "targetShardCount", "Member must have value greater than or equal to 1"),
    )


def test_retention_period_has_no_range_in_the_model():  # AWS once said ">= 1"; model: none
    assert_invalid(
        "IncreaseStreamRetentionPeriod",
        {"StreamName": "", "RetentionPeriodHours": -1},
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    )


# --- every operation -------------------------------------------------------------------------

REQUIRED_ERRORS = {
    "AcknowledgeDeadLetterQueueRecords": ("queueARN", "entries"),
    "AcknowledgeQueueRecords": ("queueARN", "entries"),
    "AddTagsToStream": ("tags",),
    "CreateChannel": ("channelName", "serviceExecutionRoleARN", "streamConfigurationList"),
    "CreateQueue": ("queueName", "streamConfigurationList"),
    "CreateStream": ("streamName",),
    "DecreaseStreamRetentionPeriod": ("retentionPeriodHours",),
    "DeleteChannel": ("channelARN",),
    "DeleteQueue": ("queueARN",),
    "DeleteResourcePolicy": ("resourceARN",),
    "DescribeChannel": ("channelARN",),
    "DescribeQueue": ("queueARN",),
    "DisableEnhancedMonitoring": ("shardLevelMetrics",),
    "EnableEnhancedMonitoring": ("shardLevelMetrics",),
    "GetRecords": ("shardIterator",),
    "GetResourcePolicy": ("resourceARN",),
    "GetShardIterator": ("shardId", "shardIteratorType"),
    "IncreaseStreamRetentionPeriod": ("retentionPeriodHours",),
    "ListStreamConsumers": ("streamARN",),
    "ListTagsForResource": ("resourceARN",),
    "MergeShards": ("shardToMerge", "adjacentShardToMerge"),
    "PutRecord": ("data",),
    "PutRecords": ("records",),
    "PutResourcePolicy": ("resourceARN", "policy"),
    "ReceiveDeadLetterQueueRecords": ("queueARN",),
    "ReceiveQueueRecords": ("queueARN",),
    "RegisterStreamConsumer": ("streamARN", "consumerName"),
    "RemoveTagsFromStream": ("tagKeys",),
    "RestoreDeadLetterQueueRecords": ("queueARN", "entries"),
    "SplitShard": ("newStartingHashKey", "shardToSplit"),
    "StartStreamEncryption": ("encryptionType", "keyId"),
    "StopStreamEncryption": ("encryptionType", "keyId"),
    "SubscribeToShard": ("consumerARN", "shardId", "startingPosition"),
    "TagResource": ("tags", "resourceARN"),
    "UntagResource": ("tagKeys", "resourceARN"),
    "UpdateAccountSettings": ("minimumThroughputBillingCommitment",),
    "UpdateChannel": ("channelARN",),
    "UpdateDeadLetterQueueRecordsVisibility": ("queueARN", "entries"),
    "UpdateMaxRecordSize": ("maxRecordSizeInKiB",),
    "UpdateQueue": ("queueARN", "queueAttributes"),
    "UpdateQueueRecordsVisibility": ("queueARN", "entries"),
    "UpdateShardCount": ("scalingType", "targetShardCount"),
    "UpdateStreamMode": ("streamARN", "streamModeDetails"),
    "UpdateStreamRecordDistributionStrategy": ("streamARN", "recordDistributionStrategy"),
    "UpdateStreamWarmThroughput": ("warmThroughputMiBps",),
}


@pytest.mark.parametrize("operation", sorted(shapes.OPERATIONS))
def test_missing_required_members(operation: str):
    paths = REQUIRED_ERRORS.get(operation)
    if paths is None:
        assert validate(operation, {}) == {}
    else:
        assert_invalid(operation, {}, *map(null, paths))


def pattern(regex: str) -> str:
    return f"Member must satisfy regular expression pattern: {regex}"


def at_most(limit: int) -> str:
    return f"Member must have length less than or equal to {limit}"


def value_at_least(limit: int) -> str:
    return f"Member must have value greater than or equal to {limit}"


def value_at_most(limit: int) -> str:
    return f"Member must have value less than or equal to {limit}"


def one_of(*values: str) -> str:
    return f"Member must satisfy enum value set: [{', '.join(values)}]"


STREAM_ARN_PATTERN = pattern(r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+")
CHANNEL_ARN_PATTERN = pattern(r"arn:aws.*:kinesis:.*:\d{12}:channel/\S+")
QUEUE_ARN_PATTERN = pattern(r"arn:aws.*:kinesis:.*:\d{12}:queue/\S+")
RESOURCE_ARN_PATTERN = pattern(r"arn:aws.*:kinesis:.*:\d{12}:.*(stream|channel|queue)/\S+")
STREAM_ID_PATTERN = pattern("[a-z0-9]{20}-[a-z0-9]{3}")
CONSUMER_ARN_PATTERN = pattern(
    r"^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+"
)
TAG_KEY_LENGTHS = (
    "[Member must have length less than or equal to 128, "
    "Member must have length greater than or equal to 1]"
)
TOO_BIG_BLOB = "java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]"
DLQ_ENTRY = "com.amazonaws.kinesis.v20131202.AcknowledgeDeadLetterQueueRecordsRequestEntry"
S3_TABLES = "s3TablesDestinationConfiguration"
BUCKET_OWNER = f"{S3_TABLES}.deadLetterQueueS3Configuration.expectedBucketOwner"
TABLE_CONFIGURATION = f"{S3_TABLES}.s3TablesConfigurationList.1.member"


def case(operation: str, body: dict[str, Any], *errors: str) -> Any:
    return pytest.param(operation, body, errors, id=operation)


# One wrong body per operation (besides the missing members above), with its exact answer.
INVALID = [
    case(
        "AcknowledgeDeadLetterQueueRecords",
        {"QueueARN": QUEUE_ARN, "Entries": [{}] * 11},
        bad(f"[{', '.join([DLQ_ENTRY] * 11)}]", "entries", at_most(10)),
        *(null(f"entries.{i}.member.receiptHandle") for i in range(1, 10)),
    ),
    case(
        "AcknowledgeQueueRecords",
        {"QueueARN": QUEUE_ARN, "Entries": [{"ReceiptHandle": ""}, {}, None]},
        bad("", "entries.1.member.receiptHandle", AT_LEAST_1),
        null("entries.2.member.receiptHandle"),
        null("entries.3.member"),
    ),
    case(
        "AddTagsToStream",  # AWS
        {"StreamName": NAME_129, "Tags": {"a": "b"}},
        bad(NAME_129, "streamName", AT_MOST_128),
    ),
    case(
        "CreateChannel",
        {
            "ChannelName": "c",
            "ServiceExecutionRoleARN": "arn:aws:iam::123456789012:role/r",
            "StreamConfigurationList": [
                {"StreamARN": STREAM_ARN, "RecordConfiguration": {"RecordFormatType": "XML"}}
            ],
            "S3TablesDestinationConfiguration": {
                "DeadLetterQueueS3Configuration": {
                    "BucketARN": "arn:aws:s3:::bucket",
                    "ExpectedBucketOwner": "12345",
                },
                "S3TablesConfigurationList": [
                    {
                        "TableBucketARN": "x",
                        "Namespace": "n",
                        "TableName": "t",
                        "CompressionType": "ZSTD",
                        "PartitionSpec": {"PartitionFields": [{"Transform": "TIME_HOUR"}]},
                    }
                ],
            },
        },
        bad(
            "XML",
            "streamConfigurationList.1.member.recordConfiguration.recordFormatType",
            one_of("GSR_JSON", "JSON", "STRING", "BYTE_ARRAY"),
        ),
        bad("12345", BUCKET_OWNER, pattern(r"\d{12}")),
        bad("12345", BUCKET_OWNER, "Member must have length greater than or equal to 12"),
        bad(
            "x",
            f"{TABLE_CONFIGURATION}.tableBucketARN",
            pattern(r"arn:aws[-a-z0-9]*:s3tables:[-a-z0-9]+:\d{12}:bucket/[a-z0-9_-]{3,63}"),
        ),
        null(f"{TABLE_CONFIGURATION}.partitionSpec.partitionFields.1.member.sourceName"),
    ),
    case(
        "CreateQueue",
        {
            "QueueName": "q",
            "StreamConfigurationList": [{"StreamARN": STREAM_ARN}],
            "QueueAttributes": {
                "VisibilityTimeoutSeconds": 43201,
                "DeadLetterConfiguration": {"MaxReceiveCount": 0},
            },
            "Tags": {"k": None},
        },
        bad(43201, "queueAttributes.visibilityTimeoutSeconds", value_at_most(43200)),
        null("queueAttributes.deadLetterConfiguration.targetType"),
        bad(0, "queueAttributes.deadLetterConfiguration.maxReceiveCount", value_at_least(1)),
        bad(
            "{k=null}",
            "tags",
            "Map value must satisfy constraint: [Member must have length less than or equal to "
            "256, Member must have length greater than or equal to 0]",
        ),
    ),
    case(
        "CreateStream",
        {
            "StreamName": "s",
            "StreamModeDetails": {"StreamMode": "SERVERLESS"},
            "MaxRecordSizeInKiB": 10241,
            "RecordDistributionStrategy": "RANDOM",
        },
        bad("SERVERLESS", "streamModeDetails.streamMode", one_of("PROVISIONED", "ON_DEMAND")),
        bad(10241, "maxRecordSizeInKiB", value_at_most(10240)),
        bad("RANDOM", "recordDistributionStrategy", one_of("AUTO", "USER_PARTITION_KEY")),
    ),
    case(
        "DecreaseStreamRetentionPeriod",
        {"RetentionPeriodHours": 24, "StreamARN": "arn"},
        bad("arn", "streamARN", STREAM_ARN_PATTERN),
    ),
    case(
        "DeleteChannel",
        {"ChannelARN": STREAM_ARN},
        bad(STREAM_ARN, "channelARN", CHANNEL_ARN_PATTERN),
    ),
    case(
        "DeleteQueue",
        {"QueueARN": ""},
        bad("", "queueARN", QUEUE_ARN_PATTERN),
        bad("", "queueARN", AT_LEAST_1),
    ),
    case(
        "DeleteResourcePolicy",
        {"ResourceARN": "arn:aws:kinesis:us-east-1:12345:stream/s"},
        bad("arn:aws:kinesis:us-east-1:12345:stream/s", "resourceARN", RESOURCE_ARN_PATTERN),
    ),
    case(
        "DeleteStream",
        {"StreamName": NAME_129, "EnforceConsumerDeletion": True},
        bad(NAME_129, "streamName", AT_MOST_128),
    ),
    case(
        "DeregisterStreamConsumer",
        {"ConsumerName": "c!", "ConsumerARN": f"{STREAM_ARN}/consumer/c"},
        bad("c!", "consumerName", NAME_PATTERN),
        bad(
            f"{STREAM_ARN}/consumer/c",
            "consumerARN",
            CONSUMER_ARN_PATTERN,
        ),
    ),
    case(
        "DescribeChannel",
        {"ChannelARN": "a" * 2049},  # an ARN pattern is not tried past the max length
        bad("a" * 2049, "channelARN", at_most(2048)),
    ),
    case(
        "DescribeQueue",
        {"QueueARN": f"{QUEUE_ARN}\n"},
        bad(f"{QUEUE_ARN}\n", "queueARN", QUEUE_ARN_PATTERN),
    ),
    case(
        "DescribeStream",  # AWS
        {"StreamName": NAME_129, "Limit": 100000, "ExclusiveStartShardId": NAME_129},
        bad(100000, "limit", value_at_most(10000)),
        bad(NAME_129, "exclusiveStartShardId", AT_MOST_128),
        bad(NAME_129, "streamName", AT_MOST_128),
    ),
    case(
        "DescribeStreamConsumer",
        {"StreamARN": STREAM_ARN, "ConsumerName": ""},
        bad("", "consumerName", NAME_PATTERN),
        bad("", "consumerName", AT_LEAST_1),
    ),
    case(
        "DescribeStreamSummary",
        {"StreamId": "abc"},
        bad("abc", "streamId", STREAM_ID_PATTERN),
    ),
    case(
        "DisableEnhancedMonitoring",
        {"ShardLevelMetrics": ["ALL"] * 8},
        bad("[ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL]", "shardLevelMetrics", at_most(7)),
    ),
    case(
        "EnableEnhancedMonitoring",
        {"ShardLevelMetrics": ["Foo"]},
        bad(
            "[Foo]",
            "shardLevelMetrics",
            "Member must satisfy constraint: ["
            + one_of(
                "IncomingBytes",
                "IncomingRecords",
                "OutgoingBytes",
                "OutgoingRecords",
                "WriteProvisionedThroughputExceeded",
                "ReadProvisionedThroughputExceeded",
                "IteratorAgeMilliseconds",
                "ALL",
            )
            + "]",
        ),
    ),
    case(
        "GetRecords",
        {"ShardIterator": "i", "StreamId": "abcdefghijabcdefghij-ABC"},
        bad("abcdefghijabcdefghij-ABC", "streamId", STREAM_ID_PATTERN),
    ),
    case(
        "GetResourcePolicy",
        {"ResourceARN": ""},
        bad("", "resourceARN", RESOURCE_ARN_PATTERN),
        bad("", "resourceARN", AT_LEAST_1),
    ),
    case(
        "GetShardIterator",  # AWS
        {"StreamName": NAME_129, "ShardId": NAME_129, "ShardIteratorType": "LATEST"},
        bad(NAME_129, "shardId", AT_MOST_128),
        bad(NAME_129, "streamName", AT_MOST_128),
    ),
    case(
        "IncreaseStreamRetentionPeriod",  # AWS
        {"RetentionPeriodHours": 24, "StreamName": NAME_129},
        bad(NAME_129, "streamName", AT_MOST_128),
    ),
    case(
        "ListChannels",
        {"StreamFilter": [], "MaxResults": 0, "NextToken": ""},
        bad("[]", "streamFilter", AT_LEAST_1),
        bad(0, "maxResults", value_at_least(1)),
        bad("", "nextToken", AT_LEAST_1),
    ),
    case(
        "ListQueues",
        {"StreamFilter": [{"StreamCreationTimestamp": 1.5}], "MaxResults": 10001},
        bad(10001, "maxResults", value_at_most(10000)),
        null("streamFilter.1.member.streamARN"),
    ),
    case(
        "ListShards",
        {"ShardFilter": {"Type": "SIDEWAYS"}, "MaxResults": 0},
        bad(0, "maxResults", value_at_least(1)),
        bad(
            "SIDEWAYS",
            "shardFilter.type",
            one_of(
                "AFTER_SHARD_ID",
                "AT_TRIM_HORIZON",
                "FROM_TRIM_HORIZON",
                "AT_LATEST",
                "AT_TIMESTAMP",
                "FROM_TIMESTAMP",
            ),
        ),
    ),
    case(
        "ListStreamConsumers",
        {"StreamARN": STREAM_ARN, "NextToken": "", "MaxResults": 0},
        bad("", "nextToken", AT_LEAST_1),
        bad(0, "maxResults", value_at_least(1)),
    ),
    case(
        "ListStreams",  # AWS
        {"ExclusiveStartStreamName": "", "Limit": 0},
        bad(0, "limit", value_at_least(1)),
        bad("", "exclusiveStartStreamName", NAME_PATTERN),
        bad("", "exclusiveStartStreamName", AT_LEAST_1),
    ),
    case(
        "ListTagsForResource",
        {"ResourceARN": "arn:aws:kinesis:us-east-1:123456789012:topic/s"},
        bad("arn:aws:kinesis:us-east-1:123456789012:topic/s", "resourceARN", RESOURCE_ARN_PATTERN),
    ),
    case(
        "ListTagsForStream",
        {"StreamName": "s", "Limit": 51},
        bad(51, "limit", value_at_most(50)),
    ),
    case(
        "MergeShards",  # AWS
        {"StreamName": NAME_129, "ShardToMerge": NAME_129, "AdjacentShardToMerge": NAME_129},
        bad(NAME_129, "shardToMerge", AT_MOST_128),
        bad(NAME_129, "adjacentShardToMerge", AT_MOST_128),
        bad(NAME_129, "streamName", AT_MOST_128),
    ),
    case(
        "PutRecord",
        {"PartitionKey": "a" * 257, "Data": b64(bytes(10485761)), "ExplicitHashKey": "01"},
        bad("a" * 257, "partitionKey", at_most(256)),
        bad("01", "explicitHashKey", HASH_KEY_PATTERN),
        bad(TOO_BIG_BLOB, "data", at_most(10485760)),
    ),
    case(
        "PutRecords",
        {"Records": [{"PartitionKey": "a", "Data": ""}, None, {"PartitionKey": "b"}]},
        null("records.2.member"),
        null("records.3.member.data"),
    ),
    case(
        "PutResourcePolicy",
        {"ResourceARN": "x", "Policy": "{}"},
        bad("x", "resourceARN", RESOURCE_ARN_PATTERN),
    ),
    case(
        "ReceiveDeadLetterQueueRecords",
        {"QueueARN": QUEUE_ARN, "VisibilityTimeoutSeconds": -1},
        bad(-1, "visibilityTimeoutSeconds", value_at_least(0)),
    ),
    case(
        "ReceiveQueueRecords",
        {"QueueARN": QUEUE_ARN, "Limit": 11, "WaitTimeSeconds": 0},
        bad(11, "limit", value_at_most(10)),
        bad(0, "waitTimeSeconds", value_at_least(1)),
    ),
    case(
        "RegisterStreamConsumer",
        {"StreamARN": STREAM_ARN, "ConsumerName": "c", "Tags": {"": "v"}},
        bad("{=v}", "tags", f"Map keys must satisfy constraint: {TAG_KEY_LENGTHS}"),
    ),
    case(
        "RemoveTagsFromStream",  # AWS
        {"StreamName": "", "TagKeys": []},
        bad("[]", "tagKeys", AT_LEAST_1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", AT_LEAST_1),
    ),
    case(
        "RestoreDeadLetterQueueRecords",
        {"QueueARN": QUEUE_ARN, "Entries": [{"ReceiptHandle": "r" * 1025}]},
        bad("r" * 1025, "entries.1.member.receiptHandle", at_most(1024)),
    ),
    case(
        "SplitShard",
        {"ShardToSplit": "shard-0", "NewStartingHashKey": "1" * 40},
        bad("1" * 40, "newStartingHashKey", HASH_KEY_PATTERN),
    ),
    case(
        "StartStreamEncryption",
        {"EncryptionType": "AES", "KeyId": ""},
        bad("AES", "encryptionType", one_of("NONE", "KMS")),
        bad("", "keyId", AT_LEAST_1),
    ),
    case(
        "StopStreamEncryption",
        {"EncryptionType": "KMS", "KeyId": "k" * 2049},
        bad("k" * 2049, "keyId", at_most(2048)),
    ),
    case(
        "SubscribeToShard",
        {
            "ConsumerARN": f"{STREAM_ARN}/consumer/c:1",
            "ShardId": "shardId-0",
            "StartingPosition": {"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": "01"},
        },
        bad("01", "startingPosition.sequenceNumber", SEQUENCE_PATTERN),
    ),
    case(
        "TagResource",
        {"ResourceARN": STREAM_ARN, "Tags": {str(i): "v" for i in range(201)}},
        bad("{" + ", ".join(f"{i}=v" for i in range(201)) + "}", "tags", at_most(200)),
    ),
    case(
        "UntagResource",
        {"ResourceARN": STREAM_ARN, "TagKeys": ["k", None]},
        bad("[k, null]", "tagKeys", f"Member must satisfy constraint: {TAG_KEY_LENGTHS}"),
    ),
    case(
        "UpdateAccountSettings",
        {"MinimumThroughputBillingCommitment": {"Status": "ON"}},
        bad("ON", "minimumThroughputBillingCommitment.status", one_of("ENABLED", "DISABLED")),
    ),
    case(
        "UpdateChannel",
        {
            "ChannelARN": CHANNEL_ARN,
            "S3DestinationConfiguration": {},
            "LoggingConfiguration": {"CloudWatchLogs": {"LogStreamName": "a:b"}},
        },
        null("s3DestinationConfiguration.dataFreshnessInSeconds"),
        null("loggingConfiguration.cloudWatchLogs.enabled"),
        bad("a:b", "loggingConfiguration.cloudWatchLogs.logStreamName", pattern("[^:*]*")),
    ),
    case(
        "UpdateDeadLetterQueueRecordsVisibility",
        {"QueueARN": QUEUE_ARN, "Entries": [{"ReceiptHandle": "r"}]},
        null("entries.1.member.visibilityTimeoutSeconds"),
    ),
    case(
        "UpdateMaxRecordSize",
        {"MaxRecordSizeInKiB": 1023},
        bad(1023, "maxRecordSizeInKiB", value_at_least(1024)),
    ),
    case(
        "UpdateQueue",
        {
            "QueueARN": QUEUE_ARN,
            "QueueAttributes": {"DeadLetterConfiguration": {"TargetType": "S3"}},
        },
        bad("S3", "queueAttributes.deadLetterConfiguration.targetType", one_of("BUILT_IN", "NONE")),
    ),
    case(
        "UpdateQueueRecordsVisibility",
        {
            "QueueARN": QUEUE_ARN,
            "Entries": [{"ReceiptHandle": "h", "VisibilityTimeoutSeconds": -1}],
        },
        bad(-1, "entries.1.member.visibilityTimeoutSeconds", value_at_least(0)),
    ),
    case(
        "UpdateShardCount",  # AWS
        {"StreamName": NAME_129, "ScalingType": "UNIFORM_SCALING", "TargetShardCount": 1},
        bad(NAME_129, "streamName", AT_MOST_128),
    ),
    case(
        "UpdateStreamMode",
        {"StreamARN": STREAM_ARN, "StreamModeDetails": {}, "WarmThroughputMiBps": -1},
        null("streamModeDetails.streamMode"),
        bad(-1, "warmThroughputMiBps", value_at_least(0)),
    ),
    case(
        "UpdateStreamRecordDistributionStrategy",
        {"StreamARN": STREAM_ARN, "RecordDistributionStrategy": ""},
        bad("", "recordDistributionStrategy", one_of("AUTO", "USER_PARTITION_KEY")),
    ),
    case(
        "UpdateStreamWarmThroughput",
        {"WarmThroughputMiBps": -5, "StreamName": "s"},
        bad(-5, "warmThroughputMiBps", value_at_least(0)),
    ),
]


@pytest.mark.parametrize(("operation", "body", "errors"), INVALID)
def test_invalid_body(operation: str, body: dict[str, Any], errors: tuple[str, ...]):
    assert_invalid(operation, body, *errors)


def test_every_operation_has_an_invalid_case():
    memberless = {"DescribeAccountSettings", "DescribeLimits"}
    assert {param.values[0] for param in INVALID} | memberless == set(shapes.OPERATIONS)


@pytest.mark.parametrize("operation", ["DescribeAccountSettings", "DescribeLimits"])
def test_operations_without_members_ignore_anything(operation: str):
    assert validate(operation, {"StreamName": 5, "x": [1, {"y": None}]}) == {}


# --- type errors -----------------------------------------------------------------------------

TRUNCATING_CLASS = "com.amazon.coral.value.json.numbers.TruncatingBigNumber"
TRUNCATING = f"class {TRUNCATING_CLASS}"
START_OF_LIST = "Start of list found where not expected"
START_OF_MAP = "Start of structure or map found where not expected."

# (operation, member path, type): every type, placed as kinesalite's assertType places it.
TYPE_CASES = {
    "String": [
        (True, "class java.lang.Boolean can not be converted to an String"),
        (23, f"{TRUNCATING} can not be converted to an String"),
        (-2147483648, f"{TRUNCATING} can not be converted to an String"),
        (2147483648, f"{TRUNCATING} can not be converted to an String"),
        (34.56, f"{TRUNCATING} can not be converted to an String"),
        ([], START_OF_LIST),
        ({}, START_OF_MAP),
    ],
    "Integer": [
        ("23", "class java.lang.String can not be converted to an Integer"),
        (True, "class java.lang.Boolean can not be converted to an Integer"),
        ([], START_OF_LIST),
        ({}, START_OF_MAP),
    ],
    "Boolean": [
        ("23", "'23' can not be converted to an Boolean"),
        ("yes", "'YES' can not be converted to an Boolean"),
        (23, f"{TRUNCATING} can not be converted to an Boolean"),
        (-2147483648, f"{TRUNCATING} can not be converted to an Boolean"),
        (2147483648, f"{TRUNCATING} can not be converted to an Boolean"),
        (34.56, f"{TRUNCATING} can not be converted to an Boolean"),
        ([], START_OF_LIST),
        ({}, START_OF_MAP),
    ],
    "Blob": [
        (True, "class java.lang.Boolean can not be converted to a Blob"),
        (23, f"{TRUNCATING} can not be converted to a Blob"),
        (-2147483648, f"{TRUNCATING} can not be converted to a Blob"),
        (2147483648, f"{TRUNCATING} can not be converted to a Blob"),
        (34.56, f"{TRUNCATING} can not be converted to a Blob"),
        ([], START_OF_LIST),
        ({}, START_OF_MAP),
        ("23456", "'23456' can not be converted to a Blob: "
         "Base64 encoded length is expected a multiple of 4 bytes but found: 5"),
        ("=+/=", "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"),
        ("+/+=", "'+/+=' can not be converted to a Blob: "
         "Invalid last non-pad Base64 character dectected"),
    ],
    "Timestamp": [
        (True, "class java.lang.Boolean can not be converted to milliseconds since epoch"),
        ("2024-01-01", "class java.lang.String can not be converted to milliseconds since epoch"),
        ([], START_OF_LIST),
        ({}, START_OF_MAP),
    ],
    "List": [
        ("23", "Expected list or null"),
        (True, "Expected list or null"),
        (23, "Expected list or null"),
        (-2147483648, "Expected list or null"),
        (2147483648, "Expected list or null"),
        (34.56, "Expected list or null"),
        ({}, START_OF_MAP),
    ],
    "Map": [
        ("23", "Expected map or null"),
        (True, "Expected map or null"),
        (23, "Expected map or null"),
        (34.56, "Expected map or null"),
        ([], START_OF_LIST),
    ],
    "Structure": [
        ("23", "Expected null"),
        (True, "Expected null"),
        (23, "Expected null"),
        (-2147483648, "Expected null"),
        (34.56, "Expected null"),
        ([], START_OF_LIST),
    ],
}  # fmt: skip

TYPE_PLACES = {  # where each type is found: (operation, path; "0" indexes a list)
    "String": [("PutRecords", "StreamName"), ("PutRecords", "Records.0.PartitionKey"),
               ("AddTagsToStream", "Tags.a"), ("RemoveTagsFromStream", "TagKeys.0")],
    "Integer": [("GetRecords", "Limit"), ("CreateStream", "ShardCount")],
    "Boolean": [("DeleteStream", "EnforceConsumerDeletion"),
                ("UpdateChannel", "LoggingConfiguration.CloudWatchLogs.Enabled")],
    "Blob": [("PutRecord", "Data"), ("PutRecords", "Records.0.Data")],
    "Timestamp": [("GetShardIterator", "Timestamp"), ("ListShards", "ShardFilter.Timestamp")],
    "List": [("PutRecords", "Records"), ("RemoveTagsFromStream", "TagKeys")],
    "Map": [("AddTagsToStream", "Tags")],
    "Structure": [("PutRecords", "Records.0"), ("CreateStream", "StreamModeDetails")],
}  # fmt: skip


def place(path: str, value: object) -> dict[str, Any]:
    """A body holding ``value`` at ``path`` (kinesalite's assertType layout)."""
    body: dict[str, Any] = {}
    container: Any = body
    pieces = path.split(".")
    for piece, following in pairwise(pieces):
        child: Any = [] if following == "0" else {}
        if isinstance(container, list):
            container.append(child)
        else:
            container[piece] = child
        container = child
    if isinstance(container, list):
        container.append(value)
    else:
        container[pieces[-1]] = value
    return body


@pytest.mark.parametrize(
    ("operation", "path", "value", "message"),
    [
        (operation, path, value, message)
        for kind, places in TYPE_PLACES.items()
        for operation, path in places
        for value, message in TYPE_CASES[kind]
    ],
)
def test_type_errors(operation: str, path: str, value: object, message: str):
    assert_unreadable(operation, place(path, value), message)


def test_first_wrong_member_in_the_body_is_reported():
    body = {"ShardCount": "1", "StreamName": 1}
    assert_unreadable(
        "CreateStream", body, "class java.lang.String can not be converted to an Integer"
    )
    body = {"StreamName": 1, "ShardCount": "1"}
    assert_unreadable("CreateStream", body, f"{TRUNCATING} can not be converted to an String")


def test_type_errors_come_before_constraint_errors():
    body = {"StreamName": "", "Records": [{"PartitionKey": "", "Data": "A"}]}
    assert_unreadable(
        "PutRecords",
        body,
        "'A' can not be converted to a Blob: "
        "Base64 encoded length is expected a multiple of 4 bytes but found: 1",
    )


def test_body_that_is_not_an_object():
    for body in ([], "x", 1, None, True):
        error = raised("PutRecords", body)
        assert type(error) is SerializationException
        assert error.message is None
        assert error.to_body() == {"__type": "SerializationException"}


def test_unknown_operation():
    error = raised("PutRecordz", {})
    assert type(error) is UnknownOperationException
    assert error.to_body() == {"__type": "UnknownOperationException"}


# --- base64 ----------------------------------------------------------------------------------


def kinesalite_base64(text: str) -> bytes | str:
    """AWS' base64 rules as kinesalite encodes them: the bytes, or the complaint."""
    if len(text.encode("utf-16-le", "surrogatepass")) // 2 % 4:
        return "length"
    if re.search(r"[^a-zA-Z0-9+/=]|=[^=]", text):
        return "character"
    digits = text.rstrip("=")  # Node decodes what it can; the text is canonical iff it round-trips
    if len(digits) % 4 == 1:
        return "last"
    data = base64.b64decode(digits + "=" * (-len(digits) % 4))
    return data if base64.b64encode(data).decode() == text else "last"


PROBLEMS = {
    "length": "Base64 encoded length is expected a multiple of 4 bytes",
    "character": "Invalid Base64 character",
    "last": "Invalid last non-pad Base64 character dectected",
}


def our_base64(text: str) -> bytes | str:
    try:
        return validation._blob_from_base64(text)
    except SerializationException as error:
        assert error.message is not None
        assert error.message.startswith(f"'{text}' can not be converted to a Blob: ")
        return next(key for key, problem in PROBLEMS.items() if problem in error.message)


def strict_binascii(text: str, altchars: None, validate: bool) -> bytes:
    return binascii.a2b_base64(text)


@pytest.fixture(params=["default", "binascii"])
def base64_decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with the installed decoder (pybase64 when present) and with binascii's."""
    if request.param == "binascii":
        monkeypatch.setattr(validation, "_b64decode", strict_binascii)


BASE64_TEXT = st.text(alphabet="AQRgw/+=-_ \né0", max_size=16) | st.builds(
    lambda data, cut: b64(data)[: cut or None], st.binary(max_size=40), st.integers(-3, 0)
)


@settings(max_examples=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=BASE64_TEXT)
def test_base64_matches_aws_rules(base64_decoder: None, text: str):
    assert our_base64(text) == kinesalite_base64(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("QR==", "last"),
        ("QQ=", "length"),
        ("A===", "last"),
        ("====", "last"),
        ("AAAA====", "last"),
        ("AB=C", "character"),
        ("AA\nA", "character"),
        ("AAé=", "character"),
        ("AAB=", "last"),
        ("AAE=", b"\x00\x01"),
        ("", b""),
    ],
)
def test_base64_edge_cases(base64_decoder: None, text: str, problem: bytes | str):
    assert our_base64(text) == problem


def test_base64_message_quotes_the_value():
    assert_unreadable(
        "PutRecord",
        {"PartitionKey": "a", "Data": "ab-d"},
        "'ab-d' can not be converted to a Blob: Invalid Base64 character: '-'",
    )


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "shown"),
    [(10**11, 2147483647), (10**40, 2147483647), (1e300, 2147483647), (-(10**40), -2147483648)],
)
def test_integers_beyond_java_saturate(limit: float, shown: int):
    constraint = (
        "Member must have value less than or equal to 10000"
        if shown > 0
        else "Member must have value greater than or equal to 1"
    )
    assert_invalid(
        "GetRecords", {"ShardIterator": "i", "Limit": limit}, bad(shown, "limit", constraint)
    )


def test_huge_shard_count_passes_validation_saturated():
    assert (
        validate("CreateStream", {"StreamName": "s", "ShardCount": 10**40})["ShardCount"]
        == 2**31 - 1
    )


def test_json_numbers_beyond_msgspec_precision_still_answer():
    body = msgspec.json.decode(b'{"ShardIterator": "i", "Limit": 1' + b"0" * 4000 + b"}")
    assert_invalid(
        "GetRecords",
        body,
        bad(2147483647, "limit", "Member must have value less than or equal to 10000"),
    )


@pytest.mark.parametrize(("value", "floored"), [(1.9, 1), (10000.99, 10000), (-0.5, -1)])
def test_float_integers_are_floored(value: float, floored: int):
    if floored >= 1:
        assert validate("GetRecords", {"ShardIterator": "i", "Limit": value})["Limit"] == floored
    else:
        assert_invalid(
            "GetRecords",
            {"ShardIterator": "i", "Limit": value},
            bad(floored, "limit", "Member must have value greater than or equal to 1"),
        )


def test_not_a_number_is_a_serialization_error():
    assert_unreadable(
        "GetRecords",
        {"ShardIterator": "i", "Limit": float("nan")},
        f"{TRUNCATING} can not be converted to an Integer",
        cbor=True,
    )


def test_long_saturates_at_java_long():
    node = validation._compile(shapes.Structure("T", {"Size": shapes.Long(max=10)}), cbor=False)
    bad_values: list[Any] = []
    assert node.convert({"Size": 10**30}, bad_values) == {"Size": 2**63 - 1}
    errors: list[str] = []
    node.report({"Size": 2**63 - 1}, "", errors)
    assert errors == [bad(2**63 - 1, "size", "Member must have value less than or equal to 10")]
    with pytest.raises(SerializationException) as caught:
        node.convert({"Size": "1"}, [])
    assert caught.value.message == "class java.lang.String can not be converted to an Long"


def test_lists_of_other_scalars_report_nulls_and_failures_together():
    shape = shapes.Structure(
        "T",
        {"Items": shapes.List(shapes.Blob(max=1)), "Counts": shapes.List(shapes.Integer(max=5))},
    )
    node = validation._compile(shape, cbor=False)
    marks: list[Any] = []
    cleaned = node.convert({"Items": ["AAAA", None], "Counts": [1, None, 9]}, marks)
    assert cleaned == {"Items": [b"\0\0\0", None], "Counts": [1, None, 9]}
    assert marks
    errors: list[str] = []
    node.report(cleaned, "", errors)
    assert errors == [
        bad(
            "[java.nio.HeapByteBuffer[pos=0 lim=3 cap=3], null]",
            "items",
            "Member must satisfy constraint: [Member must have length less than or equal to 1]",
        ),
        bad(
            "[1, null, 9]",
            "counts",
            "Member must satisfy constraint: [Member must have value less than or equal to 5]",
        ),
    ]


# --- strings ---------------------------------------------------------------------------------


def test_string_length_counts_utf16_units_as_java_does():
    key = "\N{GRINNING FACE}" * 128  # 256 UTF-16 code units
    assert validate("PutRecord", {"PartitionKey": key, "Data": ""})["PartitionKey"] == key
    longer = key + "\N{GRINNING FACE}"
    assert_invalid(
        "PutRecord",
        {"PartitionKey": longer, "Data": ""},
        bad(longer, "partitionKey", "Member must have length less than or equal to 256"),
    )


def test_patterns_use_ascii_digits():
    assert_invalid(
        "SplitShard",
        {"ShardToSplit": "s", "NewStartingHashKey": "\N{ARABIC-INDIC DIGIT ONE}"},
        bad("\N{ARABIC-INDIC DIGIT ONE}", "newStartingHashKey", HASH_KEY_PATTERN),
    )


# --- cleaning --------------------------------------------------------------------------------


def test_cleaned_body_drops_unknown_members_and_nulls():
    body = msgspec.json.decode(
        b'{"StreamName": "s", "Extra": {"a": 1}, "StreamARN": null, "Records": ['
        b'{"Data": "aGk=", "PartitionKey": "p", "ExplicitHashKey": null, "Junk": [1]}]}'
    )
    assert validate("PutRecords", body) == {
        "StreamName": "s",
        "Records": [{"Data": b"hi", "PartitionKey": "p"}],
    }


def test_cleaned_nested_structures_and_timestamps():
    body = {
        "StreamName": "s",
        "ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": 1700000000, "Bogus": 1},
        "StreamCreationTimestamp": 1700000000.25,
    }
    cleaned = validate("ListShards", body)
    assert cleaned == {
        "StreamName": "s",
        "ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": 1700000000.0},
        "StreamCreationTimestamp": 1700000000.25,
    }
    assert type(cleaned["ShardFilter"]["Timestamp"]) is float


def test_tags_are_cleaned_as_a_map():
    assert validate("AddTagsToStream", {"Tags": {"a": "", "b": "c"}, "StreamName": "s"}) == {
        "Tags": {"a": "", "b": "c"},
        "StreamName": "s",
    }


# --- CBOR ------------------------------------------------------------------------------------


def cbor_body(value: object) -> Any:
    """Round-trip through the wire form, tag 1 kept raw as the protocol layer should ask."""
    return cbor2.loads(
        cbor2.dumps(value),
        semantic_decoders={1: lambda content, immutable: cbor2.CBORTag(1, content)},
    )


def test_cbor_blobs_are_bytes():
    data = bytes(range(256))
    body = cbor_body({"StreamName": "s", "Records": [{"Data": data, "PartitionKey": "p"}]})
    assert validate("PutRecords", body, cbor=True)["Records"] == [
        {"Data": data, "PartitionKey": "p"}
    ]


@pytest.mark.parametrize("data", [bytearray(b"ab"), memoryview(b"ab"), "YWI="])
def test_cbor_blob_other_forms(data: object):
    cleaned = validate("PutRecord", {"PartitionKey": "p", "Data": data}, cbor=True)
    assert cleaned["Data"] == b"ab"
    assert type(cleaned["Data"]) is bytes


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_cbor_blob_too_long_shows_its_size(kind: type):
    assert_invalid(
        "PutRecord",
        {"PartitionKey": "p", "Data": kind(10485761)},
        bad("java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]", "data",
            "Member must have length less than or equal to 10485760"),
        cbor=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    "timestamp",
    [
        1700000000250,
        1700000000250.0,
        cbor2.CBORTag(1, 1700000000250),
        datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC),
        datetime(2023, 11, 15, 0, 13, 20, 250000, tzinfo=timezone(timedelta(hours=2))),
        datetime(2023, 11, 14, 22, 13, 20, 250000),  # naive: taken as UTC
    ],
)
def test_cbor_timestamps_are_milliseconds(timestamp: object):
    body = {
        "StreamName": "s",
        "ShardId": "0",
        "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": timestamp,
    }
    assert validate("GetShardIterator", body, cbor=True)["Timestamp"] == 1700000000.25


def test_cbor_tag_one_from_the_wire():
    body = cbor_body(
        {"ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": cbor2.CBORTag(1, 1700000000250)}}
    )
    assert validate("ListShards", body, cbor=True)["ShardFilter"]["Timestamp"] == 1700000000.25


def test_json_timestamps_are_seconds_and_reject_cbor_forms():
    body = {"ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1700000000}
    assert validate("GetShardIterator", body)["Timestamp"] == 1700000000.0
    body["Timestamp"] = datetime(2023, 1, 1, tzinfo=UTC)
    assert_unreadable(
        "GetShardIterator",
        body,
        "class java.util.Date can not be converted to milliseconds since epoch",
    )


@pytest.mark.parametrize(
    ("timestamp", "cbor", "java_class"),
    [
        (10**400, False, TRUNCATING_CLASS),
        (float("inf"), True, TRUNCATING_CLASS),
        ("1700000000", True, "java.lang.String"),
        (cbor2.CBORTag(1, "x"), True, "java.util.Date"),
    ],
)
def test_timestamps_that_are_no_time(timestamp: object, cbor: bool, java_class: str):
    body = {"ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": timestamp}
    message = f"class {java_class} can not be converted to milliseconds since epoch"
    assert_unreadable("GetShardIterator", body, message, cbor=cbor)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"x", "class java.nio.HeapByteBuffer can not be converted to an String"),
        (
            datetime(2023, 1, 1, tzinfo=UTC),
            "class java.util.Date can not be converted to an String",
        ),
        (cbor2.CBORTag(99, 1), "class java.lang.Object can not be converted to an String"),
        (cbor2.undefined, "class java.lang.Object can not be converted to an String"),
    ],
)
def test_cbor_only_values_in_the_wrong_place(value: object, message: str):
    assert_unreadable("DescribeStreamSummary", {"StreamName": value}, message, cbor=True)


def test_cbor_map_keys_must_be_strings():
    assert_unreadable(
        "AddTagsToStream",
        {"Tags": {1: "v"}},
        f"{TRUNCATING} can not be converted to an String",
        cbor=True,
    )


# --- the service model -----------------------------------------------------------------------

MODEL = botocore.session.get_session().get_service_model("kinesis")
OUR_TYPES = {
    "string": shapes.String,
    "integer": shapes.Integer,
    "long": shapes.Long,
    "boolean": shapes.Boolean,
    "blob": shapes.Blob,
    "timestamp": shapes.Timestamp,
    "structure": shapes.Structure,
    "list": shapes.List,
    "map": shapes.Map,
}
PATTERN_SAMPLES = [
    "",
    "0",
    "1",
    "01",
    "10",
    "1" * 39,
    "1" * 40,
    "1" * 129,
    "1" * 130,
    "1a",
    " 1",
    "1\n",
]


def differences(ours: shapes.Shape, theirs: Any, where: str) -> Iterator[str]:
    """Where our shape departs from the model's, as "<model shape>.<facet>"; asserts the rest."""
    assert isinstance(ours, OUR_TYPES[theirs.type_name]), where
    metadata = theirs.metadata
    for facet in ("min", "max", "pattern"):
        if facet in type(ours).__slots__ and getattr(ours, facet) != metadata.get(facet):
            yield f"{theirs.name}.{facet}"
    if isinstance(ours, shapes.String):
        theirs_enum = metadata.get("enum")
        assert (ours.enum is None) == (theirs_enum is None), where
        if ours.enum is not None:
            assert sorted(ours.enum) == sorted(theirs_enum), where
            if list(ours.enum) != theirs_enum:
                yield f"{theirs.name}.enum"
    elif isinstance(ours, shapes.Structure):
        assert ours.name == theirs.name, where
        assert set(ours.members) == set(theirs.members), where
        assert set(ours.required) == set(theirs.required_members), where
        for name, member in ours.members.items():
            yield from differences(member, theirs.members[name], f"{where}.{name}")
    elif isinstance(ours, shapes.List):
        yield from differences(ours.member, theirs.member, f"{where}[]")
    elif isinstance(ours, shapes.Map):
        yield from differences(ours.key, theirs.key, f"{where}{{key}}")
        yield from differences(ours.value, theirs.value, f"{where}{{value}}")


def model_shape(name: str) -> Any:
    return MODEL.shape_for(name)


def test_every_model_operation_is_validated():
    """Rules may also cover operations newer than the pinned botocore's model."""
    assert set(MODEL.operation_names) <= set(shapes.OPERATIONS)


def test_shapes_agree_with_the_model_except_documented_runtime_rules():
    found = {
        difference
        for name, ours in shapes.OPERATIONS.items()
        if name in MODEL.operation_names
        for difference in differences(ours, MODEL.operation_model(name).input_shape, name)
    }
    assert found <= set(shapes.RUNTIME_DIFFERENCES)
    assert found, "the documented runtime differences should still show against the model"


@pytest.mark.parametrize(
    ("ours", "model_name"),
    [(shapes.HASH_KEY, "HashKey"), (shapes.SEQUENCE_NUMBER, "SequenceNumber")],
)
def test_runtime_patterns_accept_what_the_model_accepts(ours: shapes.String, model_name: str):
    theirs = re.compile(model_shape(model_name).metadata["pattern"])
    assert ours.pattern is not None
    runtime = re.compile(ours.pattern)
    for sample in PATTERN_SAMPLES:
        assert bool(runtime.fullmatch(sample)) == bool(theirs.fullmatch(sample)), sample


# --- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "member", "arn_pattern"),
    [
        ("DeleteResourcePolicy", "resourceARN", RESOURCE_ARN_PATTERN),
        ("DeregisterStreamConsumer", "consumerARN", CONSUMER_ARN_PATTERN),
    ],
)
def test_crafted_arns_cannot_make_the_regex_backtrack(
    operation: str, member: str, arn_pattern: str
):
    crafted = "arn:aws" + ":kinesis:" * 200_000  # bait for polynomial backtracking, 1.8 MB
    body_member = member[0].upper() + member[1:]
    started = time.perf_counter()
    assert_invalid(operation, {body_member: crafted}, bad(crafted, member, at_most(2048)))
    longest = crafted[:2048]
    assert_invalid(operation, {body_member: longest}, bad(longest, member, arn_pattern))
    assert time.perf_counter() - started < 1


def member_names(shape: shapes.Shape) -> Iterator[str]:
    if isinstance(shape, shapes.Structure):
        for name, member in shape.members.items():
            yield name
            yield from member_names(member)
    elif isinstance(shape, shapes.List):
        yield from member_names(shape.member)


NAMES = sorted({name for shape in shapes.OPERATIONS.values() for name in member_names(shape)})
KEYS = st.sampled_from(NAMES) | st.text(max_size=6)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**45), max_value=10**45)
    | st.floats()
    | st.text(alphabet="aA0=+/-_:é\N{GRINNING FACE}", max_size=12)
    | st.sampled_from(["", "AAAA", "aGk=", "LATEST", STREAM_ARN, "0"])
)
CBOR_SCALARS = (
    JSON_SCALARS
    | st.binary(max_size=12)
    | st.datetimes(timezones=st.just(UTC))
    | st.builds(cbor2.CBORTag, st.sampled_from([1, 2, 99]), st.integers() | st.floats())
)


def bodies(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[Any, Any]]:
    values = st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5)
        ),
        max_leaves=25,
    )
    return st.dictionaries(KEYS, values, max_size=8)


def check_consistently(operation: str, body: dict[Any, Any], cbor: bool) -> None:
    """Only Kinesis errors escape, and a request is marked bad exactly when it gets messages."""
    with contextlib.suppress(KinesisError):
        validate(operation, body, cbor=cbor)
    node = validation._OPERATIONS[operation][cbor]
    marks: list[Any] = []
    try:
        cleaned = node.convert(body, marks)
    except SerializationException:
        return
    errors: list[str] = []
    node.report(cleaned, "", errors)
    assert bool(marks) == bool(errors)


@settings(max_examples=400, deadline=None)
@given(operation=st.sampled_from(sorted(shapes.OPERATIONS)), body=bodies(JSON_SCALARS))
def test_random_json_bodies_only_raise_kinesis_errors(operation: str, body: dict[Any, Any]):
    check_consistently(operation, body, cbor=False)


@settings(max_examples=400, deadline=None)
@given(operation=st.sampled_from(sorted(shapes.OPERATIONS)), body=bodies(CBOR_SCALARS))
def test_random_cbor_bodies_only_raise_kinesis_errors(operation: str, body: dict[Any, Any]):
    check_consistently(operation, body, cbor=True)


RECORDS = st.lists(
    st.fixed_dictionaries(
        {"Data": st.binary(max_size=64), "PartitionKey": st.text(min_size=1, max_size=128)},
        optional={"ExplicitHashKey": st.integers(0, 2**128 - 1).map(str)},
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=300)
@given(records=RECORDS)
def test_valid_records_come_back_decoded(records: list[dict[str, Any]]):
    wire = [{**record, "Data": b64(record["Data"])} for record in records]
    assert validate("PutRecords", {"StreamName": "s", "Records": wire})["Records"] == records
    assert (
        validate("PutRecords", {"StreamName": "s", "Records": records}, cbor=True)["Records"]
        == records
    )
