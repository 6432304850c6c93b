"""Control-plane operations on streams: create, delete, describe, list, retention, limits."""

from __future__ import annotations

from headwater.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
)
from headwater.protocol.values import Timestamp
from headwater.service import sequence
from headwater.service.handlers.describe import shard_view, summary_view
from headwater.service.handlers.pagination import PageToken, issue, redeem
from headwater.service.handlers.settings import warm_throughput_view
from headwater.service.handlers.tags import check_new_tags
from headwater.service.hashing import even_ranges
from headwater.service.model import (
    MODE_ON_DEMAND,
    MODE_PROVISIONED,
    STATUS_CREATING,
    Shard,
    Stream,
    shard_id_for,
)
from headwater.service.records import HOUR_MS, parse_shard_id
from headwater.service.service import StreamService
from headwater.service.shapes import SHARD_LEVEL_METRICS

MIN_RETENTION_HOURS = 24
MAX_RETENTION_HOURS = 8760
DESCRIBE_PAGE_MAX = 100
LIST_STREAMS_PAGE_MAX = 100
LIST_SHARDS_PAGE_MAX = 1000


def open_shard_total(service: StreamService) -> int:
    return sum(s.open_shard_count for s in service.registry.streams.values())


def check_shard_quota(service: StreamService, additional: int) -> None:
    """AWS' account-wide shard quota, with its message."""
    config = service.config
    current = open_shard_total(service)
    limit = config.effective_shard_limit
    if current + additional > limit:
        raise LimitExceededException(
            f"This request would exceed the shard limit for the account {config.account_id} in "
            f"{config.region}. Current shard count for the account: {current}. Limit: {limit}. "
            "Number of additional shards that would have resulted from this request: "
            f"{additional}. Refer to the AWS Service Limits page "
            "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current "
            "limits and how to request higher limits."
        )


async def create_stream(service: StreamService, request: dict) -> None:
    config, registry = service.config, service.registry
    name = request["StreamName"]
    mode = request.get("StreamModeDetails", {}).get("StreamMode")
    shard_count = request.get("ShardCount")
    if mode is None:
        mode = MODE_PROVISIONED if shard_count is not None else MODE_ON_DEMAND
    if mode == MODE_ON_DEMAND and shard_count is not None:
        raise InvalidArgumentException("ShardCount is not expected when StreamMode=ON_DEMAND")
    if mode == MODE_PROVISIONED and shard_count is None:
        raise InvalidArgumentException("ShardCount is required when StreamMode=PROVISIONED")
    if shard_count is None:
        shard_count = config.on_demand_default_shards
    async with service.control_lock:
        if name in registry.streams:
            registry.get(name)  # purges a stream whose deletion completed
        if name in registry.streams:
            raise ResourceInUseException(
                f"Stream {name} under account {config.account_id} already exists."
            )
        check_shard_quota(service, shard_count)
        if shard_count > sequence.MAX_SHARD_INDEX:
            raise InvalidArgumentException(
                f"ShardCount {shard_count} is above the maximum of {sequence.MAX_SHARD_INDEX}."
            )
        if mode == MODE_ON_DEMAND:
            on_demand = sum(1 for s in registry.streams.values() if s.mode == MODE_ON_DEMAND)
            if on_demand >= config.on_demand_stream_limit:
                raise LimitExceededException(
                    f"This request would exceed the on-demand stream limit for the account "
                    f"{config.account_id} in {config.region}. Limit: "
                    f"{config.on_demand_stream_limit}."
                )
        tags = request.get("Tags", {})
        check_new_tags(name, {}, tags, config.account_id)
        now = service.clock.now_ms()
        stream = Stream(
            stream_id=registry.new_stream_id(),
            name=name,
            created_ms=now,
            ready_at_ms=now + config.create_delay_ms,
            mode=mode,
            tags=dict(tags),
            max_record_size_kib=request.get("MaxRecordSizeInKiB", 1024),
        )
        epoch = stream.next_epoch(now)
        stream.shards = [
            Shard(
                shard_id=shard_id_for(i),
                index=i,
                hash_start=str(start),
                hash_end=str(end),
                epoch_ms=epoch,
                created_ms=now,
            )
            for i, (start, end) in enumerate(even_ranges(shard_count))
        ]
        stream.next_shard_index = shard_count
        stream.rebuild_routes()
        registry.add(stream)


async def delete_stream(service: StreamService, request: dict) -> None:
    registry = service.registry
    async with service.control_lock:
        stream = registry.find(request)
        if stream.deleting_at_ms is not None:
            registry.require_state(stream, ())
        if stream.consumers and not request.get("EnforceConsumerDeletion", False):
            raise ResourceInUseException(
                f"DeleteStream can't delete {service.config.account_id}:{stream.name} because "
                "there are consumers associated with this data stream. To delete "
                f"{stream.name} anyway, set the EnforceConsumerDeletion parameter to true to "
                "force the deletion of all the consumers that are associated with it."
            )
        now = service.clock.now_ms()
        stream.deleting_at_ms = now + service.config.delete_delay_ms
        if service.config.delete_delay_ms == 0:
            registry.forget(stream)
        else:
            registry.save(stream)


