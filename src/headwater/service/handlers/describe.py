"""How streams and shards are presented in responses (shared by several operations)."""

from __future__ import annotations

from headwater.protocol.values import Timestamp
from headwater.service.config import ServiceConfig
from headwater.service.model import Shard, Stream


def shard_view(shard: Shard) -> dict:
    view: dict = {"ShardId": shard.shard_id}
    if shard.parent:
        view["ParentShardId"] = shard.parent
    if shard.adjacent_parent:
        view["AdjacentParentShardId"] = shard.adjacent_parent
    view["HashKeyRange"] = {"StartingHashKey": shard.hash_start, "EndingHashKey": shard.hash_end}
    numbers = {"StartingSequenceNumber": shard.starting_sequence_number}
    if shard.ending_sequence_number is not None:
        numbers["EndingSequenceNumber"] = shard.ending_sequence_number
    view["SequenceNumberRange"] = numbers
    return view


def monitoring_view(stream: Stream) -> list[dict]:
    return [{"ShardLevelMetrics": list(stream.shard_level_metrics)}]


def summary_view(stream: Stream, config: ServiceConfig, now_ms: int) -> dict:
    """The fields DescribeStreamSummary and DescribeStream share."""
    view = {
        "StreamName": stream.name,
        "StreamARN": config.stream_arn(stream.name),
        "StreamStatus": stream.status(now_ms),
        "StreamModeDetails": {"StreamMode": stream.mode},
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": Timestamp(stream.created_ms),
        "EnhancedMonitoring": monitoring_view(stream),
        "EncryptionType": stream.encryption_type,
    }
    if stream.key_id:
        view["KeyId"] = stream.key_id
    return view
