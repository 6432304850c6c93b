"""SubscribeToShard with boto3 (HTTP/1.1, AWS event-stream encoding).

The acceptance points of enhanced fan-out: records put after subscribing are pushed within
50 ms at the median on loopback; a consumer that re-subscribes AFTER_SEQUENCE_NUMBER its last
ContinuationSequenceNumber misses and repeats nothing; every starting position works; a
subscription to a shard that gets split ends with an event naming the children; and the
errors of a bad subscription (unknown consumer or shard, too frequent calls, a consumer not
yet ACTIVE) come back as Kinesis errors. Rules and texts: AWS' SubscribeToShard reference and
kinesis-semantics.md §11.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError, EventStreamError

from tests.support.fanout import Subscription, register_consumer
from tests.support.lineage import (
    ACCOUNT,
    Kinesis,
    arn_of,
    create_stream,
    expect_error,
    read_shard_to_end,
    shard_id,
)
from tests.support.server import HeadwaterServer

SHARD0 = shard_id(0)
HALF = 2**127
LATENCY_SAMPLES = 30
MEDIAN_LATENCY_LIMIT_S = 0.050


def put(kinesis: Kinesis, stream: str, data: bytes, key: str = "pk") -> dict:
    return kinesis.put_record(StreamName=stream, Data=data, PartitionKey=key)


def put_many(kinesis: Kinesis, stream: str, prefix: str, count: int) -> list[str]:
    return [put(kinesis, stream, f"{prefix}{i}".encode())["SequenceNumber"] for i in range(count)]


def subscribe(kinesis: Kinesis, arn: str, kind: str, **position: object) -> Subscription:
    return Subscription(kinesis, arn, SHARD0, {"Type": kind, **position})


def numbers(records: list[tuple[float, dict]]) -> list[str]:
    return [record["SequenceNumber"] for _, record in records]


@pytest.fixture
def fan_out(kinesis, stream_name) -> tuple[str, str]:
    """A one-shard stream and an ACTIVE consumer on it: (stream name, consumer ARN)."""
    create_stream(kinesis, stream_name, 1)
    return stream_name, register_consumer(kinesis, stream_name, "fan-out")


# -- delivery -----------------------------------------------------------------------------


def test_records_put_after_subscribing_arrive_within_50_ms_at_the_median(kinesis, fan_out):
    stream, arn = fan_out
    latencies: list[float] = []
    with subscribe(kinesis, arn, "LATEST") as subscription:
        assert subscription.response["ResponseMetadata"]["HTTPStatusCode"] == 200
        for i in range(LATENCY_SAMPLES):
            sent = time.time()
            answer = put(kinesis, stream, b"live-%d" % i)
            ((arrived, record),) = subscription.records(1, timeout_s=5)
            latencies.append(arrived - sent)
            assert record["SequenceNumber"] == answer["SequenceNumber"]
            assert record["Data"] == b"live-%d" % i
            assert record["PartitionKey"] == "pk"
            assert record["ApproximateArrivalTimestamp"] is not None
            event = subscription.last_event
            assert event["MillisBehindLatest"] == 0
            assert int(event["ContinuationSequenceNumber"]) >= int(answer["SequenceNumber"])
    median = statistics.median(latencies)
    assert median <= MEDIAN_LATENCY_LIMIT_S, (
        f"median put→delivery {median * 1000:.1f} ms; all: "
        f"{sorted(round(x * 1000, 1) for x in latencies)}"
    )


def test_resubscribing_after_the_continuation_number_misses_and_repeats_nothing(
    kinesis, server, fan_out
):
    stream, arn = fan_out
    sent = put_many(kinesis, stream, "early-", 5)
    with subscribe(kinesis, arn, "TRIM_HORIZON") as first:
        got = first.records(5)
        sent += put_many(kinesis, stream, "live-", 5)
        got += first.records(5)
        continuation = first.last_event["ContinuationSequenceNumber"]
    assert numbers(got) == sent

    sent += put_many(kinesis, stream, "while-away-", 5)
    server.advance_clock(5_100)  # past AWS' per-second and five-second re-subscribe rules
    with subscribe(kinesis, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=continuation) as second:
        got_again = second.records(5)
        sent += put_many(kinesis, stream, "after-", 3)
        got_again += second.records(3)
    assert numbers(got + got_again) == sent


@pytest.mark.parametrize(
    ("kind", "first_expected"),
    [
        ("TRIM_HORIZON", 0),
        ("AT_SEQUENCE_NUMBER", 3),
        ("AFTER_SEQUENCE_NUMBER", 4),
        ("AT_TIMESTAMP", 3),
        ("LATEST", 6),
    ],
)
def test_each_starting_position_starts_where_aws_says(
    kinesis, server, stream_name, kind, first_expected
):
    create_stream(kinesis, stream_name, 1)
    arn = register_consumer(kinesis, stream_name, f"start-{kind.lower()}")
    sent = put_many(kinesis, stream_name, "old-", 3)
    # boto3 sends timestamps in whole seconds: records 3.. arrive a second and more later.
    server.advance_clock(1_500)
    sent += put_many(kinesis, stream_name, "new-", 3)
    stored = read_shard_to_end(kinesis, stream_name, SHARD0)[0]
    position: dict[str, object] = {}
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        position["SequenceNumber"] = sent[3]
    if kind == "AT_TIMESTAMP":
        position["Timestamp"] = stored[3]["ApproximateArrivalTimestamp"]

    with subscribe(kinesis, arn, kind, **position) as subscription:
        sent += put_many(kinesis, stream_name, "later-", 2)
        got = subscription.records(len(sent) - first_expected)
    assert numbers(got) == sent[first_expected:]


# -- the end of a shard -------------------------------------------------------------------


def test_a_subscription_to_a_shard_that_is_split_ends_with_child_shards(kinesis, fan_out):
    stream, arn = fan_out
    sent = put_many(kinesis, stream, "before-split-", 3)
    with subscribe(kinesis, arn, "TRIM_HORIZON") as subscription:
        assert numbers(subscription.records(3)) == sent
        kinesis.split_shard(StreamName=stream, ShardToSplit=SHARD0, NewStartingHashKey=str(HALF))
        deadline = time.monotonic() + 5
        event = subscription.next_event(5)[1]
        while "ChildShards" not in event or not event["ChildShards"]:
            assert event["Records"] == [], "a record after the parent's end"
            assert time.monotonic() < deadline
            event = subscription.next_event(5)[1]
        subscription.wait_ended()
        assert subscription.error is None, subscription.error
    assert event["ChildShards"] == [
        {
            "ShardId": shard_id(1),
            "ParentShards": [SHARD0],
            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(HALF - 1)},
        },
        {
            "ShardId": shard_id(2),
            "ParentShards": [SHARD0],
            "HashKeyRange": {"StartingHashKey": str(HALF), "EndingHashKey": str(2**128 - 1)},
        },
    ]
    assert event["MillisBehindLatest"] == 0


def test_subscribing_to_a_closed_shard_delivers_its_rest_and_then_its_children(
    kinesis, stream_name
):
    create_stream(kinesis, stream_name, 2)
    answers = [put(kinesis, stream_name, b"to-merge-%d" % i) for i in range(3)]
    owner = answers[0]["ShardId"]  # one partition key: one shard
    kinesis.merge_shards(
        StreamName=stream_name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1)
    )
    arn = register_consumer(kinesis, stream_name, "late-reader")
    with Subscription(kinesis, arn, owner, {"Type": "TRIM_HORIZON"}) as subscription:
        got = subscription.records(3)
        subscription.wait_ended()
        assert subscription.error is None, subscription.error
        while not subscription.events.empty():
            subscription.next_event(0)
    assert numbers(got) == [a["SequenceNumber"] for a in answers]
    assert subscription.last_event["ChildShards"] == [
        {
            "ShardId": shard_id(2),
            "ParentShards": [shard_id(0), shard_id(1)],
            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(2**128 - 1)},
        }
    ]


# -- errors -------------------------------------------------------------------------------


def test_unknown_consumer_shard_or_position_is_refused(kinesis, fan_out):
    stream, arn = fan_out
    made_up = f"{arn_of(stream)}/consumer/nobody:{arn.rsplit(':', 1)[1]}"
    expect_error(
        kinesis.subscribe_to_shard,
        "ResourceNotFoundException",
        ConsumerARN=made_up,
        ShardId=SHARD0,
        StartingPosition={"Type": "LATEST"},
    )
    expect_error(
        kinesis.subscribe_to_shard,
        "ResourceNotFoundException",
        ConsumerARN=arn,
        ShardId=shard_id(9),
        StartingPosition={"Type": "LATEST"},
    )
    expect_error(
        kinesis.subscribe_to_shard,
        "InvalidArgumentException",
        ConsumerARN=arn,
        ShardId=SHARD0,
        StartingPosition={"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": "123"},
    )


def test_a_second_subscribe_call_within_a_second_is_limited(kinesis, fan_out):
    _, arn = fan_out
    with subscribe(kinesis, arn, "LATEST"):
        expect_error(
            kinesis.subscribe_to_shard,
            "LimitExceededException",
            ConsumerARN=arn,
            ShardId=SHARD0,
            StartingPosition={"Type": "LATEST"},
        )


def test_a_second_subscription_within_five_seconds_is_in_use(kinesis, server, fan_out):
    """AWS: calling again within 5 s of a successful call gives ResourceInUseException."""
    stream, arn = fan_out
    with subscribe(kinesis, arn, "LATEST") as first:
        server.advance_clock(1_100)
        expect_error(
            kinesis.subscribe_to_shard,
            "ResourceInUseException",
            ConsumerARN=arn,
            ShardId=SHARD0,
            StartingPosition={"Type": "LATEST"},
        )
        # The first subscription is untouched and still delivers.
        answer = put(kinesis, stream, b"still-here")
        assert numbers(first.records(1)) == [answer["SequenceNumber"]]


def test_a_subscription_five_seconds_later_takes_over_the_first(kinesis, server, fan_out):
    """AWS: 5 s or more after a successful call, a new call takes over; the old one ends."""
    stream, arn = fan_out
    with subscribe(kinesis, arn, "LATEST") as first:
        server.advance_clock(5_100)
        with subscribe(kinesis, arn, "LATEST") as second:
            first.wait_ended()
            if first.error is not None:
                assert isinstance(first.error, EventStreamError)
                assert first.error.response["Error"]["Code"] == "ResourceInUseException"
            answer = put(kinesis, stream, b"for-the-new-one")
            assert numbers(second.records(1)) == [answer["SequenceNumber"]]


# -- a consumer that is not ACTIVE yet ------------------------------------------------------


@pytest.fixture(scope="module")
def slow_consumer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    running = HeadwaterServer(
        tmp_path_factory.mktemp("subscribe-creating") / "data", "--consumer-delay-ms", "600000"
    ).start()
    try:
        yield running
    finally:
        running.stop()


def test_subscribing_with_a_consumer_still_creating_is_in_use(slow_consumer_server, stream_name):
    kinesis = slow_consumer_server.client()
    create_stream(kinesis, stream_name, 1)
    consumer = kinesis.register_stream_consumer(
        StreamARN=arn_of(stream_name), ConsumerName="not-yet"
    )["Consumer"]
    assert consumer["ConsumerStatus"] == "CREATING"
    created = int(consumer["ConsumerCreationTimestamp"].timestamp())
    with pytest.raises(ClientError) as refused:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"],
            ShardId=SHARD0,
            StartingPosition={"Type": "LATEST"},
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "ResourceInUseException"
    assert error["Message"] == (
        f"Consumer not-yet with creation timestamp {created} under stream {stream_name} and "
        f"account {ACCOUNT} is not in ACTIVE status."
    )
