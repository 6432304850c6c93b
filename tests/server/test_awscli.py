"""The AWS CLI (v1, from PyPI) against the real server, for every core operation.

People script Kinesis with ``aws kinesis ...``; these tests run the real CLI in a subprocess
with no user configuration, so they see exactly what such a script sees: exit codes, JSON on
stdout, ``An error occurred (Code) when calling the Op operation: message`` on stderr.

Blobs: CLI v1 takes ``--data TEXT`` as the record itself (its UTF-8 bytes), base64-encodes them
for the JSON protocol and prints ``Data`` back base64-encoded; ``fileb://`` passes raw bytes.
(CLI v2 instead expects base64 unless ``--cli-binary-format raw-in-base64-out``.) So a round
trip is asserted as ``Data == base64(bytes put)``, and the bytes are checked again with boto3.
Timestamps: CLI v1 sends ``--timestamp`` as whole epoch seconds.

CLI startup is ~0.5 s, so each test runs several operations on one stream.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import HeadwaterServer

ACCOUNT = "000000000000"
REGION = "us-east-1"
CLI_TIMEOUT_S = 60
MAX_RECORD_BYTES = 1_048_576


class AwsCli:
    """Runs ``python -m awscli kinesis ...`` against one endpoint with a clean environment."""

    def __init__(self, endpoint: str, home: Path) -> None:
        self.endpoint = endpoint
        empty = home / "empty-aws-file"
        empty.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID="AKIDTEST",
            AWS_SECRET_ACCESS_KEY="secret",
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(empty),
            AWS_SHARED_CREDENTIALS_FILE=str(empty),
            AWS_MAX_ATTEMPTS="1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
            HOME=str(home),
        )
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "awscli",
            "kinesis",
            *args,
            "--endpoint-url",
            self.endpoint,
            "--output",
            "json",
        ]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
        )

    def ok(self, *args: str) -> dict[str, Any]:
        """Run a command that must succeed; its JSON output ({} when it prints nothing)."""
        done = self.run(*args)
        assert done.returncode == 0, f"{args[0]} failed ({done.returncode}): {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def fails(self, *args: str, code: str, operation: str, message: str | None = None) -> str:
        """Run a command that must fail with ``code``; returns stderr."""
        done = self.run(*args)
        # CLI v1 exits 255 on a service error, v2 254.
        assert done.returncode in (254, 255), (done.returncode, done.stdout, done.stderr)
        assert done.stdout.strip() == ""
        prefix = f"An error occurred ({code}) when calling the {operation} operation: "
        assert prefix in done.stderr, done.stderr
        if message is not None:
            assert done.stderr.strip().endswith(prefix + message), done.stderr
        return done.stderr


@pytest.fixture(scope="module")
def aws(server: HeadwaterServer, tmp_path_factory: pytest.TempPathFactory) -> AwsCli:
    return AwsCli(server.endpoint, tmp_path_factory.mktemp("awscli-home"))


def arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_stream_lifecycle(aws: AwsCli, stream_name: str) -> None:
    """create → describe / summary / list-streams / list-shards → delete → gone."""
    assert aws.ok("create-stream", "--stream-name", stream_name, "--shard-count", "2") == {}

    description = aws.ok("describe-stream", "--stream-name", stream_name)["StreamDescription"]
    assert description["StreamName"] == stream_name
    assert description["StreamARN"] == arn(stream_name)
    assert description["StreamStatus"] == "ACTIVE"
    assert description["RetentionPeriodHours"] == 24
    assert description["EncryptionType"] == "NONE"
    assert description["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    # HasMoreShards is absent: the CLI pages DescribeStream itself and drops that key.
    assert isinstance(description["StreamCreationTimestamp"], int | float)
    shards = description["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]
    half = 2**127
    assert shards[0]["HashKeyRange"] == {
        "StartingHashKey": "0",
        "EndingHashKey": str(half - 1),
    }
    assert shards[1]["HashKeyRange"] == {
        "StartingHashKey": str(half),
        "EndingHashKey": str(2**128 - 1),
    }
    for shard in shards:
        assert set(shard["SequenceNumberRange"]) == {"StartingSequenceNumber"}
        assert "ParentShardId" not in shard

    summary = aws.ok("describe-stream-summary", "--stream-name", stream_name)
    summary = summary["StreamDescriptionSummary"]
    assert summary["StreamName"] == stream_name
    assert summary["StreamARN"] == arn(stream_name)
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2
    assert summary["RetentionPeriodHours"] == 24
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert summary["StreamCreationTimestamp"] == description["StreamCreationTimestamp"]

    # The CLI pages through ListStreams itself; the session server holds other tests' streams.
    listed = aws.ok("list-streams")
    assert stream_name in listed["StreamNames"]
    assert listed["StreamNames"] == sorted(listed["StreamNames"])
    (mine,) = [s for s in listed["StreamSummaries"] if s["StreamName"] == stream_name]
    assert mine["StreamARN"] == arn(stream_name)
    assert mine["StreamStatus"] == "ACTIVE"
    assert mine["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}

    listed_shards = aws.ok("list-shards", "--stream-name", stream_name)
    assert listed_shards["Shards"] == shards
    assert "NextToken" not in listed_shards

    assert aws.ok("delete-stream", "--stream-name", stream_name) == {}
    aws.fails(
        "describe-stream",
        "--stream-name",
        stream_name,
        code="ResourceNotFoundException",
        operation="DescribeStream",
        message=f"Stream {stream_name} under account {ACCOUNT} not found.",
    )


def test_records_round_trip_exactly(aws: AwsCli, kinesis, stream_name: str, tmp_path: Path) -> None:
    """Text, binary (fileb://) and put-records data come back byte for byte, in order."""
    started = time.time()
    aws.ok("create-stream", "--stream-name", stream_name, "--shard-count", "1")

    text = 'héllo wörld ✓ {"json": true}'
    first = aws.ok(
        "put-record", "--stream-name", stream_name, "--partition-key", "pk-1", "--data", text
    )
    assert first["ShardId"] == "shardId-000000000000"
    assert "EncryptionType" not in first

    binary = bytes(range(256))
    blob_file = tmp_path / "blob.bin"
    blob_file.write_bytes(binary)
    second = aws.ok(
        "put-record",
        "--stream-name",
        stream_name,
        "--partition-key",
        "pk-2",
        "--data",
        f"fileb://{blob_file}",
    )

    # In a JSON document too the CLI takes Data as the record's text, not as base64.
    batch = [
        {"Data": "aGVsbG8=", "PartitionKey": "pk-3"},
        {"Data": "x", "PartitionKey": "pk-4"},
    ]
    records_file = tmp_path / "records.json"
    records_file.write_text(json.dumps(batch))
    put = aws.ok("put-records", "--stream-name", stream_name, "--records", f"file://{records_file}")
    assert put["FailedRecordCount"] == 0
    assert [r["ShardId"] for r in put["Records"]] == ["shardId-000000000000"] * 2

    sent = [text.encode(), binary, b"aGVsbG8=", b"x"]
    sequence_numbers = [
        first["SequenceNumber"],
        second["SequenceNumber"],
        *(r["SequenceNumber"] for r in put["Records"]),
    ]
    assert [int(n) for n in sequence_numbers] == sorted(int(n) for n in sequence_numbers)
    assert len(set(sequence_numbers)) == 4

    iterator = aws.ok(
        "get-shard-iterator",
        "--stream-name",
        stream_name,
        "--shard-id",
        "shardId-000000000000",
        "--shard-iterator-type",
        "TRIM_HORIZON",
    )["ShardIterator"]
    got = aws.ok("get-records", "--shard-iterator", iterator)
    records = got["Records"]
    assert [r["Data"] for r in records] == [b64(d) for d in sent]
    assert [r["PartitionKey"] for r in records] == ["pk-1", "pk-2", "pk-3", "pk-4"]
    assert [r["SequenceNumber"] for r in records] == sequence_numbers
    assert got["MillisBehindLatest"] == 0
    assert got["NextShardIterator"]
    arrivals = [r["ApproximateArrivalTimestamp"] for r in records]
    # The server's clock may run ahead of ours (--dev-clock), never behind.
    assert all(a >= started - 1 for a in arrivals)
    assert arrivals == sorted(arrivals)
    # Separate CLI runs are ~0.5 s apart, so the text and binary records have distinct times.
    assert arrivals[0] < arrivals[1]

    # boto3 decodes the same stored bytes independently of the CLI's base64 printing.
    boto_iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=boto_iterator)["Records"]] == sent

    # AT_TIMESTAMP: CLI v1 sends --timestamp truncated to whole epoch seconds (botocore's
    # legacy precision), so the iterator starts at the first record arriving in or after the
    # binary record's second: the text record too when both fell in the same second.
    second = int(arrivals[1])
    at_time = aws.ok(
        "get-shard-iterator",
        "--stream-name",
        stream_name,
        "--shard-id",
        "shardId-000000000000",
        "--shard-iterator-type",
        "AT_TIMESTAMP",
        "--timestamp",
        str(second),
    )["ShardIterator"]
    later = aws.ok("get-records", "--shard-iterator", at_time, "--limit", "2")
    start = next(i for i, arrival in enumerate(arrivals) if round(arrival * 1000) >= second * 1000)
    assert start in (0, 1)
    assert [r["SequenceNumber"] for r in later["Records"]] == sequence_numbers[start : start + 2]
    assert [r["Data"] for r in later["Records"]] == [b64(d) for d in sent[start : start + 2]]
    assert later["MillisBehindLatest"] >= 0