def listed_shards(service: StreamService, stream: Stream) -> list[Shard]:
    """Shards a listing shows: all but closed shards whose data has fully aged out."""
    cutoff = service.clock.now_ms() - stream.retention_hours * HOUR_MS
    return [s for s in stream.shards if s.closed_ms is None or s.closed_ms >= cutoff]


async def describe_stream(service: StreamService, request: dict) -> dict:
    stream = service.registry.find(request)
    await service.resharder.settled(stream)
    now = service.clock.now_ms()
    shards = [] if stream.status(now) == STATUS_CREATING else listed_shards(service, stream)
    start = request.get("ExclusiveStartShardId")
    if start is not None:
        after = parse_shard_id(start)
        shards = [s for s in shards if after is None or s.index > after]
    limit = min(request.get("Limit", DESCRIBE_PAGE_MAX), DESCRIBE_PAGE_MAX)
    description = summary_view(stream, service.config, now)
    description["Shards"] = [shard_view(s) for s in shards[:limit]]
    description["HasMoreShards"] = len(shards) > limit
    return {"StreamDescription": description}


async def describe_stream_summary(service: StreamService, request: dict) -> dict:
    stream = service.registry.find(request)
    await service.resharder.settled(stream)
    summary = summary_view(stream, service.config, service.clock.now_ms())
    summary["OpenShardCount"] = stream.open_shard_count
    summary["ConsumerCount"] = len(stream.consumers)
    summary["MaxRecordSizeInKiB"] = stream.max_record_size_kib
    summary["WarmThroughput"] = warm_throughput_view(service, stream)
    return {"StreamDescriptionSummary": summary}


async def list_streams(service: StreamService, request: dict) -> dict:
    now = service.clock.now_ms()
    limit = min(request.get("Limit", LIST_STREAMS_PAGE_MAX), LIST_STREAMS_PAGE_MAX)
    after = request.get("ExclusiveStartStreamName")
    if "NextToken" in request:
        after = redeem(service.signer, request["NextToken"], "streams", now).after
    names = sorted(
        s.name
        for s in service.registry.streams.values()
        if s.deleting_at_ms is None or now < s.deleting_at_ms
    )
    if after is not None:
        names = [n for n in names if n > after]
    page = names[:limit]
    response: dict = {
        "StreamNames": page,
        "HasMoreStreams": len(names) > limit,
        "StreamSummaries": [_stream_summary(service, name, now) for name in page],
    }
    if len(names) > limit:
        response["NextToken"] = issue(service.signer, PageToken("streams", now, "", 0, page[-1]))
    return response


def _stream_summary(service: StreamService, name: str, now: int) -> dict:
    stream = service.registry.streams[name]
    return {
        "StreamName": name,
        "StreamARN": service.config.stream_arn(name),
        "StreamStatus": stream.status(now),
        "StreamModeDetails": {"StreamMode": stream.mode},
        "StreamCreationTimestamp": Timestamp(stream.created_ms),
    }


async def list_shards(service: StreamService, request: dict) -> dict:
    now = service.clock.now_ms()
    token_text = request.get("NextToken")
    has_stream = "StreamName" in request or "StreamARN" in request
    if token_text is None and not has_stream:
        raise InvalidArgumentException("Either NextToken or StreamName should be provided.")
    if token_text is not None and has_stream:
        raise InvalidArgumentException("NextToken and StreamName cannot be provided together.")
    if token_text is not None and "ShardFilter" in request:
        raise InvalidArgumentException("NextToken and ShardFilter cannot be provided together.")
    for member in ("ExclusiveStartShardId", "StreamCreationTimestamp"):
        if token_text is not None and member in request:
            raise InvalidArgumentException(f"NextToken and {member} cannot be provided together.")
    if token_text is not None:
        token = redeem(service.signer, token_text, "shards", now)
        stream = service.registry.get(token.stream)
        if stream.created_ms != token.stream_created_ms:
            raise InvalidArgumentException("Invalid NextToken.")
        await service.resharder.settled(stream)
        after = int(token.after)
        shards = [s for s in listed_shards(service, stream) if s.index > after]
    else:
        stream = service.registry.find(request)
        await service.resharder.settled(stream)
        shards = await _filter_shards(service, stream, request)
    limit = min(request.get("MaxResults", LIST_SHARDS_PAGE_MAX), LIST_SHARDS_PAGE_MAX)
    page = shards[:limit]
    response: dict = {"Shards": [shard_view(s) for s in page]}
    if len(shards) > limit:
        token = PageToken("shards", now, stream.name, stream.created_ms, str(page[-1].index))
        response["NextToken"] = issue(service.signer, token)
    return response


