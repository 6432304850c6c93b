"""Stream helpers for the analytics integration tests (boto3 against the test server)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.waiting import poll_until


def create_stream(kinesis, name: str, shards: int = 1) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 10
    while (
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        != "ACTIVE"
    ):
        assert time.monotonic() < deadline, f"{name} not ACTIVE"
        time.sleep(0.05)


def put_json(kinesis, stream: str, rows: list[dict[str, Any]], key: str = "key") -> None:
    for start in range(0, len(rows), 500):
        entries = [
            {"Data": json.dumps(row).encode(), "PartitionKey": str(row[key])}
            for row in rows[start : start + 500]
        ]
        assert kinesis.put_records(StreamName=stream, Records=entries)["FailedRecordCount"] == 0


def put_to_every_shard(kinesis, stream: str, row: dict[str, Any]) -> None:
    """The same record once per shard (a watermark only moves when every shard's does)."""
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        kinesis.put_record(
            StreamName=stream,
            Data=json.dumps(row).encode(),
            PartitionKey="flush",
            ExplicitHashKey=shard["HashKeyRange"]["StartingHashKey"],
        )


def read_stream(kinesis, stream: str) -> list[tuple[str, dict[str, Any]]]:
    """Every record of every shard: (partition key, JSON data)."""
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            out.extend((r["PartitionKey"], json.loads(r["Data"])) for r in page["Records"])
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    return out


def _attempt(kinesis, stream: str) -> tuple[list[tuple[str, dict[str, Any]]]] | None:
    try:
        return (read_stream(kinesis, stream),)
    except kinesis.exceptions.ProvisionedThroughputExceededException:
        return None  # 5 reads per second per shard: try again


def count_records(kinesis, stream: str) -> int:
    """How many records the stream holds; 0 while reads are throttled (poll again)."""
    found = _attempt(kinesis, stream)
    return len(found[0]) if found else 0


def all_records(kinesis, stream: str) -> list[tuple[str, dict[str, Any]]]:
    """``read_stream``, waiting out throttling."""
    return poll_until(lambda: _attempt(kinesis, stream), 20, f"reading {stream}", 0.3)[0]