def test_retention_period_changes_and_limits(aws: AwsCli, stream_name: str) -> None:
    """Increase, decrease, and AWS' errors for values out of range or in the wrong direction."""
    aws.ok("create-stream", "--stream-name", stream_name, "--shard-count", "1")
    assert (
        aws.ok(
            "increase-stream-retention-period",
            "--stream-name",
            stream_name,
            "--retention-period-hours",
            "72",
        )
        == {}
    )
    aws.ok(
        "decrease-stream-retention-period",
        "--stream-name",
        stream_name,
        "--retention-period-hours",
        "48",
    )
    summary = aws.ok("describe-stream-summary", "--stream-name", stream_name)
    assert summary["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48

    aws.fails(
        "decrease-stream-retention-period",
        "--stream-name",
        stream_name,
        "--retention-period-hours",
        "12",
        code="InvalidArgumentException",
        operation="DecreaseStreamRetentionPeriod",
        message="Minimum allowed retention period is 24 hours. "
        "Requested retention period (12 hours) is too short.",
    )
    aws.fails(
        "increase-stream-retention-period",
        "--stream-name",
        stream_name,
        "--retention-period-hours",
        "9000",
        code="InvalidArgumentException",
        operation="IncreaseStreamRetentionPeriod",
        message="Maximum allowed retention period is 8760 hours. "
        "Requested retention period (9000 hours) is too long.",
    )
    aws.fails(
        "increase-stream-retention-period",
        "--stream-name",
        stream_name,
        "--retention-period-hours",
        "24",
        code="InvalidArgumentException",
        operation="IncreaseStreamRetentionPeriod",
        message=f"Requested retention period (24 hours) for stream {stream_name} can not be "
        "shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.",
    )


def test_tags_monitoring_and_limits(aws: AwsCli, kinesis, stream_name: str) -> None:
    """Tags by stream name and by ARN are one set; monitoring and limits answer as on AWS."""
    aws.ok("create-stream", "--stream-name", stream_name, "--shard-count", "1")
    stream_arn = arn(stream_name)

    assert (
        aws.ok("add-tags-to-stream", "--stream-name", stream_name, "--tags", "team=ml,env=dev")
        == {}
    )
    assert aws.ok("tag-resource", "--resource-arn", stream_arn, "--tags", "owner=alice") == {}
    by_name = aws.ok("list-tags-for-stream", "--stream-name", stream_name)
    assert by_name == {
        "Tags": [
            {"Key": "env", "Value": "dev"},
            {"Key": "owner", "Value": "alice"},
            {"Key": "team", "Value": "ml"},
        ],
        "HasMoreTags": False,
    }
    aws.ok("remove-tags-from-stream", "--stream-name", stream_name, "--tag-keys", "env")
    aws.ok("untag-resource", "--resource-arn", stream_arn, "--tag-keys", "owner")
    by_arn = aws.ok("list-tags-for-resource", "--resource-arn", stream_arn)
    assert by_arn == {"Tags": [{"Key": "team", "Value": "ml"}]}

    enabled = aws.ok(
        "enable-enhanced-monitoring",
        "--stream-name",
        stream_name,
        "--shard-level-metrics",
        "IncomingBytes",
        "OutgoingRecords",
    )
    assert enabled["StreamName"] == stream_name
    assert enabled["StreamARN"] == stream_arn
    assert enabled["CurrentShardLevelMetrics"] == []
    assert set(enabled["DesiredShardLevelMetrics"]) == {"IncomingBytes", "OutgoingRecords"}
    (monitoring,) = kinesis.describe_stream_summary(StreamName=stream_name)[
        "StreamDescriptionSummary"
    ]["EnhancedMonitoring"]
    assert set(monitoring["ShardLevelMetrics"]) == {"IncomingBytes", "OutgoingRecords"}

    disabled = aws.ok(
        "disable-enhanced-monitoring",
        "--stream-name",
        stream_name,
        "--shard-level-metrics",
        "ALL",
    )
    assert set(disabled["CurrentShardLevelMetrics"]) == {"IncomingBytes", "OutgoingRecords"}
    assert disabled["DesiredShardLevelMetrics"] == []

    limits = aws.ok("describe-limits")
    assert set(limits) == {
        "ShardLimit",
        "OpenShardCount",
        "OnDemandStreamCount",
        "OnDemandStreamCountLimit",
    }
    assert limits["ShardLimit"] == 20000
    assert limits["OnDemandStreamCountLimit"] == 50
    assert 1 <= limits["OpenShardCount"] <= limits["ShardLimit"]
    assert all(isinstance(v, int) for v in limits.values())


def test_errors_reach_the_cli_with_aws_codes(aws: AwsCli, stream_name: str) -> None:
    """Missing stream and an invalid name: non-zero exit, AWS error code and text on stderr."""
    aws.fails(
        "put-record",
        "--stream-name",
        stream_name,
        "--partition-key",
        "k",
        "--data",
        "x",
        code="ResourceNotFoundException",
        operation="PutRecord",
        message=f"Stream {stream_name} under account {ACCOUNT} not found.",
    )
    aws.fails(
        "create-stream",
        "--stream-name",
        "bad name!",
        "--shard-count",
        "1",
        code="ValidationException",
        operation="CreateStream",
        message="1 validation error detected: Value 'bad name!' at 'streamName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    )


def test_record_over_1_mib_is_a_validation_error(
    aws: AwsCli, stream_name: str, tmp_path: Path
) -> None:
    """Not retryable throttling: a record that can never fit must fail validation."""
    aws.ok("create-stream", "--stream-name", stream_name, "--shard-count", "1")
    too_big = tmp_path / "too-big.bin"
    too_big.write_bytes(b"a" * (MAX_RECORD_BYTES + 1))
    aws.fails(
        "put-record",
        "--stream-name",
        stream_name,
        "--partition-key",
        "k",
        "--data",
        f"fileb://{too_big}",
        code="ValidationException",
        operation="PutRecord",
        message="1 validation error detected: Value at 'data' failed to satisfy constraint: "
        f"Member must have length less than or equal to {MAX_RECORD_BYTES}",
    )


def test_put_records_over_size_limits(aws: AwsCli, stream_name: str, tmp_path: Path) -> None:
    """Over 5 MiB in total: InvalidArgumentException; one record over 1 MiB: the whole
    request is a ValidationException naming it (1-based), not a per-record throttle."""
    aws.ok("create-stream", "--stream-name", stream_name, "--shard-count", "1")
    # Every record is fine alone; together they pass 5 MiB (5,242,880 bytes).
    sizes = [1_000_000] * 5 + [300_000]
    too_much = tmp_path / "too-much.json"
    too_much.write_text(json.dumps([{"Data": "b" * n, "PartitionKey": "k"} for n in sizes]))
    aws.fails(
        "put-records",
        "--stream-name",
        stream_name,
        "--records",
        f"file://{too_much}",
        code="InvalidArgumentException",
        operation="PutRecords",
        message="Records size exceeds 5 MB limit",
    )

    one_too_big = tmp_path / "one-too-big.json"
    one_too_big.write_text(
        json.dumps(
            [
                {"Data": "fine", "PartitionKey": "k"},
                {"Data": "a" * (MAX_RECORD_BYTES + 1), "PartitionKey": "k"},
            ]
        )
    )
    aws.fails(
        "put-records",
        "--stream-name",
        stream_name,
        "--records",
        f"file://{one_too_big}",
        code="ValidationException",
        operation="PutRecords",
        message="1 validation error detected: Value at 'records.2.member.data' failed to "
        f"satisfy constraint: Member must have length less than or equal to {MAX_RECORD_BYTES}",
    )


def test_iterator_expires_after_five_minutes(
    aws: AwsCli, server: HeadwaterServer, stream_name: str
) -> None:
    """An iterator older than 300,000 ms gives AWS' ExpiredIteratorException (server clock)."""
    aws.ok("create-stream", "--stream-name", stream_name, "--shard-count", "1")
    iterator = aws.ok(
        "get-shard-iterator",
        "--stream-name",
        stream_name,
        "--shard-id",
        "shardId-000000000000",
        "--shard-iterator-type",
        "LATEST",
    )["ShardIterator"]
    server.advance_clock(300_000 + 1_000)
    stderr = aws.fails(
        "get-records",
        "--shard-iterator",
        iterator,
        code="ExpiredIteratorException",
        operation="GetRecords",
    )
    java_date = r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}"
    assert re.search(
        rf": Iterator expired\. The iterator was created at time {java_date} while right now "
        rf"it is {java_date} which is further in the future than the tolerated delay of "
        r"300000 milliseconds\.$",
        stderr.strip(),
    ), stderr
