"""The Kinesis operations the producer and consumer use, as typed async methods.

A thin layer over ``Transport``: it names streams by name or ARN, pages through
ListShards, decodes answers into ``shapes`` and retries the read-only control calls on
throttling. Data calls (PutRecords, GetRecords) are not retried here: their callers know
better what to do with a partial failure or a throttled shard.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec

from headwater.client import shapes
from headwater.client.backoff import Backoff
from headwater.client.config import ClientConfig
from headwater.client.errors import is_retryable
from headwater.client.positions import StartingPosition
from headwater.client.transport import Transport
from headwater.errors import KinesisError, ResourceInUseException, ResourceNotFoundException

T = TypeVar("T")
CONTROL_ATTEMPTS = 6


def stream_fields(stream: str) -> dict[str, str]:
    """``StreamARN`` for an ARN, ``StreamName`` otherwise."""
    return {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}


class KinesisClient:
    """Async Kinesis API client; ``async with KinesisClient(endpoint_url=...) as client``."""

    def __init__(self, config: ClientConfig | None = None, **options: Any) -> None:
        self.config = config or ClientConfig(**options)
        self.transport = Transport(self.config)
        self._backoff = Backoff(base=0.05, cap=2.0)

    async def __aenter__(self) -> KinesisClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def call(self, operation: str, payload: Any) -> dict[str, Any]:
        """Any operation, answered as a plain dict (for operations without a method here)."""
        body = await self.transport.call(operation, payload)
        return msgspec.json.decode(body) if body else {}

    async def _typed(self, operation: str, payload: Any, shape: type[T]) -> T:
        body = await self.transport.call(operation, payload)
        return msgspec.json.decode(body or b"{}", type=shape)

    async def _control(self, operation: str, payload: Any, shape: type[T]) -> T:
        """A read-only call, retried with back-off while throttled or transiently failing."""
        for attempt in range(CONTROL_ATTEMPTS):
            try:
                return await self._typed(operation, payload, shape)
            except KinesisError as exc:
                if not is_retryable(exc) or attempt == CONTROL_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(self._backoff.delay(attempt))
        raise AssertionError("unreachable")

    # -- streams and shards --------------------------------------------------------------

    async def create_stream(self, stream: str, shard_count: int) -> None:
        await self.call("CreateStream", {"StreamName": stream, "ShardCount": shard_count})

    async def delete_stream(self, stream: str) -> None:
        await self.call("DeleteStream", {**stream_fields(stream), "EnforceConsumerDeletion": True})

    async def describe_stream_summary(self, stream: str) -> shapes.StreamDescriptionSummary:
        output = await self._control(
            "DescribeStreamSummary", stream_fields(stream), shapes.DescribeStreamSummaryOutput
        )
        return output.StreamDescriptionSummary

    async def wait_for_active(self, stream: str, timeout: float = 60.0) -> None:
        """Poll until the stream is ACTIVE (after CreateStream or a reshard)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                summary = await self.describe_stream_summary(stream)
                if summary.StreamStatus == "ACTIVE":
                    return
            except ResourceNotFoundException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {stream} not ACTIVE after {timeout} s")
            await asyncio.sleep(0.05)

    async def list_shards(self, stream: str) -> list[shapes.Shard]:
        """Every shard of the stream (open and closed), following NextToken."""
        shards: list[shapes.Shard] = []
        payload: dict[str, Any] = stream_fields(stream)
        while True:
            page = await self._control("ListShards", payload, shapes.ListShardsOutput)
            shards.extend(page.Shards)
            if not page.NextToken:
                return shards
            payload = {"NextToken": page.NextToken}

    # -- records -------------------------------------------------------------------------

    async def put_records(
        self, stream: str, entries: list[shapes.PutRecordsRequestEntry]
    ) -> shapes.PutRecordsOutput:
        key = "StreamARN" if stream.startswith("arn:") else "StreamName"
        request = shapes.PutRecordsRequest(Records=entries, **{key: stream})
        return await self._typed("PutRecords", request, shapes.PutRecordsOutput)

    async def put_record(
        self, stream: str, data: bytes, partition_key: str, explicit_hash_key: str | None = None
    ) -> dict[str, Any]:
        payload = {
            **stream_fields(stream),
            "Data": base64.b64encode(data).decode(),
            "PartitionKey": partition_key,
        }
        if explicit_hash_key is not None:
            payload["ExplicitHashKey"] = explicit_hash_key
        return await self.call("PutRecord", payload)

    async def get_shard_iterator(
        self, stream: str, shard_id: str, position: StartingPosition
    ) -> str:
        payload = {**stream_fields(stream), "ShardId": shard_id, **position.iterator_fields()}
        output = await self._control("GetShardIterator", payload, shapes.GetShardIteratorOutput)
        if output.ShardIterator is None:
            raise KinesisError("GetShardIterator returned no iterator")
        return output.ShardIterator

    async def get_records(self, iterator: str, limit: int | None = None) -> shapes.GetRecordsOutput:
        payload: dict[str, Any] = {"ShardIterator": iterator}
        if limit is not None:
            payload["Limit"] = limit
        return await self._typed("GetRecords", payload, shapes.GetRecordsOutput)

    # -- enhanced fan-out ----------------------------------------------------------------

    async def register_consumer(self, stream_arn: str, name: str) -> shapes.ConsumerDescription:
        """Register ``name`` on the stream (or find it registered) and wait until ACTIVE."""
        try:
            output = await self._typed(
                "RegisterStreamConsumer",
                {"StreamARN": stream_arn, "ConsumerName": name},
                shapes.RegisterStreamConsumerOutput,
            )
            consumer = output.Consumer
        except ResourceInUseException:
            consumer = await self.describe_consumer(stream_arn, name)
        deadline = time.monotonic() + 60.0
        while consumer.ConsumerStatus != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumer {name} not ACTIVE")
            await asyncio.sleep(0.1)
            consumer = await self.describe_consumer(stream_arn, name)
        return consumer

    async def describe_consumer(self, stream_arn: str, name: str) -> shapes.ConsumerDescription:
        output = await self._control(
            "DescribeStreamConsumer",
            {"StreamARN": stream_arn, "ConsumerName": name},
            shapes.DescribeStreamConsumerOutput,
        )
        return output.ConsumerDescription

    @asynccontextmanager
    async def subscribe_to_shard(
        self, consumer_arn: str, shard_id: str, position: StartingPosition
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The raw event-stream bytes of one subscription (``readers.eventstream`` parses them)."""
        payload = {
            "ConsumerARN": consumer_arn,
            "ShardId": shard_id,
            "StartingPosition": position.subscribe_fields(),
        }
        async with self.transport.stream("SubscribeToShard", payload) as response:
            yield response.aiter_bytes()
