"""``headwater tail``: shards merged by arrival time, filters, start positions, resharding."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import subprocess
import sys
import threading
import time

from tests.cli.conftest import read_all
from tests.support.server import HeadwaterServer

HASH_SPACE = 2**128


def _hash_key(kinesis, stream: str, shard_id: str) -> str:
    shard = next(
        s for s in kinesis.list_shards(StreamName=stream)["Shards"] if s["ShardId"] == shard_id
    )
    return shard["HashKeyRange"]["StartingHashKey"]


def _jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_tail_merges_shards_by_arrival_time(cli, kinesis, make_stream, server) -> None:
    """Records put round-robin over 4 shards, 2 ms of server time apart: tail prints them in
    the order they arrived, not shard by shard."""
    stream = make_stream(4)
    shards = [f"shardId-{n:012d}" for n in range(4)]
    hash_keys = [_hash_key(kinesis, stream, shard) for shard in shards]
    sent = []
    for n in range(24):
        data = json.dumps({"n": n, "source_type": "iot" if n % 3 else "web"})
        kinesis.put_record(
            StreamName=stream, Data=data.encode(), PartitionKey=f"k{n}",
            ExplicitHashKey=hash_keys[n % 4],
        )  # fmt: skip
        sent.append(data)
        server.advance_clock(2)

    result = cli("tail", stream, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    lines = _jsonl(result.stdout)
    assert [json.dumps(line["data"], separators=(", ", ": ")) for line in lines] == sent
    assert [line["shard"] for line in lines] == [shards[n % 4] for n in range(24)]
    assert [line["partition_key"] for line in lines] == [f"k{n}" for n in range(24)]
    arrivals = [line["arrival"] for line in lines]
    assert arrivals == sorted(arrivals) and len(set(arrivals)) == 24

    text = cli("tail", stream, "--where", "source_type=web", "--limit", "3")
    assert text.exit_code == 0, text.output
    rows = text.stdout.splitlines()
    assert len(rows) == 3
    for row, n in zip(rows, (0, 3, 6), strict=True):
        arrival, shard, key, data = row.split("  ", 3)
        assert (shard, key, json.loads(data)["n"]) == (shards[n % 4], f"k{n}", n)
        assert arrival.endswith("Z")

    others = cli("tail", stream, "-w", "source_type!=web", "-w", "n=7", "--format", "data")
    assert others.stdout == sent[7] + "\n"


def test_tail_formats(cli, kinesis, make_stream) -> None:
    stream = make_stream(1)
    kinesis.put_record(StreamName=stream, Data=b'{"a": {"b": [1, 2]}}', PartitionKey="p")
    kinesis.put_record(StreamName=stream, Data=b"\xff\x00binary", PartitionKey="p")
    kinesis.put_record(StreamName=stream, Data=b"plain text", PartitionKey="p")

    pretty = cli("tail", stream, "--pretty", "--format", "data", "-n", "1")
    assert pretty.stdout == '{\n  "a": {\n    "b": [\n      1,\n      2\n    ]\n  }\n}\n'

    data = cli("tail", stream, "--format", "data")
    assert data.stdout.splitlines() == ['{"a": {"b": [1, 2]}}', "base64:/wBiaW5hcnk=", "plain text"]

    lines = _jsonl(cli("tail", stream, "--format", "jsonl").stdout)
    assert lines[0]["data"] == {"a": {"b": [1, 2]}}
    assert lines[1]["data_base64"] == "/wBiaW5hcnk=" and "data" not in lines[1]
    assert lines[2]["data"] == "plain text"

    nested = cli("tail", stream, "--where", "a.b.1=2", "--format", "data")
    assert nested.stdout == '{"a": {"b": [1, 2]}}\n'

    bad = cli("tail", stream, "--where", "novalue")
    assert bad.exit_code == 2 and "FIELD=VALUE" in bad.output
    bad_start = cli("tail", stream, "--from", "yesterday-ish")
    assert bad_start.exit_code == 2 and "trim-horizon" in bad_start.output


def test_tail_from_a_timestamp_and_latest(cli, kinesis, make_stream, server) -> None:
    stream = make_stream(2)
    for n in range(5):
        kinesis.put_record(StreamName=stream, Data=f"early-{n}".encode(), PartitionKey=str(n))
    server.advance_clock(1500)  # the later records arrive 1.5 s of server time later
    for n in range(5):
        kinesis.put_record(StreamName=stream, Data=f"late-{n}".encode(), PartitionKey=str(n))
    stored = read_all(kinesis, stream)
    first_late = min(r.arrival_ms for r in stored if r.data.startswith(b"late"))
    stamp = dt.datetime.fromtimestamp(first_late / 1000, dt.UTC).isoformat()

    result = cli("tail", stream, "--from", stamp, "--format", "data")
    assert result.exit_code == 0, result.output
    assert sorted(result.stdout.split()) == [f"late-{n}" for n in range(5)]

    epoch = cli("tail", stream, "--from", str(first_late / 1000), "--format", "data")
    assert sorted(epoch.stdout.split()) == [f"late-{n}" for n in range(5)]

    latest = cli("tail", stream, "--from", "latest")
    assert latest.exit_code == 0 and latest.stdout == ""


def test_tail_reads_parents_before_children_after_split_and_merge(
    cli, kinesis, make_stream, server
) -> None:
    stream = make_stream(1)
    middle = str(HASH_SPACE // 2)
    low, high = "0", str(HASH_SPACE - 1)

    def put(label: str, hash_key: str) -> None:
        kinesis.put_record(
            StreamName=stream, Data=label.encode(), PartitionKey="k", ExplicitHashKey=hash_key
        )
        server.advance_clock(2)  # distinct arrival times across shards

    put("a0", low)
    put("a1", high)
    kinesis.split_shard(
        StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=middle
    )
    put("b0", low)
    put("b1", high)
    kinesis.merge_shards(
        StreamName=stream,
        ShardToMerge="shardId-000000000001",
        AdjacentShardToMerge="shardId-000000000002",
    )
    put("c0", low)

    result = cli("tail", stream, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    lines = _jsonl(result.stdout)
    assert [line["data"] for line in lines] == ["a0", "a1", "b0", "b1", "c0"]
    assert [line["shard"][-1] for line in lines] == ["0", "0", "1", "2", "3"]


def _reader(pipe, lines: queue.Queue) -> None:
    for line in iter(pipe.readline, ""):
        lines.put(line)
    lines.put(None)


def test_tail_follow_from_latest_continues_into_split_children(
    kinesis, make_stream, server: HeadwaterServer
) -> None:
    """``tail -f`` in its own process: it reports when it is reading; records put after that
    (before and after a split of the only shard) all come out, parent first."""
    stream = make_stream(1)
    kinesis.put_record(StreamName=stream, Data=b"before", PartitionKey="k")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "headwater", "tail", stream, "--follow", "--format", "jsonl",
            "--limit", "6", "--duration", "30", "--poll-interval", "0.1",
            "--endpoint-url", server.endpoint,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        errors: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(process.stderr, errors), daemon=True).start()
        status = errors.get(timeout=20)
        assert status is not None and status.startswith(f"following {stream}: 1 shard from LATEST")

        for n in range(3):
            kinesis.put_record(StreamName=stream, Data=f"parent-{n}".encode(), PartitionKey="k")
        kinesis.split_shard(
            StreamName=stream,
            ShardToSplit="shardId-000000000000",
            NewStartingHashKey=str(HASH_SPACE // 2),
        )
        kinesis.get_waiter("stream_exists").wait(
            StreamName=stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
        for n, hash_key in enumerate(("1", str(HASH_SPACE - 1), "2")):
            kinesis.put_record(
                StreamName=stream, Data=f"child-{n}".encode(), PartitionKey="k",
                ExplicitHashKey=hash_key,
            )  # fmt: skip
            server.advance_clock(2)  # distinct arrival times across the two children
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    lines = _jsonl(out)
    assert [line["data"] for line in lines] == [
        "parent-0", "parent-1", "parent-2", "child-0", "child-1", "child-2",
    ]  # fmt: skip
    assert [line["shard"][-1] for line in lines] == ["0", "0", "0", "1", "2", "1"]


def test_tail_follow_stops_after_duration(cli, make_stream) -> None:
    stream = make_stream(2)
    started = time.monotonic()
    result = cli("tail", stream, "-f", "--duration", "0.5", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    assert 0.4 < time.monotonic() - started < 10
