"""Fixtures for the client tests: connection options for the session's real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from headwater.client.api import KinesisClient
from tests.support.server import HeadwaterServer


@pytest.fixture
def client_options(server: HeadwaterServer) -> dict[str, str]:
    return {
        "endpoint_url": server.endpoint,
        "region": "us-east-1",
        "aws_access_key_id": "AKIDTEST",
        "aws_secret_access_key": "secret",
    }


@pytest.fixture
async def client(client_options: dict[str, str]) -> AsyncIterator[KinesisClient]:
    async with KinesisClient(**client_options) as kinesis:
        yield kinesis


@pytest.fixture
def make_stream(kinesis, stream_name: str) -> Callable[[int], str]:
    """Create the test's stream with N shards (boto3, so the client is not testing itself)."""

    def create(shards: int) -> str:
        kinesis.create_stream(StreamName=stream_name, ShardCount=shards)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=stream_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
        return stream_name

    return create
