"""Fixtures for the command-line tests: the CLI run in process against the session's server."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner, Result

from headwater.cli.main import app
from tests.support.server import HeadwaterServer

_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "HEADWATER_DEBUG",
)


@pytest.fixture(autouse=True)
def isolated_aws_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: HeadwaterServer
) -> None:
    """No credentials or config from the machine; no instance-metadata probes; the CLI's
    default endpoint is the session's server (through HEADWATER_ENDPOINT)."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HEADWATER_ENDPOINT", server.endpoint)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run ``headwater ARGS...`` in process; exceptions propagate (a traceback fails)."""
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def make_stream(kinesis, stream_name: str) -> Callable[[int], str]:
    """Create the test's stream with N shards through boto3 (not through the CLI)."""

    def create(shards: int) -> str:
        kinesis.create_stream(StreamName=stream_name, ShardCount=shards)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=stream_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
        return stream_name

    return create


@dataclass(frozen=True)
class Stored:
    shard: str
    sequence: str
    key: str
    data: bytes
    arrival_ms: int


def read_all(kinesis, stream: str) -> list[Stored]:
    """Every record of every shard (boto3), parents before children."""
    records = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = get_records(kinesis, iterator)
            for record in response["Records"]:
                records.append(
                    Stored(
                        shard["ShardId"],
                        record["SequenceNumber"],
                        record["PartitionKey"],
                        record["Data"],
                        round(record["ApproximateArrivalTimestamp"].timestamp() * 1000),
                    )
                )
            if response.get("MillisBehindLatest") == 0 and not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return records


def get_records(kinesis, iterator: str) -> dict:
    """GetRecords, waiting out the shard's 5 reads per second (the CLI may have used them)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return kinesis.get_records(ShardIterator=iterator)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code != "ProvisionedThroughputExceededException" or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
