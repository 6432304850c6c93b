"""Fixtures for the ML tests: client options for the session's real server, a stream maker."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

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
def make_stream(kinesis, stream_name: str) -> Callable[[int], str]:
    """Create the test's stream with N shards (boto3, so the readers are not testing themselves)."""

    def create(shards: int) -> str:
        kinesis.create_stream(StreamName=stream_name, ShardCount=shards)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=stream_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
        return stream_name

    return create


@pytest.fixture
def put_json(kinesis) -> Callable[[str, list[dict]], None]:
    """Put JSON objects with boto3 (partition key: the object's ``id``), all or fail."""

    def put(stream: str, objects: list[dict]) -> None:
        for i in range(0, len(objects), 500):
            chunk = objects[i : i + 500]
            answer = kinesis.put_records(
                StreamName=stream,
                Records=[
                    {"Data": json.dumps(o).encode(), "PartitionKey": str(o["id"])} for o in chunk
                ],
            )
            assert answer["FailedRecordCount"] == 0

    return put
