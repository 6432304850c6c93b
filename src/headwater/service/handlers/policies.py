"""Put/Get/DeleteResourcePolicy, and the check every call passes before its handler."""

from __future__ import annotations

from headwater.errors import ResourceNotFoundException
from headwater.service.model import Consumer, Stream
from headwater.service.policies import enforce, parse_policy
from headwater.service.service import StreamService

# Managing policies is never itself denied by a policy, so an owner cannot lock a stream out.
POLICY_OPERATIONS = {"PutResourcePolicy", "GetResourcePolicy", "DeleteResourcePolicy"}


def _holder(service: StreamService, arn: str) -> tuple[Stream, Consumer | None]:
    """The stream or consumer an ARN names."""
    if "/consumer/" in arn:
        return service.consumers.find({"ConsumerARN": arn})
    return service.registry.get(service.registry.name_from_arn(arn)), None


async def put_resource_policy(service: StreamService, request: dict) -> None:
    parse_policy(request["Policy"])
    async with service.control_lock:
        stream, consumer = _holder(service, request["ResourceARN"])
        (consumer or stream).policy = request["Policy"]
        service.registry.save(stream)


async def get_resource_policy(service: StreamService, request: dict) -> dict:
    stream, consumer = _holder(service, request["ResourceARN"])
    return {"Policy": (consumer or stream).policy or "{}"}


async def delete_resource_policy(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream, consumer = _holder(service, request["ResourceARN"])
        holder = consumer or stream
        if holder.policy is None:
            raise ResourceNotFoundException(
                f"No resource policy found for resource ARN {request['ResourceARN']}."
            )
        holder.policy = None
        service.registry.save(stream)


def _targets(service: StreamService, request: dict) -> list[tuple[str, str | None]]:
    """(resource ARN, its policy) for what a request touches; nothing for account calls."""
    registry = service.registry
    arn = request.get("ConsumerARN") or request.get("ResourceARN")
    if arn is None and "ShardIterator" in request:
        state = service.records.iterators.decode(request["ShardIterator"].strip('"'))
        arn = registry.config.stream_arn(state.stream_name) if state else None
    if arn is None and ("StreamName" in request or "StreamARN" in request):
        arn = registry.config.stream_arn(registry.resolve_name(request))
    if arn is None:
        return []
    try:
        stream, consumer = _holder(service, arn)
    except ResourceNotFoundException:
        return []  # the handler reports the missing resource in AWS' words
    stream_arn = registry.config.stream_arn(stream.name)
    targets = [(stream_arn, stream.policy)]
    if consumer is not None:
        targets.append((service.consumers.arn(stream, consumer), consumer.policy))
    return targets


def authorize(service: StreamService, operation: str, request: dict, user_name: str | None) -> None:
    """Apply the resource policies of the stream (and consumer) a call touches."""
    if operation in POLICY_OPERATIONS:
        return
    account = service.config.account_id
    principals = (
        (f"arn:aws:iam::{account}:user/{user_name}", f"arn:aws:iam::{account}:root", account)
        if user_name
        else ()
    )
    for resource, policy in _targets(service, request):
        if policy:
            enforce(parse_policy(policy), principals, f"kinesis:{operation}", resource)
