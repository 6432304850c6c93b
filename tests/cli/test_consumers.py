"""``headwater consumers list|register|deregister``."""

from __future__ import annotations

import json


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
