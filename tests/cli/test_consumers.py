"""``headwater consumers list|register|deregister|lag``."""

from __future__ import annotations

import asyncio
import json

from tests.support.consuming import consume


def test_register_list_deregister(cli, kinesis, make_stream) -> None:
    stream = make_stream(1)
    empty = cli("consumers", "list", stream)
    assert empty.exit_code == 0, empty.output
    assert empty.stdout.strip() == f"no consumers registered on {stream}"

    registered = cli("consumers", "register", stream, "dashboard")
    assert registered.exit_code == 0, registered.output
    prefix = f"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}/consumer/dashboard:"
    assert registered.stdout.startswith(f"registered consumer dashboard: {prefix}")
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    (consumer,) = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert (consumer["ConsumerName"], consumer["ConsumerStatus"]) == ("dashboard", "ACTIVE")

    listed = cli("consumers", "list", stream, "--json")
    (row,) = json.loads(listed.stdout)
    assert (row["name"], row["status"], row["arn"]) == (
        "dashboard", "ACTIVE", consumer["ConsumerARN"],
    )  # fmt: skip
    table = cli("consumers", "list", arn)  # a stream ARN works too
    assert "dashboard" in table.stdout and "ACTIVE" in table.stdout

    again = cli("consumers", "register", stream, "dashboard")
    assert again.exit_code == 1
    assert "RegisterStreamConsumer" in again.stderr and "Traceback" not in again.output

    deregistered = cli("consumers", "deregister", stream, "dashboard")
    assert deregistered.exit_code == 0, deregistered.output
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []

    missing = cli("consumers", "deregister", stream, "dashboard")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: not found: ")
    assert "dashboard" in missing.stderr


def test_lag_from_checkpoints(cli, server, kinesis, make_stream, tmp_path) -> None:
    stream = make_stream(2)
    leases = str(tmp_path / "leases.sqlite")
    entries = [{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(6)]
    assert kinesis.put_records(StreamName=stream, Records=entries)["FailedRecordCount"] == 0
    asyncio.run(consume(server.endpoint, stream, "lag-app", leases, 6))

    caught_up = cli("consumers", "lag", stream, "lag-app", "--lease-store", leases, "--json")
    assert caught_up.exit_code == 0, caught_up.output
    rows = json.loads(caught_up.stdout)
    assert len(rows) == 2
    assert all(row["millis_behind"] == 0 and not row["finished"] for row in rows)

    # New records on the first shard only, then 5 s pass: that shard is 5 s behind.
    first = rows[0]["shard_id"]
    kinesis.put_records(
        StreamName=stream,
        Records=[{"Data": b"y", "PartitionKey": "k", "ExplicitHashKey": "0"}] * 3,
    )
    server.advance_clock(5000)
    behind = json.loads(
        cli("consumers", "lag", stream, "lag-app", "--lease-store", leases, "--json").stdout
    )
    by_shard = {row["shard_id"]: row["millis_behind"] for row in behind}
    assert by_shard.pop(first) >= 5000
    assert list(by_shard.values()) == [0]

    table = cli("consumers", "lag", stream, "lag-app", "--lease-store", leases)
    assert first in table.stdout and " s" in table.stdout

    unknown = cli("consumers", "lag", stream, "no-such-app", "--lease-store", leases)
    assert unknown.exit_code == 0
    assert "no leases of no-such-app" in unknown.stdout

    missing = cli("consumers", "lag", "no-such-stream", "lag-app", "--lease-store", leases)
    assert missing.exit_code == 1
    assert "stream 'no-such-stream' not found" in missing.stderr
