"""Enhanced fan-out consumers: Register/Describe/List/DeregisterStreamConsumer through boto3.

What applications (the KCL 2.x, Flink's EFO source, Lambda) rely on: the consumer ARN is the
stream ARN plus ``/consumer/NAME:creationEpochSeconds``, a consumer is found by its ARN or by
StreamARN plus name, states move CREATING → ACTIVE and DELETING → gone, a stream holds at
most 20 consumers (5 of them CREATING), names are unique per stream, listings page, and
DeleteStream refuses a stream that still has consumers unless told to remove them.
AWS' texts are asserted where known (kinesis-semantics.md §2, §11); elsewhere the type.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.lineage import ACCOUNT, Kinesis, arn_of, create_stream, expect_error
from tests.support.server import HeadwaterServer

CONSUMER_ARN_PATTERN = re.compile(
    r"^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+$"
)
CONSUMER_DELAY_MS = 2_000


def register(kinesis: Kinesis, stream: str, name: str) -> dict:
    return kinesis.register_stream_consumer(StreamARN=arn_of(stream), ConsumerName=name)["Consumer"]


def describe(kinesis: Kinesis, **params: Any) -> dict:
    return kinesis.describe_stream_consumer(**params)["ConsumerDescription"]


def listed(kinesis: Kinesis, stream: str) -> list[dict]:
    return kinesis.list_stream_consumers(StreamARN=arn_of(stream))["Consumers"]


def creation_seconds(consumer: dict) -> int:
    return int(consumer["ConsumerCreationTimestamp"].timestamp())


def wait_until_gone(kinesis: Kinesis, consumer_arn: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            describe(kinesis, ConsumerARN=consumer_arn)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
            return
        assert time.monotonic() < deadline, f"{consumer_arn} was not removed"
        time.sleep(0.02)


def consumers_in_use(stream: str) -> str:
    return (
        f"DeleteStream can't delete {ACCOUNT}:{stream} because there are consumers associated "
        f"with this data stream. To delete {stream} anyway, set the EnforceConsumerDeletion "
        "parameter to true to force the deletion of all the consumers that are associated "
        "with it."
    )


# -- a server whose consumers take time to become ACTIVE (and to go away) ------------------


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    running = HeadwaterServer(
        tmp_path_factory.mktemp("consumers") / "data",
        "--dev-clock",
        "--consumer-delay-ms",
        str(CONSUMER_DELAY_MS),
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def slow_kinesis(slow_server: HeadwaterServer) -> Kinesis:
    return slow_server.client()


# -- registration and description ---------------------------------------------------------


def test_register_answers_with_an_arn_made_of_stream_arn_name_and_creation_seconds(
    kinesis, stream_name
):
    create_stream(kinesis, stream_name, 1)
    consumer = register(kinesis, stream_name, "analytics-app")

    assert set(consumer) == {
        "ConsumerName",
        "ConsumerARN",
        "ConsumerStatus",
        "ConsumerCreationTimestamp",
    }
    assert consumer["ConsumerName"] == "analytics-app"
    assert consumer["ConsumerStatus"] in ("CREATING", "ACTIVE")
    arn = consumer["ConsumerARN"]
    assert CONSUMER_ARN_PATTERN.match(arn), arn
    assert arn == f"{arn_of(stream_name)}/consumer/analytics-app:{creation_seconds(consumer)}"

    by_arn = describe(kinesis, ConsumerARN=arn)
    by_name = describe(kinesis, StreamARN=arn_of(stream_name), ConsumerName="analytics-app")
    assert by_arn == by_name
    assert by_arn["StreamARN"] == arn_of(stream_name)
    assert by_arn["ConsumerARN"] == arn
    assert by_arn["ConsumerName"] == "analytics-app"
    assert by_arn["ConsumerStatus"] == "ACTIVE"
    assert by_arn["ConsumerCreationTimestamp"] == consumer["ConsumerCreationTimestamp"]

    (entry,) = listed(kinesis, stream_name)
    assert entry == {k: v for k, v in by_arn.items() if k != "StreamARN"}
    summary = kinesis.describe_stream_summary(StreamName=stream_name)
    assert summary["StreamDescriptionSummary"]["ConsumerCount"] == 1


def test_consumer_names_are_unique_per_stream_only(kinesis, stream_name):
    other = f"{stream_name}-other"
    create_stream(kinesis, stream_name, 1)
    create_stream(kinesis, other, 1)
    first = register(kinesis, stream_name, "reader")
    expect_error(
        kinesis.register_stream_consumer,
        "ResourceInUseException",
        StreamARN=arn_of(stream_name),
        ConsumerName="reader",
    )
    second = register(kinesis, other, "reader")
    assert first["ConsumerARN"] != second["ConsumerARN"]
    assert second["ConsumerARN"].startswith(f"{arn_of(other)}/consumer/reader:")
    assert [c["ConsumerName"] for c in listed(kinesis, stream_name)] == ["reader"]
    kinesis.delete_stream(StreamName=other, EnforceConsumerDeletion=True)


def test_a_stream_holds_at_most_20_consumers(kinesis, stream_name):
    create_stream(kinesis, stream_name, 1)
    arns = [register(kinesis, stream_name, f"c{i:02d}")["ConsumerARN"] for i in range(20)]
    expect_error(
        kinesis.register_stream_consumer,
        "LimitExceededException",
        StreamARN=arn_of(stream_name),
        ConsumerName="one-too-many",
    )
    assert len(listed(kinesis, stream_name)) == 20

    kinesis.deregister_stream_consumer(ConsumerARN=arns[0])
    wait_until_gone(kinesis, arns[0])
    register(kinesis, stream_name, "one-too-many")
    assert len(listed(kinesis, stream_name)) == 20


def test_list_stream_consumers_pages_with_next_token(kinesis, stream_name):
    create_stream(kinesis, stream_name, 1)
    names = {f"page-{i}" for i in range(7)}
    for name in sorted(names):
        register(kinesis, stream_name, name)

    pages: list[list[str]] = []
    response = kinesis.list_stream_consumers(StreamARN=arn_of(stream_name), MaxResults=3)
    for _ in range(10):
        pages.append([c["ConsumerName"] for c in response["Consumers"]])
        if "NextToken" not in response:
            break
        response = kinesis.list_stream_consumers(
            StreamARN=arn_of(stream_name), MaxResults=3, NextToken=response["NextToken"]
        )
    assert [len(page) for page in pages] == [3, 3, 1]
    flat = [name for page in pages for name in page]
    assert sorted(flat) == sorted(names) and len(flat) == len(names)

    everything = kinesis.list_stream_consumers(StreamARN=arn_of(stream_name))
    assert "NextToken" not in everything
    assert {c["ConsumerName"] for c in everything["Consumers"]} == names


def test_deregister_by_arn_or_by_stream_and_name_removes_the_consumer(kinesis, stream_name):
    create_stream(kinesis, stream_name, 1)
    first = register(kinesis, stream_name, "first")
    second = register(kinesis, stream_name, "second")

    kinesis.deregister_stream_consumer(ConsumerARN=first["ConsumerARN"])
    kinesis.deregister_stream_consumer(StreamARN=arn_of(stream_name), ConsumerName="second")

    for consumer in (first, second):
        wait_until_gone(kinesis, consumer["ConsumerARN"])
    assert listed(kinesis, stream_name) == []
    summary = kinesis.describe_stream_summary(StreamName=stream_name)
    assert summary["StreamDescriptionSummary"]["ConsumerCount"] == 0


# -- not found ----------------------------------------------------------------------------


def test_unknown_consumers_and_streams_are_not_found(kinesis, stream_name):
    create_stream(kinesis, stream_name, 1)
    consumer = register(kinesis, stream_name, "known")
    stream_arn = arn_of(stream_name)
    made_up = f"{stream_arn}/consumer/unknown:{creation_seconds(consumer)}"
    wrong_time = consumer["ConsumerARN"].rsplit(":", 1)[0] + ":12345"
    missing_stream = arn_of(f"{stream_name}-missing")

    for params in (
        {"ConsumerARN": made_up},
        {"ConsumerARN": wrong_time},
        {"StreamARN": stream_arn, "ConsumerName": "unknown"},
        {"StreamARN": missing_stream, "ConsumerName": "known"},
    ):
        expect_error(kinesis.describe_stream_consumer, "ResourceNotFoundException", **params)
        expect_error(kinesis.deregister_stream_consumer, "ResourceNotFoundException", **params)
    expect_error(
        kinesis.register_stream_consumer,
        "ResourceNotFoundException",
        StreamARN=missing_stream,
        ConsumerName="new",
    )
    expect_error(
        kinesis.list_stream_consumers, "ResourceNotFoundException", StreamARN=missing_stream
    )
    # Nothing happened to the real consumer.
    assert describe(kinesis, ConsumerARN=consumer["ConsumerARN"])["ConsumerStatus"] == "ACTIVE"


# -- DeleteStream and consumers -----------------------------------------------------------


def test_delete_stream_with_consumers_needs_enforce_consumer_deletion(kinesis, stream_name):
    create_stream(kinesis, stream_name, 1)
    consumer = register(kinesis, stream_name, "blocker")

    expect_error(
        kinesis.delete_stream,
        "ResourceInUseException",
        consumers_in_use(stream_name),
        StreamName=stream_name,
    )
    expect_error(
        kinesis.delete_stream,
        "ResourceInUseException",
        consumers_in_use(stream_name),
        StreamName=stream_name,
        EnforceConsumerDeletion=False,
    )
    assert describe(kinesis, ConsumerARN=consumer["ConsumerARN"])["ConsumerStatus"] == "ACTIVE"

    kinesis.delete_stream(StreamName=stream_name, EnforceConsumerDeletion=True)
    wait_until_gone(kinesis, consumer["ConsumerARN"])

    # A new stream of the same name starts with no consumers; the old ARN stays unknown.
    create_stream(kinesis, stream_name, 1)
    assert listed(kinesis, stream_name) == []
    expect_error(
        kinesis.describe_stream_consumer,
        "ResourceNotFoundException",
        ConsumerARN=consumer["ConsumerARN"],
    )


def test_delete_stream_without_consumers_needs_no_flag(kinesis, stream_name):
    create_stream(kinesis, stream_name, 1)
    consumer = register(kinesis, stream_name, "short-lived")
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    wait_until_gone(kinesis, consumer["ConsumerARN"])
    kinesis.delete_stream(StreamName=stream_name)


# -- states, with a server whose consumers take CONSUMER_DELAY_MS ---------------------------


def test_consumer_states_move_from_creating_to_active_and_from_deleting_to_gone(
    slow_server, slow_kinesis, stream_name
):
    kinesis = slow_kinesis
    create_stream(kinesis, stream_name, 1)
    consumer = register(kinesis, stream_name, "slow")
    arn = consumer["ConsumerARN"]
    assert consumer["ConsumerStatus"] == "CREATING"
    assert describe(kinesis, ConsumerARN=arn)["ConsumerStatus"] == "CREATING"
    assert [c["ConsumerStatus"] for c in listed(kinesis, stream_name)] == ["CREATING"]

    slow_server.advance_clock(CONSUMER_DELAY_MS)
    assert describe(kinesis, ConsumerARN=arn)["ConsumerStatus"] == "ACTIVE"
    assert [c["ConsumerStatus"] for c in listed(kinesis, stream_name)] == ["ACTIVE"]

    kinesis.deregister_stream_consumer(ConsumerARN=arn)
    assert describe(kinesis, ConsumerARN=arn)["ConsumerStatus"] == "DELETING"
    assert [c["ConsumerStatus"] for c in listed(kinesis, stream_name)] == ["DELETING"]

    slow_server.advance_clock(CONSUMER_DELAY_MS)
    expect_error(kinesis.describe_stream_consumer, "ResourceNotFoundException", ConsumerARN=arn)
    assert listed(kinesis, stream_name) == []

    # Registered again (a later second), the same name gets a new ARN; the old one is gone.
    again = register(kinesis, stream_name, "slow")
    assert again["ConsumerARN"] != arn
    assert again["ConsumerARN"] == f"{arn_of(stream_name)}/consumer/slow:{creation_seconds(again)}"
    expect_error(kinesis.describe_stream_consumer, "ResourceNotFoundException", ConsumerARN=arn)


def test_at_most_five_consumers_may_be_creating_at_once(slow_server, slow_kinesis, stream_name):
    kinesis = slow_kinesis
    create_stream(kinesis, stream_name, 1)
    for i in range(5):
        assert register(kinesis, stream_name, f"new-{i}")["ConsumerStatus"] == "CREATING"
    expect_error(
        kinesis.register_stream_consumer,
        "LimitExceededException",
        StreamARN=arn_of(stream_name),
        ConsumerName="sixth",
    )
    slow_server.advance_clock(CONSUMER_DELAY_MS)
    assert register(kinesis, stream_name, "sixth")["ConsumerStatus"] == "CREATING"
    assert len(listed(kinesis, stream_name)) == 6