async def _filter_shards(service: StreamService, stream: Stream, request: dict) -> list[Shard]:
    """Apply ExclusiveStartShardId and ShardFilter (default FROM_TRIM_HORIZON)."""
    shards = listed_shards(service, stream)
    start = request.get("ExclusiveStartShardId")
    if start is not None:
        after = parse_shard_id(start)
        shards = [s for s in shards if after is None or s.index > after]
    shard_filter = request.get("ShardFilter")
    if shard_filter is None:
        return shards
    kind = shard_filter["Type"]
    if kind == "AFTER_SHARD_ID":
        if "ShardId" not in shard_filter:
            raise InvalidArgumentException(
                "ShardId must be supplied in a ShardFilter with a Type of AFTER_SHARD_ID"
            )
        after = parse_shard_id(shard_filter["ShardId"])
        return [s for s in shards if after is None or s.index > after]
    if kind == "AT_LATEST":
        return [s for s in shards if s.is_open]
    if kind == "FROM_TRIM_HORIZON":
        return shards
    now = service.clock.now_ms()
    horizon = now - stream.retention_hours * HOUR_MS
    if kind == "AT_TRIM_HORIZON":
        moment = horizon
    else:
        if "Timestamp" not in shard_filter:
            raise InvalidArgumentException(
                "Timestamp must be supplied in a ShardFilter with a Type of FROM_TIMESTAMP "
                "or AT_TIMESTAMP"
            )
        moment = max(int(shard_filter["Timestamp"] * 1000), horizon)
    if kind == "FROM_TIMESTAMP":
        return [s for s in shards if s.closed_ms is None or s.closed_ms >= moment]
    # AT_TIMESTAMP and AT_TRIM_HORIZON: the shards that were open at that moment; the
    # stream's first shards count as open since the stream began.
    return [
        s
        for s in shards
        if (s.parent is None or s.created_ms <= moment)
        and (s.closed_ms is None or s.closed_ms > moment)
    ]


async def increase_retention(service: StreamService, request: dict) -> None:
    await _change_retention(service, request, increase=True)


async def decrease_retention(service: StreamService, request: dict) -> None:
    await _change_retention(service, request, increase=False)


async def _change_retention(service: StreamService, request: dict, *, increase: bool) -> None:
    hours = request["RetentionPeriodHours"]
    async with service.control_lock:
        stream = service.registry.find_writable(request)
        if hours < MIN_RETENTION_HOURS:
            raise InvalidArgumentException(
                f"Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. "
                f"Requested retention period ({hours} hours) is too short."
            )
        if hours > MAX_RETENTION_HOURS:
            raise InvalidArgumentException(
                f"Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. "
                f"Requested retention period ({hours} hours) is too long."
            )
        current = stream.retention_hours
        if increase and hours < current:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {stream.name} can not "
                f"be shorter than existing retention period ({current} hours). Use "
                "DecreaseRetentionPeriod API."
            )
        if not increase and hours > current:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {stream.name} can not "
                f"be longer than existing retention period ({current} hours). Use "
                "IncreaseRetentionPeriod API."
            )
        stream.retention_hours = hours
        service.registry.save(stream)


async def describe_limits(service: StreamService, request: dict) -> dict:
    streams = service.registry.streams.values()
    return {
        "ShardLimit": service.config.effective_shard_limit,
        "OpenShardCount": open_shard_total(service),
        "OnDemandStreamCount": sum(1 for s in streams if s.mode == MODE_ON_DEMAND),
        "OnDemandStreamCountLimit": service.config.on_demand_stream_limit,
    }


async def enable_enhanced_monitoring(service: StreamService, request: dict) -> dict:
    return await _set_monitoring(service, request, enable=True)


async def disable_enhanced_monitoring(service: StreamService, request: dict) -> dict:
    return await _set_monitoring(service, request, enable=False)


async def _set_monitoring(service: StreamService, request: dict, *, enable: bool) -> dict:
    metrics = request["ShardLevelMetrics"]
    chosen = set(SHARD_LEVEL_METRICS) if "ALL" in metrics else set(metrics)
    async with service.control_lock:
        stream = service.registry.find_writable(request)
        current = list(stream.shard_level_metrics)
        present = set(current)
        desired = present | chosen if enable else present - chosen
        stream.shard_level_metrics = [m for m in SHARD_LEVEL_METRICS if m in desired]
        service.registry.save(stream)
    return {
        "StreamName": stream.name,
        "StreamARN": service.config.stream_arn(stream.name),
        "CurrentShardLevelMetrics": current,
        "DesiredShardLevelMetrics": list(stream.shard_level_metrics),
    }


async def start_encryption(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = service.registry.find_writable(request)
        service.keys.resolve(request["KeyId"])
        stream.encryption_type = request["EncryptionType"]
        stream.key_id = request["KeyId"]
        service.registry.save(stream)


async def stop_encryption(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = service.registry.find_writable(request)
        stream.encryption_type = "NONE"
        stream.key_id = None
        service.registry.save(stream)
