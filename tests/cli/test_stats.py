"""``headwater stats``: per-shard counts and rates from reading the stream."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from tests.cli.conftest import read_all


def test_stats_once_counts_every_shard(cli, kinesis, make_stream) -> None:
    stream = make_stream(3)
    kinesis.put_records(
        StreamName=stream,
        Records=[{"Data": b"x" * (n % 50 + 1), "PartitionKey": f"k{n}"} for n in range(300)],
    )
    stored = read_all(kinesis, stream)
    expected = Counter(record.shard for record in stored)
    expected_bytes = Counter()
    for record in stored:
        expected_bytes[record.shard] += len(record.data)

    result = cli("stats", stream, "--once", "--from", "trim-horizon", "--interval", "0.2", "--json")
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert snapshot["stream"] == stream and snapshot["from"] == "TRIM_HORIZON"
    shards = {shard["shard"]: shard for shard in snapshot["shards"]}
    assert set(shards) == set(expected)
    for shard_id, count in expected.items():
        assert shards[shard_id]["records"] == count
        assert shards[shard_id]["bytes"] == expected_bytes[shard_id]
        assert shards[shard_id]["records_per_s"] > 0
        assert shards[shard_id]["millis_behind_latest"] == 0
    assert snapshot["records"] == 300
    assert snapshot["bytes"] == sum(len(r.data) for r in stored)

    table = cli("stats", stream, "--once", "--from", "trim-horizon", "--interval", "0.2")
    assert table.exit_code == 0, table.output
    assert "shardId-000000000002" in table.stdout
    total = next(line for line in table.stdout.splitlines() if "total" in line)
    assert "300" in total


def test_stats_measures_live_rates_from_latest(cli, kinesis, make_stream) -> None:
    """A producer writes while stats samples from LATEST: only records put after it started
    count, and they show as a rate."""
    stream = make_stream(1)
    stop = threading.Event()
    sent = Counter()

    def produce() -> None:
        deadline = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < deadline:
            kinesis.put_record(StreamName=stream, Data=b"0123456789", PartitionKey="k")
            sent["records"] += 1

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        result = cli("stats", stream, "--once", "--interval", "1", "--json")
    finally:
        stop.set()
        producer.join(timeout=10)
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    (shard,) = snapshot["shards"]
    assert 0 < shard["records"] <= sent["records"]
    assert shard["bytes"] == 10 * shard["records"]
    assert shard["records_per_s"] > 0
    assert shard["bytes_per_s"] == pytest.approx(10 * shard["records_per_s"], rel=1e-3)


def test_stats_follows_a_split(cli, kinesis, make_stream) -> None:
    stream = make_stream(1)
    kinesis.put_record(StreamName=stream, Data=b"parent", PartitionKey="k")
    kinesis.split_shard(
        StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    kinesis.put_record(StreamName=stream, Data=b"low", PartitionKey="k", ExplicitHashKey="1")
    result = cli(
        "stats", stream, "--from", "trim-horizon", "--duration", "0.6", "--interval", "0.2",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shards = {shard["shard"]: shard for shard in json.loads(result.stdout)["shards"]}
    assert shards["shardId-000000000000"]["state"] == "ended"
    assert shards["shardId-000000000000"]["records"] == 1
    assert shards["shardId-000000000001"]["records"] == 1
    assert shards["shardId-000000000002"]["records"] == 0

    table = cli("stats", stream, "--from", "trim-horizon", "--duration", "0.3")
    assert table.exit_code == 0, table.output
    assert table.stdout.count("total") == 1  # off a terminal, the live table prints once
    ended = next(line for line in table.stdout.splitlines() if "shardId-000000000000" in line)
    assert "ended" in ended
