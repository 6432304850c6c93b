"""The Kinesis request shapes, as data: what AWS checks in each operation's body.

Facts (types, lengths, ranges, patterns, enums, required members) come from the Kinesis
service model (botocore ``kinesis`` 2013-12-02). Two things come from AWS' observed behaviour
instead, as recorded by kinesalite's tests against the real service:

* the order of a structure's members is the order in which AWS reports their errors (for
  members kinesalite never saw, the model's order follows the observed ones);
* a few constraint texts differ from the model, because AWS prints its own runtime rule -
  see ``RUNTIME_DIFFERENCES``.

``headwater.service.validation`` compiles these into checkers once, at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class String:
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Integer:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class Long:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class Boolean:
    pass


@dataclass(frozen=True, slots=True)
class Blob:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class Timestamp:
    pass


@dataclass(frozen=True, slots=True)
class Structure:
    """Members in AWS' checking order; ``required`` as in the model."""

    name: str
    members: dict[str, Shape] = field(default_factory=dict)
    required: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class List:
    """``member_str`` is how AWS prints one structure member inside a list's value."""

    member: Shape
    min: int | None = None
    max: int | None = None
    member_str: str | None = None


@dataclass(frozen=True, slots=True)
class Map:
    key: String
    value: String
    min: int | None = None
    max: int | None = None


Shape = String | Integer | Long | Boolean | Blob | Timestamp | Structure | List | Map

# Where AWS' runtime rule text differs from the service model. The validator uses the runtime
# text; tests/service/test_validation.py checks that each difference is listed here, and why.
RUNTIME_DIFFERENCES: dict[str, str] = {
    "HashKey.pattern": "AWS prints 0|([1-9]\\d{0,38}) (kinesalite tests); the model anchors it",
    "SequenceNumber.pattern": "AWS prints 0|([1-9]\\d{0,128}) (kinesalite tests, 2023 reports)",
    "ShardIteratorType.enum": "AWS lists the values in its own order (kinesalite tests)",
}

# --- shared member shapes (names follow the model's shape names) ---------------------------

