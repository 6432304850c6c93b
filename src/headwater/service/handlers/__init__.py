"""One handler per Kinesis operation, and the dispatch from a validated request to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from headwater.errors import UnknownOperationException
from headwater.service.handlers import (
    consumers,
    policies,
    records,
    resharding,
    settings,
    streams,
    tags,
)
from headwater.service.service import StreamService

Handler = Callable[[StreamService, dict], Awaitable[dict | None]]

HANDLERS: dict[str, Handler] = {
    "CreateStream": streams.create_stream,
    "DeleteStream": streams.delete_stream,
    "DescribeStream": streams.describe_stream,
    "DescribeStreamSummary": streams.describe_stream_summary,
    "ListStreams": streams.list_streams,
    "ListShards": streams.list_shards,
    "IncreaseStreamRetentionPeriod": streams.increase_retention,
    "DecreaseStreamRetentionPeriod": streams.decrease_retention,
    "DescribeLimits": streams.describe_limits,
    "EnableEnhancedMonitoring": streams.enable_enhanced_monitoring,
    "DisableEnhancedMonitoring": streams.disable_enhanced_monitoring,
    "StartStreamEncryption": streams.start_encryption,
    "StopStreamEncryption": streams.stop_encryption,
    "AddTagsToStream": tags.add_tags_to_stream,
    "RemoveTagsFromStream": tags.remove_tags_from_stream,
    "ListTagsForStream": tags.list_tags_for_stream,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
    "PutRecord": records.put_record,
    "PutRecords": records.put_records,
    "GetShardIterator": records.get_shard_iterator,
    "GetRecords": records.get_records,
    "SplitShard": resharding.split_shard,
    "MergeShards": resharding.merge_shards,
    "UpdateShardCount": resharding.update_shard_count,
    "UpdateStreamMode": resharding.update_stream_mode,
    "RegisterStreamConsumer": consumers.register_stream_consumer,
    "DescribeStreamConsumer": consumers.describe_stream_consumer,
    "ListStreamConsumers": consumers.list_stream_consumers,
    "DeregisterStreamConsumer": consumers.deregister_stream_consumer,
    "PutResourcePolicy": policies.put_resource_policy,
    "GetResourcePolicy": policies.get_resource_policy,
    "DeleteResourcePolicy": policies.delete_resource_policy,
    "UpdateMaxRecordSize": settings.update_max_record_size,
    "UpdateStreamWarmThroughput": settings.update_stream_warm_throughput,
    "DescribeAccountSettings": settings.describe_account_settings,
    "UpdateAccountSettings": settings.update_account_settings,
}

# Operations whose response is an event stream rather than one body.
STREAMING = {"SubscribeToShard"}


def handler_for(operation: str) -> Handler:
    handler = HANDLERS.get(operation)
    if handler is None:
        raise UnknownOperationException()
    return handler
