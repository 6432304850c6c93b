"""Wire-level pieces: error mapping, SigV4 against a server with credentials, event streams."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest

from headwater import errors
from headwater.client.api import KinesisClient
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.readers.eventstream import subscription_events
from headwater.client.consumer.readers.fanout import FanOutReader
from headwater.client.errors import ServiceError, is_retryable
from headwater.client.positions import StartingPosition
from headwater.client.transport import error_from_response
from headwater.protocol.eventstream import event, exception


def test_error_bodies_become_the_shared_exception_classes():
    body = json.dumps({"__type": "ResourceNotFoundException", "message": "no stream"}).encode()
    error = error_from_response(400, body, None)
    assert type(error) is errors.ResourceNotFoundException and error.message == "no stream"
    prefixed = b'{"__type": "com.amazonaws.kinesis#ExpiredIteratorException", "message": "x"}'
    assert type(error_from_response(400, prefixed, None)) is errors.ExpiredIteratorException
    too_large = error_from_response(413, b'{"__type": "SerializationException"}', None)
    assert type(too_large) is errors.RequestEntityTooLargeException
    serialization = error_from_response(
        400, b'{"__type":"SerializationException","Message":"m"}', None
    )
    assert type(serialization) is errors.SerializationException and serialization.message == "m"


def test_unknown_types_keep_their_name_and_retryability():
    kms = error_from_response(400, b'{"__type": "KMSThrottlingException"}', None)
    assert isinstance(kms, ServiceError) and kms.type_name == "KMSThrottlingException"
    assert is_retryable(kms)
    assert not is_retryable(error_from_response(400, b'{"__type":"KMSDisabledException"}', None))
    unavailable = error_from_response(503, b"<html>", "ServiceUnavailable")
    assert unavailable.type_name == "ServiceUnavailable" and is_retryable(unavailable)
    throttled = error_from_response(
        400, b'{"__type":"ProvisionedThroughputExceededException"}', None
    )
    assert is_retryable(throttled)
    assert not is_retryable(error_from_response(400, b'{"__type":"ValidationException"}', None))


async def test_requests_are_signed_so_a_server_with_credentials_accepts_them(
    tmp_path_factory,
):
    from tests.support.server import HeadwaterServer

    credentials = tmp_path_factory.mktemp("creds") / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIDGOOD\naws_secret_access_key = s3\n")
    server = HeadwaterServer(
        tmp_path_factory.mktemp("signed") / "data", "--credentials", str(credentials)
    ).start()
    try:
        good = KinesisClient(
            endpoint_url=server.endpoint, aws_access_key_id="AKIDGOOD", aws_secret_access_key="s3"
        )
        bad = KinesisClient(
            endpoint_url=server.endpoint,
            aws_access_key_id="AKIDGOOD",
            aws_secret_access_key="wrong",
        )
        async with good, bad:
            assert await good.call("ListStreams", {}) == {
                "StreamNames": [],
                "HasMoreStreams": False,
                "StreamSummaries": [],
            }
            with pytest.raises(errors.InvalidSignatureException):
                await bad.call("ListStreams", {})
    finally:
        server.stop()


def shard_event(sequence: str | None, records: list[dict], children: list | None = None) -> bytes:
    payload = {"Records": records, "MillisBehindLatest": 0}
    if sequence is not None:
        payload["ContinuationSequenceNumber"] = sequence
    if children is not None:
        payload["ChildShards"] = children
    return event("SubscribeToShardEvent", json.dumps(payload).encode(), "application/json")


def wire(sequence: str) -> dict:
    return {"SequenceNumber": sequence, "Data": "eA==", "PartitionKey": "k"}


async def chunks(data: bytes, size: int = 7):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_event_streams_parse_across_chunk_boundaries():
    stream = event("initial-response", b"{}", "application/json") + shard_event("5", [wire("5")])
    events = [e async for e in subscription_events(chunks(stream))]
    assert [(e.ContinuationSequenceNumber, e.Records[0].Data) for e in events] == [("5", b"x")]
    failing = exception("ResourceInUseException", b'{"message": "busy"}', "application/json")
    with pytest.raises(errors.ResourceInUseException):
        [e async for e in subscription_events(chunks(failing))]


class FakeFanOut:
    """Subscriptions scripted as event-stream bodies; records each starting position."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.positions: list[StartingPosition] = []

    @asynccontextmanager
    async def subscribe_to_shard(self, consumer_arn, shard_id, position):
        self.positions.append(position)
        yield chunks(self.bodies.pop(0))


async def test_fan_out_reader_resubscribes_from_the_continuation_until_shard_end():
    busy = exception("ResourceInUseException", b'{"message": "busy"}', "application/json")
    children = [
        {
            "ShardId": "c",
            "ParentShards": ["p"],
            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "1"},
        }
    ]
    fake = FakeFanOut(
        [
            shard_event("10", [wire("10")]),  # the service ends this subscription
            busy,  # the old subscription is still closing
            shard_event("11", [wire("11")]) + shard_event(None, [], children),
        ]
    )
    config = ConsumerConfig(backoff_base=0.001, backoff_cap=0.002)
    reader = FanOutReader(fake, "arn", "p", StartingPosition.trim_horizon(), config)
    first = await reader.next_batch()
    second = await reader.next_batch()
    last = await reader.next_batch()
    assert [r.SequenceNumber for r in first.records + second.records] == ["10", "11"]
    assert last.shard_end and [c.ShardId for c in last.child_shards] == ["c"]
    assert [(p.type, p.sequence_number) for p in fake.positions] == [
        ("TRIM_HORIZON", None),
        ("AFTER_SEQUENCE_NUMBER", "10"),
        ("AFTER_SEQUENCE_NUMBER", "10"),
    ]
    await reader.close()
