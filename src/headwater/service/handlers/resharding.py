"""SplitShard, MergeShards, UpdateShardCount and UpdateStreamMode."""

from __future__ import annotations

from headwater.errors import ValidationException
from headwater.service.handlers.streams import check_shard_quota
from headwater.service.model import MODE_ON_DEMAND, STATUS_ACTIVE, Stream
from headwater.service.resharding import ReshardPlan
from headwater.service.service import StreamService


def _provisioned_stream(service: StreamService, request: dict) -> Stream:
    stream = service.registry.find(request)
    service.registry.require_state(stream, (STATUS_ACTIVE,))
    if stream.mode == MODE_ON_DEMAND:
        raise ValidationException(
            f"Request is invalid. Stream {stream.name} under account "
            f"{service.config.account_id} is in On-Demand mode."
        )
    return stream


async def _apply(service: StreamService, plan: ReshardPlan) -> None:
    await service.resharder.apply(plan)


async def split_shard(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = _provisioned_stream(service, request)
        check_shard_quota(service, 1)
        plan = service.resharder.plan_split(
            stream,
            request["ShardToSplit"],
            int(request["NewStartingHashKey"]),
            service.clock.now_ms(),
        )
        await _apply(service, plan)


async def merge_shards(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = _provisioned_stream(service, request)
        plan = service.resharder.plan_merge(
            stream,
            request["ShardToMerge"],
            request["AdjacentShardToMerge"],
            service.clock.now_ms(),
        )
        await _apply(service, plan)


async def update_shard_count(service: StreamService, request: dict) -> dict:
    async with service.control_lock:
        stream = _provisioned_stream(service, request)
        current = stream.open_shard_count
        target = request["TargetShardCount"]
        check_shard_quota(service, max(target - current, 0))
        if target != current:
            plan = service.resharder.plan_uniform(stream, target, service.clock.now_ms())
            await _apply(service, plan)
    return {
        "StreamName": stream.name,
        "CurrentShardCount": current,
        "TargetShardCount": target,
        "StreamARN": service.config.stream_arn(stream.name),
    }


async def update_stream_mode(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = service.registry.find(request)
        service.registry.require_state(stream, (STATUS_ACTIVE,))
        stream.mode = request["StreamModeDetails"]["StreamMode"]
        stream.updating_until_ms = service.clock.now_ms() + service.config.update_delay_ms
        service.registry.save(stream)
