"""Record size, warm throughput and account settings."""

from __future__ import annotations

import math

from headwater.protocol.values import Timestamp
from headwater.service.model import MODE_ON_DEMAND, Stream
from headwater.service.registry import WRITABLE_STATES
from headwater.service.service import StreamService

MIB_PER_SHARD = 1  # a shard takes 1 MiB/s of writes


def warm_throughput_view(service: StreamService, stream: Stream) -> dict:
    scale = service.config.limits.multiplier or 1.0
    current = int(stream.open_shard_count * MIB_PER_SHARD * scale)
    return {"TargetMiBps": stream.warm_throughput_mibps or current, "CurrentMiBps": current}


async def update_max_record_size(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = service.registry.find(request)
        service.registry.require_state(stream, WRITABLE_STATES)
        stream.max_record_size_kib = request["MaxRecordSizeInKiB"]
        service.registry.save(stream)


async def update_stream_warm_throughput(service: StreamService, request: dict) -> dict:
    """On an ON_DEMAND stream, add shards now so the target rate needs no scaling later."""
    async with service.control_lock:
        stream = service.registry.find(request)
        service.registry.require_state(stream, WRITABLE_STATES)
        target = request["WarmThroughputMiBps"]
        stream.warm_throughput_mibps = target
        wanted = math.ceil(target / MIB_PER_SHARD / (service.config.limits.multiplier or 1.0))
        wanted = min(wanted, service.config.on_demand_max_shards)
        if stream.mode == MODE_ON_DEMAND and wanted > stream.open_shard_count:
            plan = service.resharder.plan_warm(stream, wanted, service.clock.now_ms())
            await service.resharder.apply(plan)
        else:
            service.registry.save(stream)
    return {
        "StreamARN": service.config.stream_arn(stream.name),
        "StreamName": stream.name,
        "WarmThroughput": warm_throughput_view(service, stream),
    }


def _commitment(service: StreamService) -> dict:
    status = service.storage.metadata.load_setting("billing-commitment")
    return {"Status": (status or b"DISABLED").decode()}


async def describe_account_settings(service: StreamService, request: dict) -> dict:
    return {"MinimumThroughputBillingCommitment": _commitment(service)}


async def update_account_settings(service: StreamService, request: dict) -> dict:
    """Accepted and reported back; a self-hosted server has no billing to commit to."""
    status = request["MinimumThroughputBillingCommitment"]["Status"]
    service.storage.metadata.save_setting("billing-commitment", status.encode())
    commitment = _commitment(service)
    if status == "ENABLED":
        commitment["StartedAt"] = Timestamp(service.clock.now_ms())
    return {"MinimumThroughputBillingCommitment": commitment}