BOOLEAN = Boolean()
TIMESTAMP = Timestamp()
STREAM_NAME = String(min=1, max=128, pattern="[a-zA-Z0-9_.-]+")
STREAM_ARN = String(min=1, max=2048, pattern=r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+")
STREAM_ID = String(min=1, max=24, pattern="[a-z0-9]{20}-[a-z0-9]{3}")
SHARD_ID = String(min=1, max=128, pattern="[a-zA-Z0-9_.-]+")
HASH_KEY = String(pattern=r"0|([1-9]\d{0,38})")
SEQUENCE_NUMBER = String(pattern=r"0|([1-9]\d{0,128})")
SHARD_ITERATOR_TYPE = String(
    enum=("AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON")
)
PARTITION_KEY = String(min=1, max=256)
DATA = Blob(min=0, max=10485760)
NEXT_TOKEN = String(min=1, max=1048576)
LIST_LIMIT = Integer(min=1, max=10000)
POSITIVE_INTEGER = Integer(min=1)
NATURAL_INTEGER = Integer(min=0)
RETENTION_PERIOD_HOURS = Integer()
MAX_RECORD_SIZE_IN_KIB = Integer(min=1024, max=10240)
CONSUMER_NAME = String(min=1, max=128, pattern="[a-zA-Z0-9_.-]+")
CONSUMER_ARN = String(
    min=1,
    max=2048,
    pattern=r"^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+",
)
RESOURCE_ARN = String(
    min=1, max=2048, pattern=r"arn:aws.*:kinesis:.*:\d{12}:.*(stream|channel|queue)/\S+"
)
QUEUE_ARN = String(min=1, max=2048, pattern=r"arn:aws.*:kinesis:.*:\d{12}:queue/\S+")
CHANNEL_ARN = String(min=1, max=2048, pattern=r"arn:aws.*:kinesis:.*:\d{12}:channel/\S+")
TAG_KEY = String(min=1, max=128)
TAG_VALUE = String(min=0, max=256)
TAG_MAP = Map(TAG_KEY, TAG_VALUE, min=1, max=200)
TAG_KEY_LIST = List(TAG_KEY, min=1, max=50)
KEY_ID = String(min=1, max=2048)
ENCRYPTION_TYPE = String(enum=("NONE", "KMS"))
STREAM_MODE_DETAILS = Structure(
    "StreamModeDetails",
    {"StreamMode": String(enum=("PROVISIONED", "ON_DEMAND"))},
    required=("StreamMode",),
)
RECORD_DISTRIBUTION_STRATEGY = String(enum=("AUTO", "USER_PARTITION_KEY"))
SHARD_LEVEL_METRICS = (
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
)
METRICS_NAME_LIST = List(
    String(
        enum=(
            *SHARD_LEVEL_METRICS,
            "ALL",
        )
    ),
    min=1,
    max=7,
)
RECEIPT_HANDLE = String(min=1, max=1024)
VISIBILITY_TIMEOUT_SECONDS = Integer(min=0, max=43200)
QUEUE_RECORDS_LIMIT = Integer(min=1, max=10)
QUEUE_WAIT_TIME_SECONDS = Integer(min=1, max=20)
DEAD_LETTER_CONFIGURATION = Structure(
    "DeadLetterConfiguration",
    {
        "TargetType": String(enum=("BUILT_IN", "NONE")),
        "MaxReceiveCount": Integer(min=1, max=1000),
    },
    required=("TargetType",),
)
QUEUE_ATTRIBUTES = Structure(
    "QueueAttributes",
    {
        "VisibilityTimeoutSeconds": VISIBILITY_TIMEOUT_SECONDS,
        "DeadLetterConfiguration": DEAD_LETTER_CONFIGURATION,
    },
)
STREAM_FILTER = Structure(
    "StreamFilter",
    {"StreamARN": STREAM_ARN, "StreamCreationTimestamp": TIMESTAMP},
    required=("StreamARN",),
)
BUCKET_ARN = String(min=1, max=2048, pattern=r"arn:aws[-a-z0-9]*:s3:::[a-z0-9._-]{3,63}")
EXPECTED_BUCKET_OWNER = String(min=12, max=12, pattern=r"\d{12}")
DATA_FRESHNESS_IN_SECONDS = Integer()
DEAD_LETTER_QUEUE_S3_CONFIGURATION = Structure(
    "DeadLetterQueueS3Configuration",
    {
        "BucketARN": BUCKET_ARN,
        "ExpectedBucketOwner": EXPECTED_BUCKET_OWNER,
        "ErrorOutputPrefix": String(min=1, max=512, pattern=r"[0-9A-Za-z!\-_'.*()\/]+"),
    },
    required=("BucketARN", "ExpectedBucketOwner"),
)
CLOUD_WATCH_LOG_GROUP_NAME = String(min=1, max=512, pattern=r"[\.\-_/#A-Za-z0-9]+")
CLOUD_WATCH_LOG_STREAM_NAME = String(min=1, max=512, pattern="[^:*]*")


def _queue_entries_operation(name: str, *, visibility: bool = False) -> Structure:
    """The queue-record operations: a queue ARN and 1 to 10 receipt-handle entries."""
    entry: dict[str, Shape] = {"ReceiptHandle": RECEIPT_HANDLE}
    if visibility:
        entry["VisibilityTimeoutSeconds"] = VISIBILITY_TIMEOUT_SECONDS
    entries = List(
        Structure(name.removesuffix("Input") + "RequestEntry", entry, required=tuple(entry)),
        min=1,
        max=10,
    )
    return Structure(
        name, {"QueueARN": QUEUE_ARN, "Entries": entries}, required=("QueueARN", "Entries")
    )


def _receive_queue_records(name: str) -> Structure:
    return Structure(
        name,
        {
            "QueueARN": QUEUE_ARN,
            "Limit": QUEUE_RECORDS_LIMIT,
            "WaitTimeSeconds": QUEUE_WAIT_TIME_SECONDS,
            "VisibilityTimeoutSeconds": VISIBILITY_TIMEOUT_SECONDS,
        },
        required=("QueueARN",),
    )


def _one_arn(name: str, member: str, arn: String) -> Structure:
    """Operations whose whole input is one ARN (and, for resource ARNs, a stream id)."""
    members: dict[str, Shape] = {member: arn}
    if arn is RESOURCE_ARN:
        members["StreamId"] = STREAM_ID
    return Structure(name, members, required=(member,))


def _stream_monitoring(name: str) -> Structure:
    return Structure(
        name,
        {
            "StreamName": STREAM_NAME,
            "ShardLevelMetrics": METRICS_NAME_LIST,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("ShardLevelMetrics",),
    )


def _stream_encryption(name: str) -> Structure:
    return Structure(
        name,
        {
            "StreamName": STREAM_NAME,
            "EncryptionType": ENCRYPTION_TYPE,
            "KeyId": KEY_ID,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("EncryptionType", "KeyId"),
    )


def _retention(name: str) -> Structure:
    return Structure(
        name,
        {
            "RetentionPeriodHours": RETENTION_PERIOD_HOURS,
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("RetentionPeriodHours",),
    )


def _consumer(name: str) -> Structure:
    return Structure(
        name,
        {
            "StreamARN": STREAM_ARN,
            "ConsumerName": CONSUMER_NAME,
            "ConsumerARN": CONSUMER_ARN,
            "StreamId": STREAM_ID,
        },
    )


PUT_RECORDS_ENTRY = Structure(
    "PutRecordsRequestEntry",
    {"PartitionKey": PARTITION_KEY, "ExplicitHashKey": HASH_KEY, "Data": DATA},
    required=("Data",),
)

S3_STORAGE_CONFIGURATION = Structure(
    "S3StorageConfiguration",
    {
        "BucketARN": BUCKET_ARN,
        "ExpectedBucketOwner": EXPECTED_BUCKET_OWNER,
        "OutputKeyTemplate": String(min=1, max=1024, pattern=r"[0-9A-Za-z!\-_'.*()\/=:{}]+"),
        "StorageClass": String(enum=("STANDARD", "INTELLIGENT_TIERING", "GLACIER_IR")),
        "CompressionType": String(enum=("NONE", "GZIP", "ZSTD")),
    },
    required=("BucketARN", "ExpectedBucketOwner", "CompressionType"),
)
S3_TABLES_CONFIGURATION = Structure(
    "S3TablesConfiguration",
    {
        "TableBucketARN": String(
            min=1,
            max=2048,
            pattern=r"arn:aws[-a-z0-9]*:s3tables:[-a-z0-9]+:\d{12}:bucket/[a-z0-9_-]{3,63}",
        ),
        "Namespace": String(min=1, max=255, pattern="[0-9a-z_]+"),
        "TableName": String(min=1, max=255, pattern="[0-9a-z_]+"),
        "CompressionType": String(enum=("NONE", "ZSTD", "SNAPPY")),
        "PartitionSpec": Structure(
            "PartitionSpec",
            {
                "PartitionFields": List(
                    Structure(
                        "PartitionField",
                        {
                            "Transform": String(enum=("TIME_HOUR",)),
                            "SourceName": String(min=1, max=255, pattern=r"[a-zA-Z0-9\.\_]+"),
                        },
                        required=("Transform", "SourceName"),
                    ),
                    min=1,
                    max=10,
                )
            },
            required=("PartitionFields",),
        ),
    },
    required=("TableBucketARN", "Namespace", "TableName", "CompressionType"),
)

# --- one input structure per operation -----------------------------------------------------

OPERATIONS: dict[str, Structure] = {
    "AcknowledgeDeadLetterQueueRecords": _queue_entries_operation(
        "AcknowledgeDeadLetterQueueRecordsInput"
    ),
    "AcknowledgeQueueRecords": _queue_entries_operation("AcknowledgeQueueRecordsInput"),
    "AddTagsToStream": Structure(
        "AddTagsToStreamInput",
        {
            "Tags": TAG_MAP,
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("Tags",),
    ),
    "CreateChannel": Structure(
        "CreateChannelInput",
        {
            "ChannelName": String(min=1, max=128, pattern="[a-zA-Z0-9_.-]+"),
            "ServiceExecutionRoleARN": String(
                min=1, max=512, pattern=r"arn:aws[-a-z0-9]*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+"
            ),
            "StreamConfigurationList": List(
                Structure(
                    "ChannelStreamConfiguration",
                    {
                        "StreamARN": STREAM_ARN,
                        "RecordConfiguration": Structure(
                            "RecordConfiguration",
                            {
                                "RecordFormatType": String(
                                    enum=("GSR_JSON", "JSON", "STRING", "BYTE_ARRAY")
                                ),
                                "GSRSchemaARN": String(
                                    min=1,
                                    max=512,
                                    pattern=r"arn:aws[-a-z0-9]*:glue:[-a-z0-9]+:\d{12}:schema/"
                                    r"[-a-zA-Z0-9_$#.]+/[-a-zA-Z0-9_$#.]+",
                                ),
                            },
                            required=("RecordFormatType",),
                        ),
                    },
                    required=("StreamARN", "RecordConfiguration"),
                ),
                min=1,
                max=10000,
            ),
            "S3DestinationConfiguration": Structure(
                "S3DestinationConfiguration",
                {
                    "DataFreshnessInSeconds": DATA_FRESHNESS_IN_SECONDS,
                    "DeadLetterQueueS3Configuration": DEAD_LETTER_QUEUE_S3_CONFIGURATION,
                    "StorageConfiguration": S3_STORAGE_CONFIGURATION,
                },
                required=("StorageConfiguration",),
            ),
            "S3TablesDestinationConfiguration": Structure(
                "S3TablesDestinationConfiguration",
                {
                    "DataFreshnessInSeconds": DATA_FRESHNESS_IN_SECONDS,
                    "DeadLetterQueueS3Configuration": DEAD_LETTER_QUEUE_S3_CONFIGURATION,
                    "S3TablesConfigurationList": List(S3_TABLES_CONFIGURATION, min=1, max=10000),
                },
                required=("DeadLetterQueueS3Configuration", "S3TablesConfigurationList"),
            ),
            "EncryptionConfiguration": Structure(
                "ChannelEncryptionConfiguration",
                {"EncryptionType": String(enum=("KMS",)), "KeyId": KEY_ID},
                required=("EncryptionType", "KeyId"),
            ),
            "Tags": TAG_MAP,
            "LoggingConfiguration": Structure(
                "ChannelLoggingConfiguration",
                {
                    "CloudWatchLogs": Structure(
                        "CloudWatchLogs",
                        {
                            "Enabled": BOOLEAN,
                            "LogGroupName": CLOUD_WATCH_LOG_GROUP_NAME,
                            "LogStreamName": CLOUD_WATCH_LOG_STREAM_NAME,
                        },
                        required=("Enabled",),
                    )
                },
                required=("CloudWatchLogs",),
            ),
        },
        required=("ChannelName", "ServiceExecutionRoleARN", "StreamConfigurationList"),
    ),
    "CreateQueue": Structure(
        "CreateQueueInput",
        {
            "QueueName": String(min=1, max=128, pattern="[a-zA-Z0-9_.-]+"),
            "StreamConfigurationList": List(
                Structure(
                    "QueueStreamConfiguration",
                    {
                        "StreamARN": STREAM_ARN,
                        "StartingPosition": Structure(
                            "QueueStartingPosition",
                            {
                                "Type": String(enum=("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")),
                                "Timestamp": TIMESTAMP,
                            },
                            required=("Type",),
                        ),
                    },
                    required=("StreamARN",),
                ),
                min=1,
                max=10000,
            ),
            "QueueAttributes": QUEUE_ATTRIBUTES,
            "Tags": TAG_MAP,
        },
        required=("QueueName", "StreamConfigurationList"),
    ),
    "CreateStream": Structure(
        "CreateStreamInput",
        {
            "ShardCount": POSITIVE_INTEGER,
            "StreamName": STREAM_NAME,
            "StreamModeDetails": STREAM_MODE_DETAILS,
            "Tags": TAG_MAP,
            "WarmThroughputMiBps": NATURAL_INTEGER,
            "MaxRecordSizeInKiB": MAX_RECORD_SIZE_IN_KIB,
            "RecordDistributionStrategy": RECORD_DISTRIBUTION_STRATEGY,
        },
        required=("StreamName",),
    ),
    "DecreaseStreamRetentionPeriod": _retention("DecreaseStreamRetentionPeriodInput"),
    "DeleteChannel": _one_arn("DeleteChannelInput", "ChannelARN", CHANNEL_ARN),
    "DeleteQueue": _one_arn("DeleteQueueInput", "QueueARN", QUEUE_ARN),
    "DeleteResourcePolicy": _one_arn("DeleteResourcePolicyInput", "ResourceARN", RESOURCE_ARN),
    "DeleteStream": Structure(
        "DeleteStreamInput",
        {
            "StreamName": STREAM_NAME,
            "EnforceConsumerDeletion": BOOLEAN,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
    ),
    "DeregisterStreamConsumer": _consumer("DeregisterStreamConsumerInput"),
    "DescribeAccountSettings": Structure("DescribeAccountSettingsInput"),
    "DescribeChannel": _one_arn("DescribeChannelInput", "ChannelARN", CHANNEL_ARN),
    "DescribeLimits": Structure("DescribeLimitsInput"),
    "DescribeQueue": _one_arn("DescribeQueueInput", "QueueARN", QUEUE_ARN),
    "DescribeStream": Structure(
        "DescribeStreamInput",
        {
            "Limit": LIST_LIMIT,
            "ExclusiveStartShardId": SHARD_ID,
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
    ),
    "DescribeStreamConsumer": _consumer("DescribeStreamConsumerInput"),
    "DescribeStreamSummary": Structure(
        "DescribeStreamSummaryInput",
        {"StreamName": STREAM_NAME, "StreamARN": STREAM_ARN, "StreamId": STREAM_ID},
    ),
    "DisableEnhancedMonitoring": _stream_monitoring("DisableEnhancedMonitoringInput"),
    "EnableEnhancedMonitoring": _stream_monitoring("EnableEnhancedMonitoringInput"),
    "GetRecords": Structure(
        "GetRecordsInput",
        {
            "Limit": LIST_LIMIT,
            "ShardIterator": String(min=1, max=512),
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
            "DryRun": BOOLEAN,
        },
        required=("ShardIterator",),
    ),
    "GetResourcePolicy": _one_arn("GetResourcePolicyInput", "ResourceARN", RESOURCE_ARN),
    "GetShardIterator": Structure(
        "GetShardIteratorInput",
        {
            "ShardId": SHARD_ID,
            "ShardIteratorType": SHARD_ITERATOR_TYPE,
            "StartingSequenceNumber": SEQUENCE_NUMBER,
            "StreamName": STREAM_NAME,
            "Timestamp": TIMESTAMP,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
            "DryRun": BOOLEAN,
        },
        required=("ShardId", "ShardIteratorType"),
    ),
    "IncreaseStreamRetentionPeriod": _retention("IncreaseStreamRetentionPeriodInput"),
    "ListChannels": Structure(
        "ListChannelsInput",
        {
            "StreamFilter": List(STREAM_FILTER, min=1, max=10000),
            "MaxResults": LIST_LIMIT,
            "NextToken": NEXT_TOKEN,
        },
    ),
    "ListQueues": Structure(
        "ListQueuesInput",
        {
            "MaxResults": LIST_LIMIT,
            "NextToken": NEXT_TOKEN,
            "StreamFilter": List(
                Structure("QueueStreamFilter", STREAM_FILTER.members, STREAM_FILTER.required),
                min=1,
                max=10000,
            ),
        },
    ),
    "ListShards": Structure(
        "ListShardsInput",
        {
            "ExclusiveStartShardId": SHARD_ID,
            "MaxResults": LIST_LIMIT,
            "NextToken": NEXT_TOKEN,
            "StreamCreationTimestamp": TIMESTAMP,
            "StreamName": STREAM_NAME,
            "ShardFilter": Structure(
                "ShardFilter",
                {
                    "Type": String(
                        enum=(
                            "AFTER_SHARD_ID",
                            "AT_TRIM_HORIZON",
                            "FROM_TRIM_HORIZON",
                            "AT_LATEST",
                            "AT_TIMESTAMP",
                            "FROM_TIMESTAMP",
                        )
                    ),
                    "ShardId": SHARD_ID,
                    "Timestamp": TIMESTAMP,
                },
                required=("Type",),
            ),
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
    ),
    "ListStreamConsumers": Structure(
        "ListStreamConsumersInput",
        {
            "StreamARN": STREAM_ARN,
            "NextToken": NEXT_TOKEN,
            "MaxResults": LIST_LIMIT,
            "StreamCreationTimestamp": TIMESTAMP,
            "StreamId": STREAM_ID,
        },
        required=("StreamARN",),
    ),
    "ListStreams": Structure(
        "ListStreamsInput",
        {"Limit": LIST_LIMIT, "ExclusiveStartStreamName": STREAM_NAME, "NextToken": NEXT_TOKEN},
    ),
    "ListTagsForResource": _one_arn("ListTagsForResourceInput", "ResourceARN", RESOURCE_ARN),
    "ListTagsForStream": Structure(
        "ListTagsForStreamInput",
        {
            "Limit": Integer(min=1, max=50),
            "ExclusiveStartTagKey": TAG_KEY,
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
    ),
    "MergeShards": Structure(
        "MergeShardsInput",
        {
            "ShardToMerge": SHARD_ID,
            "AdjacentShardToMerge": SHARD_ID,
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("ShardToMerge", "AdjacentShardToMerge"),
    ),
    "PutRecord": Structure(
        "PutRecordInput",
        {
            "SequenceNumberForOrdering": SEQUENCE_NUMBER,
            "PartitionKey": PARTITION_KEY,
            "ExplicitHashKey": HASH_KEY,
            "Data": DATA,
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
            "DryRun": BOOLEAN,
        },
        required=("Data",),
    ),
    "PutRecords": Structure(
        "PutRecordsInput",
        {
            "Records": List(
                PUT_RECORDS_ENTRY,
                min=1,
                max=500,
                member_str="com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310",
            ),
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
            "DryRun": BOOLEAN,
        },
        required=("Records",),
    ),
    "PutResourcePolicy": Structure(
        "PutResourcePolicyInput",
        {"ResourceARN": RESOURCE_ARN, "StreamId": STREAM_ID, "Policy": String()},
        required=("ResourceARN", "Policy"),
    ),
    "ReceiveDeadLetterQueueRecords": _receive_queue_records("ReceiveDeadLetterQueueRecordsInput"),
    "ReceiveQueueRecords": _receive_queue_records("ReceiveQueueRecordsInput"),
    "RegisterStreamConsumer": Structure(
        "RegisterStreamConsumerInput",
        {
            "StreamARN": STREAM_ARN,
            "ConsumerName": CONSUMER_NAME,
            "StreamId": STREAM_ID,
            "Tags": TAG_MAP,
        },
        required=("StreamARN", "ConsumerName"),
    ),
    "RemoveTagsFromStream": Structure(
        "RemoveTagsFromStreamInput",
        {
            "TagKeys": TAG_KEY_LIST,
            "StreamName": STREAM_NAME,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("TagKeys",),
    ),
    "RestoreDeadLetterQueueRecords": _queue_entries_operation("RestoreDeadLetterQueueRecordsInput"),
    "SplitShard": Structure(
        "SplitShardInput",
        {
            "NewStartingHashKey": HASH_KEY,
            "StreamName": STREAM_NAME,
            "ShardToSplit": SHARD_ID,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("ShardToSplit", "NewStartingHashKey"),
    ),
    "StartStreamEncryption": _stream_encryption("StartStreamEncryptionInput"),
    "StopStreamEncryption": _stream_encryption("StopStreamEncryptionInput"),
    "SubscribeToShard": Structure(
        "SubscribeToShardInput",
        {
            "ConsumerARN": CONSUMER_ARN,
            "StreamId": STREAM_ID,
            "ShardId": SHARD_ID,
            "StartingPosition": Structure(
                "StartingPosition",
                {
                    "Type": SHARD_ITERATOR_TYPE,
                    "SequenceNumber": SEQUENCE_NUMBER,
                    "Timestamp": TIMESTAMP,
                },
                required=("Type",),
            ),
            "DryRun": BOOLEAN,
        },
        required=("ConsumerARN", "ShardId", "StartingPosition"),
    ),
    "TagResource": Structure(
        "TagResourceInput",
        {"Tags": TAG_MAP, "ResourceARN": RESOURCE_ARN, "StreamId": STREAM_ID},
        required=("Tags", "ResourceARN"),
    ),
    "UntagResource": Structure(
        "UntagResourceInput",
        {"TagKeys": TAG_KEY_LIST, "ResourceARN": RESOURCE_ARN, "StreamId": STREAM_ID},
        required=("TagKeys", "ResourceARN"),
    ),
    "UpdateAccountSettings": Structure(
        "UpdateAccountSettingsInput",
        {
            "MinimumThroughputBillingCommitment": Structure(
                "MinimumThroughputBillingCommitmentInput",
                {"Status": String(enum=("ENABLED", "DISABLED"))},
                required=("Status",),
            )
        },
        required=("MinimumThroughputBillingCommitment",),
    ),
    "UpdateChannel": Structure(
        "UpdateChannelInput",
        {
            "ChannelARN": CHANNEL_ARN,
            "S3DestinationConfiguration": Structure(
                "S3DestinationUpdateInput",
                {"DataFreshnessInSeconds": DATA_FRESHNESS_IN_SECONDS},
                required=("DataFreshnessInSeconds",),
            ),
            "S3TablesDestinationConfiguration": Structure(
                "S3TablesDestinationUpdateInput",
                {"DataFreshnessInSeconds": DATA_FRESHNESS_IN_SECONDS},
                required=("DataFreshnessInSeconds",),
            ),
            "LoggingConfiguration": Structure(
                "ChannelLoggingUpdateInput",
                {
                    "CloudWatchLogs": Structure(
                        "CloudWatchLogsUpdateInput",
                        {
                            "Enabled": BOOLEAN,
                            "LogGroupName": CLOUD_WATCH_LOG_GROUP_NAME,
                            "LogStreamName": CLOUD_WATCH_LOG_STREAM_NAME,
                        },
                        required=("Enabled",),
                    )
                },
                required=("CloudWatchLogs",),
            ),
        },
        required=("ChannelARN",),
    ),
    "UpdateDeadLetterQueueRecordsVisibility": _queue_entries_operation(
        "UpdateDeadLetterQueueRecordsVisibilityInput", visibility=True
    ),
    "UpdateMaxRecordSize": Structure(
        "UpdateMaxRecordSizeInput",
        {
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
            "MaxRecordSizeInKiB": MAX_RECORD_SIZE_IN_KIB,
        },
        required=("MaxRecordSizeInKiB",),
    ),
    "UpdateQueue": Structure(
        "UpdateQueueInput",
        {"QueueARN": QUEUE_ARN, "QueueAttributes": QUEUE_ATTRIBUTES},
        required=("QueueARN", "QueueAttributes"),
    ),
    "UpdateQueueRecordsVisibility": _queue_entries_operation(
        "UpdateQueueRecordsVisibilityInput", visibility=True
    ),
    "UpdateShardCount": Structure(
        "UpdateShardCountInput",
        {
            "ScalingType": String(enum=("UNIFORM_SCALING",)),
            "StreamName": STREAM_NAME,
            "TargetShardCount": POSITIVE_INTEGER,
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
        },
        required=("TargetShardCount", "ScalingType"),
    ),
    "UpdateStreamMode": Structure(
        "UpdateStreamModeInput",
        {
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
            "StreamModeDetails": STREAM_MODE_DETAILS,
            "WarmThroughputMiBps": NATURAL_INTEGER,
        },
        required=("StreamARN", "StreamModeDetails"),
    ),
    "UpdateStreamRecordDistributionStrategy": Structure(
        "UpdateStreamRecordDistributionStrategyInput",
        {
            "StreamARN": STREAM_ARN,
            "StreamId": STREAM_ID,
            "RecordDistributionStrategy": RECORD_DISTRIBUTION_STRATEGY,
        },
        required=("StreamARN", "RecordDistributionStrategy"),
    ),
    "UpdateStreamWarmThroughput": Structure(
        "UpdateStreamWarmThroughputInput",
        {
            "StreamARN": STREAM_ARN,
            "StreamName": STREAM_NAME,
            "StreamId": STREAM_ID,
            "WarmThroughputMiBps": NATURAL_INTEGER,
        },
        required=("WarmThroughputMiBps",),
    ),
}
