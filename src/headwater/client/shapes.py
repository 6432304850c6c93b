"""Typed shapes of the Kinesis answers the client reads (AWS JSON 1.1 field names).

msgspec decodes straight into these (base64 ``Data`` becomes ``bytes``), which is both the
fastest way to read a GetRecords page and a check that the answer has the expected shape.
Unknown fields are ignored, so newer service fields do not break older clients.
"""

from __future__ import annotations

import msgspec


class HashKeyRange(msgspec.Struct, frozen=True):
    StartingHashKey: str
    EndingHashKey: str


class SequenceNumberRange(msgspec.Struct, frozen=True):
    StartingSequenceNumber: str
    EndingSequenceNumber: str | None = None


class Shard(msgspec.Struct, frozen=True):
    ShardId: str
    HashKeyRange: HashKeyRange
    SequenceNumberRange: SequenceNumberRange
    ParentShardId: str | None = None
    AdjacentParentShardId: str | None = None

    @property
    def is_open(self) -> bool:
        return self.SequenceNumberRange.EndingSequenceNumber is None

    @property
    def parent_ids(self) -> tuple[str, ...]:
        return tuple(p for p in (self.ParentShardId, self.AdjacentParentShardId) if p)


class ListShardsOutput(msgspec.Struct):
    Shards: list[Shard] = []
    NextToken: str | None = None


class PutRecordsRequestEntry(msgspec.Struct, omit_defaults=True):
    Data: bytes
    PartitionKey: str
    ExplicitHashKey: str | None = None


class PutRecordsRequest(msgspec.Struct, omit_defaults=True):
    Records: list[PutRecordsRequestEntry]
    StreamName: str | None = None
    StreamARN: str | None = None


class PutRecordsResultEntry(msgspec.Struct):
    SequenceNumber: str | None = None
    ShardId: str | None = None
    ErrorCode: str | None = None
    ErrorMessage: str | None = None


class PutRecordsOutput(msgspec.Struct):
    Records: list[PutRecordsResultEntry]
    FailedRecordCount: int = 0


class WireRecord(msgspec.Struct):
    SequenceNumber: str
    Data: bytes
    PartitionKey: str
    ApproximateArrivalTimestamp: float | None = None


class ChildShard(msgspec.Struct, frozen=True):
    ShardId: str
    ParentShards: list[str]
    HashKeyRange: HashKeyRange


class GetRecordsOutput(msgspec.Struct):
    Records: list[WireRecord] = []
    NextShardIterator: str | None = None
    MillisBehindLatest: int | None = None
    ChildShards: list[ChildShard] | None = None


class GetShardIteratorOutput(msgspec.Struct):
    ShardIterator: str | None = None


class SubscribeToShardEvent(msgspec.Struct):
    Records: list[WireRecord] = []
    ContinuationSequenceNumber: str | None = None
    MillisBehindLatest: int | None = None
    ChildShards: list[ChildShard] | None = None


class StreamDescriptionSummary(msgspec.Struct):
    StreamName: str
    StreamARN: str
    StreamStatus: str
    OpenShardCount: int | None = None


class DescribeStreamSummaryOutput(msgspec.Struct):
    StreamDescriptionSummary: StreamDescriptionSummary


class ConsumerDescription(msgspec.Struct):
    ConsumerName: str
    ConsumerARN: str
    ConsumerStatus: str


class RegisterStreamConsumerOutput(msgspec.Struct):
    Consumer: ConsumerDescription


class DescribeStreamConsumerOutput(msgspec.Struct):
    ConsumerDescription: ConsumerDescription
