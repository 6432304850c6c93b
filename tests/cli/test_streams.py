"""``headwater streams create|list|describe|delete|reshard|mode`` against the real server."""

from __future__ import annotations

import json

import pytest


def test_create_list_describe_delete(cli, kinesis, stream_name: str) -> None:
    created = cli(
        "streams", "create", stream_name, "--shards", "3", "--retention-hours", "48",
        "--tag", "team=ml",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert f"created stream {stream_name}: 3 shards, PROVISIONED, retention 48 h" in created.stdout
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    assert (summary["StreamStatus"], summary["OpenShardCount"]) == ("ACTIVE", 3)
    assert summary["RetentionPeriodHours"] == 48
    assert kinesis.list_tags_for_stream(StreamName=stream_name)["Tags"] == [
        {"Key": "team", "Value": "ml"}
    ]

    listed = cli("streams", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[stream_name]["status"] == "ACTIVE"
    assert rows[stream_name]["mode"] == "PROVISIONED"

    long = cli("streams", "list", "--long", "--json")
    row = next(row for row in json.loads(long.stdout) if row["name"] == stream_name)
    assert (row["open_shards"], row["retention_hours"], row["consumers"]) == (3, 48, 0)

    table = cli("streams", "list", "-l")
    assert table.exit_code == 0, table.output
    line = next(line for line in table.stdout.splitlines() if stream_name in line)
    assert "ACTIVE" in line and "PROVISIONED" in line and "48 h" in line

    described = cli("streams", "describe", stream_name, "--json")
    assert described.exit_code == 0, described.output
    document = json.loads(described.stdout)
    assert document["stream"]["StreamName"] == stream_name
    assert [shard["ShardId"] for shard in document["shards"]] == [
        f"shardId-{n:012d}" for n in range(3)
    ]

    text = cli("streams", "describe", stream_name)
    assert text.exit_code == 0, text.output
    assert "shardId-000000000002" in text.stdout and "66.7% to 100.0%" in text.stdout

    deleted = cli("streams", "delete", stream_name, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert f"deleted stream {stream_name}" in deleted.stdout
    assert stream_name not in kinesis.list_streams()["StreamNames"]


def test_create_on_demand_and_switch_modes(cli, kinesis, stream_name: str) -> None:
    created = cli("streams", "create", stream_name, "--on-demand")
    assert created.exit_code == 0, created.output
    assert "ON_DEMAND" in created.stdout

    shown = cli("streams", "mode", stream_name)
    assert shown.stdout.strip() == f"{stream_name}: ON_DEMAND"

    switched = cli("streams", "mode", stream_name, "PROVISIONED")
    assert switched.exit_code == 0, switched.output
    assert "ON_DEMAND → PROVISIONED" in switched.stdout
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "PROVISIONED"

    again = cli("streams", "mode", stream_name, "provisioned")
    assert again.exit_code == 0 and "already PROVISIONED" in again.stdout

    back = cli("streams", "mode", stream_name, "on_demand")
    assert back.exit_code == 0, back.output
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"

    bad = cli("streams", "mode", stream_name, "turbo")
    assert bad.exit_code == 2 and "PROVISIONED or ON_DEMAND" in bad.output


def _open_shards(kinesis, stream: str) -> list[dict]:
    return [
        shard
        for shard in kinesis.list_shards(StreamName=stream)["Shards"]
        if "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    ]


def test_reshard_split_merge_and_target(cli, kinesis, make_stream) -> None:
    stream = make_stream(2)

    split = cli("streams", "reshard", stream, "--split", "0")
    assert split.exit_code == 0, split.output
    assert "open shards: 2 → 3" in split.stdout
    assert "new shards: shardId-000000000002, shardId-000000000003" in split.stdout
    children = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=stream)["Shards"]}
    middle = str(2**126)  # the middle of shard 0's half of the key space
    assert children["shardId-000000000003"]["HashKeyRange"]["StartingHashKey"] == middle

    merged = cli(
        "streams", "reshard", stream, "--merge", "shardId-000000000002", "shardId-000000000003"
    )
    assert merged.exit_code == 0, merged.output
    assert "merged shardId-000000000002 and shardId-000000000003" in merged.stdout
    assert len(_open_shards(kinesis, stream)) == 2

    scaled = cli("streams", "reshard", stream, "--target", "4")
    assert scaled.exit_code == 0, scaled.output
    assert "open shards: 2 → 4" in scaled.stdout
    assert len(_open_shards(kinesis, stream)) == 4

    at = cli("streams", "reshard", stream, "--split", "5", "--at", "1")
    assert at.exit_code == 1
    assert "SplitShard rejected" in at.output or "has no shard" in at.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["streams", "reshard", "s"], "exactly one of --split, --merge or --target"),
        (["streams", "reshard", "s", "--split", "0", "--target", "2"], "exactly one"),
        (["streams", "reshard", "s", "--target", "2", "--at", "5"], "--at goes with --split"),
        (["streams", "create", "s", "--shards", "2", "--on-demand"], "exclude each other"),
        (["streams", "create", "s", "--tag", "novalue"], "KEY=VALUE"),
        (["streams", "delete", "s"], "pass --yes"),
    ],
)
def test_usage_errors(cli, args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
