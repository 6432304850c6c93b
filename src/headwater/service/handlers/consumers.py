"""Register/Describe/List/DeregisterStreamConsumer."""

from __future__ import annotations

from headwater.protocol.values import Timestamp
from headwater.service.consumers import consumer_status
from headwater.service.handlers.pagination import PageToken, issue, redeem
from headwater.service.model import Consumer, Stream
from headwater.service.service import StreamService

LIST_CONSUMERS_PAGE_MAX = 100


def consumer_view(service: StreamService, stream: Stream, consumer: Consumer) -> dict:
    return {
        "ConsumerName": consumer.name,
        "ConsumerARN": service.consumers.arn(stream, consumer),
        "ConsumerStatus": consumer_status(consumer, service.clock.now_ms()),
        "ConsumerCreationTimestamp": Timestamp(consumer.created_ms),
    }


async def register_stream_consumer(service: StreamService, request: dict) -> dict:
    async with service.control_lock:
        stream = service.registry.get(service.registry.name_from_arn(request["StreamARN"]))
        consumer = service.consumers.register(stream, request["ConsumerName"])
    return {"Consumer": consumer_view(service, stream, consumer)}


async def describe_stream_consumer(service: StreamService, request: dict) -> dict:
    stream, consumer = service.consumers.find(request)
    description = consumer_view(service, stream, consumer)
    description["StreamARN"] = service.config.stream_arn(stream.name)
    return {"ConsumerDescription": description}


async def list_stream_consumers(service: StreamService, request: dict) -> dict:
    stream = service.registry.get(service.registry.name_from_arn(request["StreamARN"]))
    now = service.clock.now_ms()
    consumers = sorted(service.consumers.live(stream), key=lambda c: c.name)
    if "NextToken" in request:
        after = redeem(service.signer, request["NextToken"], "consumers", now).after
        consumers = [c for c in consumers if c.name > after]
    limit = min(request.get("MaxResults", LIST_CONSUMERS_PAGE_MAX), LIST_CONSUMERS_PAGE_MAX)
    page = consumers[:limit]
    response: dict = {"Consumers": [consumer_view(service, stream, c) for c in page]}
    if len(consumers) > limit:
        token = PageToken("consumers", now, stream.name, stream.created_ms, page[-1].name)
        response["NextToken"] = issue(service.signer, token)
    return response


async def deregister_stream_consumer(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream, consumer = service.consumers.find(request)
        service.consumers.deregister(stream, consumer)
