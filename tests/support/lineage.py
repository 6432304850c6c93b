"""Helpers for tests of resharding: errors, shard listings and reading a stream in lineage order.

A consumer that must keep per-key order across splits and merges reads every shard to its end
before any of its children (the KCL's rule). ``read_in_lineage_order`` does exactly that from
ListShards and each closed shard's ChildShards, so tests can check "every record once, in
per-key order" the way a real application would see it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = "us-east-1"
HASH_KEY_MAX = 2**128 - 1

Kinesis = Any  # a boto3 Kinesis client


def arn_of(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def even_ranges(count: int) -> list[tuple[int, int]]:
    """AWS' even split of the 128-bit space; the last range absorbs the remainder."""
    width = 2**128 // count
    ranges = [(i * width, (i + 1) * width - 1) for i in range(count)]
    ranges[-1] = (ranges[-1][0], HASH_KEY_MAX)
    return ranges


def expect_error(
    call: Callable[..., Any], code: str, message: str | None = None, **params: Any
) -> str:
    """Call and require an HTTP 400 with this error code (and exact message); returns it."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if message is not None:
        actual = response["Error"].get("Message")
        assert actual == message, f"message {actual!r}, expected {message!r}"
    return response["Error"].get("Message", "")


def wait_active(kinesis: Kinesis, name: str, timeout_s: float = 15.0) -> dict:
    """Poll DescribeStreamSummary until the stream is ACTIVE (bounded); returns the summary."""
    deadline = time.monotonic() + timeout_s
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return summary
        if time.monotonic() > deadline:
            raise TimeoutError(f"stream {name} stayed {summary['StreamStatus']}")
        time.sleep(0.02)


def create_stream(kinesis: Kinesis, name: str, shards: int) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_active(kinesis, name)


def list_shards(kinesis: Kinesis, name: str, **params: Any) -> list[dict]:
    """Every shard ListShards returns for ``name`` (following NextToken, bounded)."""
    response = kinesis.list_shards(StreamName=name, **params)
    shards = list(response["Shards"])
    for _ in range(100):
        token = response.get("NextToken")
        if not token:
            return shards
        response = kinesis.list_shards(NextToken=token)
        shards.extend(response["Shards"])
    raise AssertionError("ListShards kept returning NextToken")


def open_shards(shards: list[dict]) -> list[dict]:
    """Open shards (no EndingSequenceNumber), by starting hash key."""
    found = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    return sorted(found, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))


def ranges_of(shards: list[dict]) -> list[tuple[int, int]]:
    return [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    ]


def parents_of(shard: dict) -> list[str]:
    return [p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p]


def read_shard_to_end(
    kinesis: Kinesis, name: str, shard: str, *, limit: int = 10_000, max_calls: int = 200
) -> tuple[list[dict], list[dict] | None]:
    """All records of one shard from TRIM_HORIZON.

    A closed shard is read until GetRecords answers without NextShardIterator; then its
    ChildShards are returned. An open shard is read until it is caught up (an empty answer
    with MillisBehindLatest 0); then ``None`` stands for "no children yet".
    """
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict] = []
    for _ in range(max_calls):
        response = kinesis.get_records(ShardIterator=iterator, Limit=limit)
        records.extend(response["Records"])
        if not response.get("NextShardIterator"):
            assert "ChildShards" in response, f"{shard} ended without ChildShards"
            return records, response["ChildShards"]
        if not response["Records"] and response["MillisBehindLatest"] == 0:
            assert not response.get("ChildShards"), "ChildShards before the shard's end"
            return records, None
        iterator = response["NextShardIterator"]
    raise AssertionError(f"{shard} was not read to its end in {max_calls} calls")


def read_in_lineage_order(kinesis: Kinesis, name: str) -> list[tuple[str, dict]]:
    """(shard id, record) for every record, reading each shard before its children.

    Starts from the shards ListShards shows without a listed parent; a child is read only
    once all its parents were read to their end, and the children announced by each closed
    shard's ChildShards must match the lineage ListShards reports.
    """
    shards = {s["ShardId"]: s for s in list_shards(kinesis, name)}
    done: set[str] = set()
    seen: list[tuple[str, dict]] = []
    pending = [sid for sid, s in shards.items() if not set(parents_of(s)) & shards.keys()]
    for _ in range(len(shards) + 1):
        if not pending:
            break
        ready = [sid for sid in pending if set(parents_of(shards[sid])) & shards.keys() <= done]
        assert ready, f"no shard is ready to read among {pending}"
        shard = ready[0]
        pending.remove(shard)
        records, children = read_shard_to_end(kinesis, name, shard)
        seen.extend((shard, record) for record in records)
        done.add(shard)
        if children is None:
            continue
        listed_children = sorted(s for s, v in shards.items() if shard in parents_of(v))
        assert sorted(c["ShardId"] for c in children) == listed_children
        for child in children:
            assert shard in child["ParentShards"]
            assert child["ParentShards"] == parents_of(shards[child["ShardId"]])
            if child["ShardId"] not in done and child["ShardId"] not in pending:
                pending.append(child["ShardId"])
    assert done == set(shards), f"shards never reached: {set(shards) - done}"
    return seen
