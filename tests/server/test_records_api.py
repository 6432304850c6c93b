"""The data plane through boto3: PutRecord(s), GetShardIterator, GetRecords, limits, retention.

Every test talks to a real ``headwater serve`` process over HTTP and checks what a Kinesis
client relies on: where records land, the order and numbers they come back with, and AWS'
exact error types and messages (see /work/research/kinesis-semantics.md, sections 4-6).

Tests that move time forward run on servers of their own (module fixtures), so iterators
issued by the shared session server never expire under other tests.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import HeadwaterServer

ACCOUNT = "000000000000"
SHARD0 = "shardId-000000000000"
SHARD1 = "shardId-000000000001"
HASH_KEY_MAX = 2**128 - 1
MIB = 1024 * 1024
HOUR_MS = 3_600_000
ITERATOR_MESSAGE_PREFIX = (
    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
    "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
)
# A sequence number AWS was recorded rejecting as malformed (kinesalite tests).
MALFORMED_SEQUENCE_NUMBER = "26227199374822427428162556223570313216"
JAVA_DATE = r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}"

Kinesis = Any  # a boto3 Kinesis client


# -- helpers ------------------------------------------------------------------------------


def aws_error(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    """(error code, message) of a failed call."""
    body = error.value.response["Error"]
    return body["Code"], body.get("Message", "")


def http_status(error: pytest.ExceptionInfo[ClientError]) -> int:
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def hash_ranges(count: int) -> list[tuple[int, int]]:
    """AWS' even split of the 128-bit space; the last shard absorbs the remainder."""
    width = 2**128 // count
    ranges = [(i * width, (i + 1) * width - 1) for i in range(count)]
    ranges[-1] = (ranges[-1][0], HASH_KEY_MAX)
    return ranges


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def md5_hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def owning_shard(hash_key: int, count: int) -> str:
    for index, (start, end) in enumerate(hash_ranges(count)):
        if start <= hash_key <= end:
            return shard_id(index)
    raise AssertionError(f"hash key {hash_key} outside every range")


def create_stream(kinesis: Kinesis, name: str, shards: int = 1) -> None:
    """Create a stream and wait (bounded) until it accepts data."""
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.02)
    raise TimeoutError(f"stream {name} did not become ACTIVE")


def iterator_for(
    kinesis: Kinesis, name: str, shard: str = SHARD0, kind: str = "TRIM_HORIZON", **extra: Any
) -> str:
    return kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType=kind, **extra
    )["ShardIterator"]


def read_shard(
    kinesis: Kinesis, iterator: str, *, limit: int | None = None, max_calls: int = 4
) -> tuple[list[dict], dict]:
    """Follow NextShardIterator until a read comes back empty (at most ``max_calls`` reads).

    AWS allows 5 GetRecords calls per second per shard, so callers keep ``max_calls`` small.
    """
    records: list[dict] = []
    response: dict = {}
    for _ in range(max_calls):
        extra = {} if limit is None else {"Limit": limit}
        response = kinesis.get_records(ShardIterator=iterator, **extra)
        records.extend(response["Records"])
        if not response["Records"]:
            break
        iterator = response["NextShardIterator"]
    return records, response


def put_batch(kinesis: Kinesis, name: str, records: list[dict]) -> dict:
    return kinesis.put_records(StreamName=name, Records=records)


def rate_exceeded(name: str, shard: str = SHARD0) -> str:
    return f"Rate exceeded for shard {shard} in stream {name} under account {ACCOUNT}."


# -- servers of our own -------------------------------------------------------------------


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    """AWS limits and a clock these tests move forward (hours, for retention)."""
    running = HeadwaterServer(
        tmp_path_factory.mktemp("records-clock") / "data", "--dev-clock"
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def clock_kinesis(clock_server: HeadwaterServer) -> Kinesis:
    return strict_client(clock_server)


@pytest.fixture(scope="module")
def unlimited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    """``--limits off`` and a clock nobody moves (its time is the machine's)."""
    running = HeadwaterServer(
        tmp_path_factory.mktemp("records-unlimited") / "data", "--limits", "off"
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def unlimited_kinesis(unlimited_server: HeadwaterServer) -> Kinesis:
    return strict_client(unlimited_server)


def strict_client(server: HeadwaterServer, **config: Any) -> Kinesis:
    """A client that never retries: botocore's ``max_attempts`` counts *retries*, and a
    retried throttle or 500 would hide exactly what these tests look at."""
    return boto3.client(
        "kinesis",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
        config=Config(
            retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5, **config
        ),
    )


@pytest.fixture(scope="module")
def kinesis(server: HeadwaterServer) -> Kinesis:
    """The session server, through a client that makes exactly one attempt per call."""
    return strict_client(server)


@pytest.fixture(scope="module")
def unvalidated_kinesis(server: HeadwaterServer) -> Kinesis:
    """A client that sends values botocore would refuse, so the server's answer shows."""
    return strict_client(server, parameter_validation=False)


# -- PutRecord ----------------------------------------------------------------------------


def test_put_record_returns_shard_and_a_sequence_number_that_reads_back(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    put = kinesis.put_record(StreamName=stream_name, Data=b"hello", PartitionKey="pk")
    assert put["ShardId"] == SHARD0
    assert re.fullmatch(r"[1-9]\d{55}", put["SequenceNumber"])

    iterator = iterator_for(
        kinesis,
        stream_name,
        kind="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=put["SequenceNumber"],
    )
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [(r["Data"], r["PartitionKey"], r["SequenceNumber"]) for r in records] == [
        (b"hello", "pk", put["SequenceNumber"])
    ]


def test_same_partition_key_goes_to_one_shard_with_increasing_sequence_numbers(
    kinesis, stream_name
):
    create_stream(kinesis, stream_name, shards=4)
    expected = owning_shard(md5_hash_key("device-42"), 4)
    puts = [
        kinesis.put_record(StreamName=stream_name, Data=f"{i}".encode(), PartitionKey="device-42")
        for i in range(15)
    ]
    assert {p["ShardId"] for p in puts} == {expected}
    numbers = [int(p["SequenceNumber"]) for p in puts]
    assert all(a < b for a, b in itertools.pairwise(numbers))


def test_explicit_hash_key_routes_to_the_shard_owning_it(kinesis, stream_name):
    """ExplicitHashKey overrides the partition key's MD5, including at range edges."""
    create_stream(kinesis, stream_name, shards=4)
    ranges = hash_ranges(4)
    listed = kinesis.list_shards(StreamName=stream_name)["Shards"]
    assert [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in listed
    ] == ranges
    cases = {
        0: SHARD0,
        ranges[0][1]: SHARD0,
        ranges[1][0]: SHARD1,
        ranges[2][0] + 12345: shard_id(2),
        ranges[2][1]: shard_id(2),
        ranges[3][0]: shard_id(3),
        HASH_KEY_MAX: shard_id(3),
    }
    # A partition key whose own MD5 lands on shard 0: the explicit key must win.
    key = next(f"k{i}" for i in range(1000) if owning_shard(md5_hash_key(f"k{i}"), 4) == SHARD0)
    for hash_key, shard in cases.items():
        put = kinesis.put_record(
            StreamName=stream_name, Data=b"x", PartitionKey=key, ExplicitHashKey=str(hash_key)
        )
        assert put["ShardId"] == shard, hash_key


def test_explicit_hash_key_above_the_range_is_rejected_with_aws_message(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    too_big = str(2**128)
    with pytest.raises(ClientError) as error:
        kinesis.put_record(
            StreamName=stream_name, Data=b"x", PartitionKey="a", ExplicitHashKey=too_big
        )
    assert aws_error(error) == (
        "InvalidArgumentException",
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
        f"Specified value was {too_big}",
    )


def test_explicit_hash_key_above_the_range_fails_the_whole_put_records_batch(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    too_big = str(2**128)
    with pytest.raises(ClientError) as error:
        put_batch(
            kinesis,
            stream_name,
            [
                {"Data": b"good", "PartitionKey": "a"},
                {"Data": b"bad", "PartitionKey": "a", "ExplicitHashKey": too_big},
            ],
        )
    code, message = aws_error(error)
    assert code == "InvalidArgumentException"
    assert message.endswith(f"Specified value was {too_big}")
    records, _ = read_shard(kinesis, iterator_for(kinesis, stream_name), max_calls=1)
    assert records == []


def test_sequence_number_for_ordering_accepts_an_earlier_number(kinesis, stream_name):
    """Each record put with the previous number as SequenceNumberForOrdering comes after it."""
    create_stream(kinesis, stream_name, shards=2)
    previous = kinesis.put_record(StreamName=stream_name, Data=b"0", PartitionKey="order")
    for i in range(1, 4):
        put = kinesis.put_record(
            StreamName=stream_name,
            Data=f"{i}".encode(),
            PartitionKey="order",
            SequenceNumberForOrdering=previous["SequenceNumber"],
        )
        assert put["ShardId"] == previous["ShardId"]
        assert int(put["SequenceNumber"]) > int(previous["SequenceNumber"])
        previous = put


def test_bad_sequence_number_for_ordering_is_rejected_with_aws_message(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        kinesis.put_record(
            StreamName=stream_name,
            Data=b"x",
            PartitionKey="a",
            SequenceNumberForOrdering=MALFORMED_SEQUENCE_NUMBER,
        )
    assert aws_error(error) == (
        "InvalidArgumentException",
        f"ExclusiveMinimumSequenceNumber {MALFORMED_SEQUENCE_NUMBER} used in PutRecord on "
        f"stream {stream_name} under account {ACCOUNT} is invalid.",
    )


def test_put_record_to_a_missing_stream_is_not_found(kinesis, stream_name):
    with pytest.raises(ClientError) as error:
        kinesis.put_record(StreamName=stream_name, Data=b"x", PartitionKey="a")
    assert aws_error(error) == (
        "ResourceNotFoundException",
        f"Stream {stream_name} under account {ACCOUNT} not found.",
    )


def test_put_record_of_exactly_one_mib_is_accepted(kinesis, stream_name):
    """1 MiB of data plus partition key is the largest record AWS takes."""
    create_stream(kinesis, stream_name)
    put = kinesis.put_record(StreamName=stream_name, Data=b"x" * (MIB - 1), PartitionKey="k")
    assert put["ShardId"] == SHARD0


def test_put_record_data_over_one_mib_is_a_validation_error(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        kinesis.put_record(StreamName=stream_name, Data=b"x" * (MIB + 1), PartitionKey="k")
    code, message = aws_error(error)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: ")
    assert (
        "at 'data' failed to satisfy constraint: Member must have length less than or equal "
        "to 1048576" in message
    )


# -- PutRecords ---------------------------------------------------------------------------


def test_put_records_of_500_returns_results_in_request_order_across_shards(kinesis, stream_name):
    """Each result sits at its record's index, on the shard MD5 routing picks; reads agree."""
    create_stream(kinesis, stream_name, shards=3)
    sent = [{"Data": f"payload-{i}".encode(), "PartitionKey": f"key-{i}"} for i in range(500)]
    put = put_batch(kinesis, stream_name, sent)
    assert put["FailedRecordCount"] == 0
    assert len(put["Records"]) == 500
    expected_shards = [owning_shard(md5_hash_key(r["PartitionKey"]), 3) for r in sent]
    assert [r["ShardId"] for r in put["Records"]] == expected_shards
    assert len(set(expected_shards)) == 3

    for index in range(3):
        shard = shard_id(index)
        records, _ = read_shard(kinesis, iterator_for(kinesis, stream_name, shard), max_calls=2)
        wanted = [
            (s["Data"], r["SequenceNumber"])
            for s, r in zip(sent, put["Records"], strict=True)
            if r["ShardId"] == shard
        ]
        assert [(r["Data"], r["SequenceNumber"]) for r in records] == wanted


def test_partition_keys_route_by_md5_into_awss_shard_ranges(kinesis, stream_name):
    """Three shards: ranges as recorded against AWS, each key lands where MD5 says."""
    create_stream(kinesis, stream_name, shards=3)
    listed = kinesis.list_shards(StreamName=stream_name)["Shards"]
    assert [s["HashKeyRange"] for s in listed] == [
        {
            "StartingHashKey": "0",
            "EndingHashKey": "113427455640312821154458202477256070484",
        },
        {
            "StartingHashKey": "113427455640312821154458202477256070485",
            "EndingHashKey": "226854911280625642308916404954512140969",
        },
        {
            "StartingHashKey": "226854911280625642308916404954512140970",
            "EndingHashKey": "340282366920938463463374607431768211455",
        },
    ]
    keys = ["a", "b", "user-1", "user-2", "ÄÖÜ-ünïcode", "x" * 256, *(f"o{i}" for i in range(60))]
    put = put_batch(kinesis, stream_name, [{"Data": b"d", "PartitionKey": k} for k in keys])
    assert [r["ShardId"] for r in put["Records"]] == [
        owning_shard(md5_hash_key(k), 3) for k in keys
    ]


def test_put_records_of_501_is_a_validation_error(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        put_batch(kinesis, stream_name, [{"Data": b"x", "PartitionKey": "a"}] * 501)
    code, message = aws_error(error)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: ")
    assert message.endswith(
        "at 'records' failed to satisfy constraint: Member must have length less than or "
        "equal to 500"
    )


def test_put_records_with_one_record_over_one_mib_is_a_validation_error(kinesis, stream_name):
    """The whole request fails, naming the 1-based index of the oversized record."""
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        put_batch(
            kinesis,
            stream_name,
            [{"Data": b"ok", "PartitionKey": "a"}, {"Data": b"x" * (MIB + 1), "PartitionKey": "a"}],
        )
    code, message = aws_error(error)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: ")
    assert (
        "at 'records.2.member.data' failed to satisfy constraint: Member must have length "
        "less than or equal to 1048576" in message
    )
    records, _ = read_shard(kinesis, iterator_for(kinesis, stream_name), max_calls=1)
    assert records == []


def test_put_records_of_exactly_five_mib_is_accepted(kinesis, stream_name):
    """Five 1 MiB records (data + key), one per shard so no shard's 1 MiB/s is exceeded."""
    create_stream(kinesis, stream_name, shards=5)
    starts = [start for start, _ in hash_ranges(5)]
    put = put_batch(
        kinesis,
        stream_name,
        [
            {"Data": b"y" * (MIB - 1), "PartitionKey": "k", "ExplicitHashKey": str(start)}
            for start in starts
        ],
    )
    assert put["FailedRecordCount"] == 0
    assert [r["ShardId"] for r in put["Records"]] == [shard_id(i) for i in range(5)]


def test_put_records_over_five_mib_in_total_is_rejected(kinesis, stream_name):
    create_stream(kinesis, stream_name, shards=2)
    with pytest.raises(ClientError) as error:
        put_batch(kinesis, stream_name, [{"Data": b"z" * (900 * 1024), "PartitionKey": "k"}] * 6)
    assert aws_error(error) == ("InvalidArgumentException", "Records size exceeds 5 MB limit")
    assert http_status(error) == 400
    for shard in (SHARD0, SHARD1):
        records, _ = read_shard(kinesis, iterator_for(kinesis, stream_name, shard), max_calls=1)
        assert records == []


def test_request_body_over_the_servers_limit_is_http_413(kinesis, stream_name):
    """About 16 MiB of JSON: refused before parsing, and the server keeps serving."""
    create_stream(kinesis, stream_name, shards=2)
    with pytest.raises(ClientError) as error:
        put_batch(kinesis, stream_name, [{"Data": b"q" * 1_048_000, "PartitionKey": "k"}] * 12)
    assert http_status(error) == 413
    put = kinesis.put_record(StreamName=stream_name, Data=b"after", PartitionKey="k")
    records, _ = read_shard(
        kinesis, iterator_for(kinesis, stream_name, put["ShardId"]), max_calls=1
    )
    assert [r["Data"] for r in records] == [b"after"]


# -- GetShardIterator: the five types -----------------------------------------------------


def test_trim_horizon_starts_at_the_oldest_record(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    put_batch(
        kinesis, stream_name, [{"Data": f"{i}".encode(), "PartitionKey": "a"} for i in range(3)]
    )
    records, _ = read_shard(kinesis, iterator_for(kinesis, stream_name), max_calls=2)
    assert [r["Data"] for r in records] == [b"0", b"1", b"2"]


def test_latest_sees_only_records_put_after_it(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    put_batch(kinesis, stream_name, [{"Data": b"old", "PartitionKey": "a"}] * 2)
    iterator = iterator_for(kinesis, stream_name, kind="LATEST")
    first = kinesis.get_records(ShardIterator=iterator)
    assert first["Records"] == []
    kinesis.put_record(StreamName=stream_name, Data=b"new", PartitionKey="a")
    second = kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["Data"] for r in second["Records"]] == [b"new"]


def test_at_and_after_sequence_number(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    put = put_batch(
        kinesis, stream_name, [{"Data": f"{i}".encode(), "PartitionKey": "a"} for i in range(5)]
    )
    numbers = [r["SequenceNumber"] for r in put["Records"]]

    at = iterator_for(
        kinesis, stream_name, kind="AT_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[2]
    )
    assert [r["SequenceNumber"] for r in kinesis.get_records(ShardIterator=at)["Records"]] == (
        numbers[2:]
    )
    after = iterator_for(
        kinesis, stream_name, kind="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[2]
    )
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=after)["Records"]] == [
        b"3",
        b"4",
    ]
    after_last = iterator_for(
        kinesis, stream_name, kind="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[-1]
    )
    assert kinesis.get_records(ShardIterator=after_last)["Records"] == []


def test_at_timestamp_starts_at_the_first_record_arriving_then_or_later(
    clock_server, clock_kinesis, stream_name
):
    """Records a second apart (server clock): a timestamp between two puts starts at the later."""
    kinesis = clock_kinesis
    create_stream(kinesis, stream_name)
    for label in (b"A", b"B", b"C"):
        kinesis.put_record(StreamName=stream_name, Data=label, PartitionKey="a")
        clock_server.advance_clock(1000)
    stored = kinesis.get_records(ShardIterator=iterator_for(kinesis, stream_name))["Records"]
    assert [r["Data"] for r in stored] == [b"A", b"B", b"C"]
    arrival = [r["ApproximateArrivalTimestamp"] for r in stored]

    def from_time(moment: datetime) -> list[bytes]:
        iterator = iterator_for(kinesis, stream_name, kind="AT_TIMESTAMP", Timestamp=moment)
        return [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]]

    assert from_time(arrival[0] - timedelta(seconds=10)) == [b"A", b"B", b"C"]
    assert from_time(arrival[0]) == [b"A", b"B", b"C"]
    # botocore sends JSON timestamps in whole seconds: the first whole second after A's
    # arrival lies between A and B (a second apart).
    after_a = datetime.fromtimestamp(math.floor(arrival[0].timestamp()) + 1, UTC)
    assert from_time(after_a) == [b"B", b"C"]
    after_c = datetime.fromtimestamp(math.floor(arrival[2].timestamp()) + 1, UTC)
    assert from_time(after_c) == []


# -- GetShardIterator: errors -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["TRIM_HORIZON", "LATEST"])
def test_starting_sequence_number_with_trim_horizon_or_latest_is_rejected(
    kinesis, stream_name, kind
):
    create_stream(kinesis, stream_name)
    number = kinesis.put_record(StreamName=stream_name, Data=b"x", PartitionKey="a")[
        "SequenceNumber"
    ]
    with pytest.raises(ClientError) as error:
        iterator_for(kinesis, stream_name, kind=kind, StartingSequenceNumber=number)
    assert aws_error(error) == (
        "InvalidArgumentException",
        f"{ITERATOR_MESSAGE_PREFIX}Request specified {kind} and also a StartingSequenceNumber.",
    )


@pytest.mark.parametrize("kind", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_sequence_number_types_without_starting_sequence_number_are_rejected(
    kinesis, stream_name, kind
):
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        iterator_for(kinesis, stream_name, kind=kind)
    assert aws_error(error) == (
        "InvalidArgumentException",
        f"{ITERATOR_MESSAGE_PREFIX}Request specified {kind} and no StartingSequenceNumber.",
    )


def test_at_timestamp_without_timestamp_is_rejected(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        iterator_for(kinesis, stream_name, kind="AT_TIMESTAMP")
    assert aws_error(error) == (
        "InvalidArgumentException",
        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
        "Current request has no timestamp parameter.",
    )


def test_at_timestamp_in_the_future_is_rejected(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    future = datetime(2200, 1, 1, tzinfo=UTC)
    with pytest.raises(ClientError) as error:
        iterator_for(kinesis, stream_name, kind="AT_TIMESTAMP", Timestamp=future)
    code, message = aws_error(error)
    assert code == "InvalidArgumentException"
    assert re.fullmatch(
        re.escape(
            "The timestampInMillis parameter cannot be greater than the "
            "currentTimestampInMillis. timestampInMillis: 7258118400000, "
            "currentTimestampInMillis: "
        )
        + r"\d{13}",
        message,
    ), message


def test_malformed_starting_sequence_number_is_rejected(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        iterator_for(
            kinesis,
            stream_name,
            kind="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=MALFORMED_SEQUENCE_NUMBER,
        )
    assert aws_error(error) == (
        "InvalidArgumentException",
        f"StartingSequenceNumber {MALFORMED_SEQUENCE_NUMBER} used in GetShardIterator on shard "
        f"{SHARD0} in stream {stream_name} under account {ACCOUNT} is invalid.",
    )


@pytest.mark.parametrize("kind", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_sequence_number_of_another_shard_is_rejected(kinesis, stream_name, kind):
    create_stream(kinesis, stream_name, shards=2)
    on_shard1 = kinesis.put_record(
        StreamName=stream_name,
        Data=b"x",
        PartitionKey="a",
        ExplicitHashKey=str(hash_ranges(2)[1][0]),
    )
    assert on_shard1["ShardId"] == SHARD1
    with pytest.raises(ClientError) as error:
        iterator_for(
            kinesis,
            stream_name,
            SHARD0,
            kind=kind,
            StartingSequenceNumber=on_shard1["SequenceNumber"],
        )
    assert aws_error(error) == (
        "InvalidArgumentException",
        f"Invalid StartingSequenceNumber. It encodes {SHARD1}, while it was used in a call to "
        f"a shard with {SHARD0}",
    )


@pytest.mark.parametrize("given", ["shardId-000000000009", "shardId-9", "9", "anything-09"])
def test_unknown_shard_is_not_found_with_a_normalised_id(kinesis, stream_name, given):
    create_stream(kinesis, stream_name, shards=2)
    with pytest.raises(ClientError) as error:
        iterator_for(kinesis, stream_name, given)
    assert aws_error(error) == (
        "ResourceNotFoundException",
        f"Shard shardId-000000000009 in stream {stream_name} under account {ACCOUNT} "
        "does not exist",
    )


@pytest.mark.parametrize("given", ["ABKLFD8", "shardId-002147483648", "shardId-x1"])
def test_unparseable_shard_id_is_not_found_as_given(kinesis, stream_name, given):
    create_stream(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        iterator_for(kinesis, stream_name, given)
    assert aws_error(error) == (
        "ResourceNotFoundException",
        f"Could not find shard {given} in stream {stream_name} under account {ACCOUNT}.",
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "shardId-0",
            "Shard shardId-000000000000 in stream {name} under account {account} does not exist",
        ),
        ("ABKLFD8", "Could not find shard ABKLFD8 in stream {name} under account {account}."),
    ],
    ids=["parseable", "unparseable"],
)
def test_shard_iterator_on_a_missing_stream_names_the_shard(kinesis, stream_name, given, message):
    """AWS resolves the shard id first, then reports the shard (not the stream) as missing."""
    with pytest.raises(ClientError) as error:
        iterator_for(kinesis, stream_name, given, kind="LATEST")
    assert aws_error(error) == (
        "ResourceNotFoundException",
        message.format(name=stream_name, account=ACCOUNT),
    )


@pytest.mark.parametrize("given", ["shardId-1", "1", "shard-1", "anything-0001"])
def test_short_shard_ids_are_normalised(kinesis, stream_name, given):
    create_stream(kinesis, stream_name, shards=2)
    put = kinesis.put_record(
        StreamName=stream_name,
        Data=b"on-1",
        PartitionKey="a",
        ExplicitHashKey=str(hash_ranges(2)[1][0]),
    )
    assert put["ShardId"] == SHARD1
    records = kinesis.get_records(ShardIterator=iterator_for(kinesis, stream_name, given))[
        "Records"
    ]
    assert [r["SequenceNumber"] for r in records] == [put["SequenceNumber"]]


# -- GetRecords ---------------------------------------------------------------------------


def test_limit_caps_each_read_and_next_iterators_read_everything_exactly_once(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    put = put_batch(
        kinesis, stream_name, [{"Data": f"{i}".encode(), "PartitionKey": "a"} for i in range(12)]
    )
    iterator = iterator_for(kinesis, stream_name)
    sizes = []
    seen: list[str] = []
    for _ in range(4):
        response = kinesis.get_records(ShardIterator=iterator, Limit=5)
        sizes.append(len(response["Records"]))
        seen.extend(r["SequenceNumber"] for r in response["Records"])
        iterator = response["NextShardIterator"]
    assert sizes == [5, 5, 2, 0]
    assert seen == [r["SequenceNumber"] for r in put["Records"]]
    # The iterator from the empty read still leads on to what comes next.
    late = kinesis.put_record(StreamName=stream_name, Data=b"late", PartitionKey="a")
    response = kinesis.get_records(ShardIterator=iterator, Limit=5)
    assert [r["SequenceNumber"] for r in response["Records"]] == [late["SequenceNumber"]]


def test_limit_of_one_and_of_ten_thousand(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    put_batch(kinesis, stream_name, [{"Data": b"r", "PartitionKey": "a"}] * 500)
    iterator = iterator_for(kinesis, stream_name)
    one = kinesis.get_records(ShardIterator=iterator, Limit=1)
    assert len(one["Records"]) == 1
    rest = kinesis.get_records(ShardIterator=one["NextShardIterator"], Limit=10000)
    assert len(rest["Records"]) == 499
    assert rest["MillisBehindLatest"] == 0


@pytest.mark.parametrize(
    ("limit", "constraint"),
    [
        (0, "Member must have value greater than or equal to 1"),
        (10001, "Member must have value less than or equal to 10000"),
    ],
    ids=["0", "10001"],
)
def test_limit_outside_one_to_ten_thousand_is_a_validation_error(
    kinesis, unvalidated_kinesis, stream_name, limit, constraint
):
    create_stream(kinesis, stream_name)
    iterator = iterator_for(kinesis, stream_name)
    with pytest.raises(ClientError) as error:
        unvalidated_kinesis.get_records(ShardIterator=iterator, Limit=limit)
    assert aws_error(error) == (
        "ValidationException",
        f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
        f"constraint: {constraint}",
    )


def test_empty_read_returns_records_list_next_iterator_and_zero_lag(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    response = kinesis.get_records(ShardIterator=iterator_for(kinesis, stream_name))
    assert response["Records"] == []
    assert response["NextShardIterator"]
    assert response["MillisBehindLatest"] == 0


def test_millis_behind_latest_is_zero_once_caught_up_and_positive_before(
    clock_server, clock_kinesis, stream_name
):
    kinesis = clock_kinesis
    create_stream(kinesis, stream_name)
    kinesis.put_record(StreamName=stream_name, Data=b"old", PartitionKey="a")
    clock_server.advance_clock(5000)
    kinesis.put_record(StreamName=stream_name, Data=b"new", PartitionKey="a")
    first = kinesis.get_records(ShardIterator=iterator_for(kinesis, stream_name), Limit=1)
    assert [r["Data"] for r in first["Records"]] == [b"old"]
    assert first["MillisBehindLatest"] >= 5000
    second = kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["Data"] for r in second["Records"]] == [b"new"]
    assert second["MillisBehindLatest"] == 0


def test_approximate_arrival_timestamp_is_close_to_put_time(unlimited_kinesis, stream_name):
    kinesis = unlimited_kinesis
    create_stream(kinesis, stream_name)
    before = time.time()
    kinesis.put_record(StreamName=stream_name, Data=b"x", PartitionKey="a")
    after = time.time()
    (record,) = kinesis.get_records(ShardIterator=iterator_for(kinesis, stream_name))["Records"]
    arrival = record["ApproximateArrivalTimestamp"].timestamp()
    assert before - 1.0 <= arrival <= after + 1.0


@pytest.mark.parametrize("token", ["not-an-iterator", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_invalid_iterator_is_rejected(kinesis, token):
    with pytest.raises(ClientError) as error:
        kinesis.get_records(ShardIterator=token)
    assert aws_error(error) == ("InvalidArgumentException", "Invalid ShardIterator.")


def test_tampered_iterator_is_rejected(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    iterator = iterator_for(kinesis, stream_name)
    middle = len(iterator) // 2
    tampered = (
        iterator[:middle] + ("A" if iterator[middle] != "A" else "B") + iterator[middle + 1 :]
    )
    with pytest.raises(ClientError) as error:
        kinesis.get_records(ShardIterator=tampered)
    assert aws_error(error) == ("InvalidArgumentException", "Invalid ShardIterator.")


def test_iterator_expires_after_five_minutes(clock_server, clock_kinesis, stream_name):
    kinesis = clock_kinesis
    create_stream(kinesis, stream_name)
    iterator = iterator_for(kinesis, stream_name)
    clock_server.advance_clock(300_001)
    with pytest.raises(ClientError) as error:
        kinesis.get_records(ShardIterator=iterator)
    code, message = aws_error(error)
    assert code == "ExpiredIteratorException"
    match = re.fullmatch(
        f"Iterator expired. The iterator was created at time ({JAVA_DATE}) while right now it "
        f"is ({JAVA_DATE}) which is further in the future than the tolerated delay of "
        "300000 milliseconds.",
        message,
    )
    assert match, message
    created, now = (datetime.strptime(g, "%a %b %d %H:%M:%S UTC %Y") for g in match.groups())
    assert 300 <= (now - created).total_seconds() <= 302


def test_iterator_of_a_deleted_stream_is_not_found(kinesis, stream_name):
    create_stream(kinesis, stream_name)
    kinesis.put_record(StreamName=stream_name, Data=b"x", PartitionKey="a")
    iterator = iterator_for(kinesis, stream_name)
    kinesis.delete_stream(StreamName=stream_name)
    with pytest.raises(ClientError) as error:
        kinesis.get_records(ShardIterator=iterator)
    assert aws_error(error) == (
        "ResourceNotFoundException",
        f"Shard {SHARD0} in stream {stream_name} under account {ACCOUNT} does not exist",
    )


# -- limits (the session server runs with --limits aws, the default) ----------------------


def test_over_1000_records_per_second_fail_per_record(kinesis, stream_name):
    """Throttled entries carry AWS' code and message; the rest are stored, nothing else."""
    create_stream(kinesis, stream_name)
    responses: list[tuple[list[dict], dict]] = []
    started = time.monotonic()
    for call in range(10):
        sent = [{"Data": f"{call}-{i}".encode(), "PartitionKey": "hot"} for i in range(500)]
        response = put_batch(kinesis, stream_name, sent)
        responses.append((sent, response))
        if response["FailedRecordCount"]:
            break
    elapsed = time.monotonic() - started
    sent, throttled = responses[-1]
    assert throttled["FailedRecordCount"] > 0

    accepted: list[bytes] = []
    for sent, response in responses:
        failures = [r for r in response["Records"] if "ErrorCode" in r]
        assert response["FailedRecordCount"] == len(failures)
        for entry in failures:
            assert entry == {
                "ErrorCode": "ProvisionedThroughputExceededException",
                "ErrorMessage": rate_exceeded(stream_name),
            }
        for record, result in zip(sent, response["Records"], strict=True):
            if "ErrorCode" not in result:
                assert set(result) == {"SequenceNumber", "ShardId"}
                accepted.append(record["Data"])
    # A full second's worth goes through; not much more than 1,000 per second does.
    assert 1000 <= len(accepted) <= 1000 + 1000 * elapsed + 10

    stored = kinesis.get_records(ShardIterator=iterator_for(kinesis, stream_name), Limit=10000)
    assert [r["Data"] for r in stored["Records"]] == accepted


def test_put_record_over_the_shard_byte_rate_is_throttled(kinesis, stream_name):
    """600 KiB records: the second within a second exceeds 1 MiB/s."""
    create_stream(kinesis, stream_name)
    outcomes: list[str] = []
    error = None
    for _ in range(5):
        try:
            kinesis.put_record(StreamName=stream_name, Data=b"w" * (600 * 1024), PartitionKey="a")
            outcomes.append("ok")
        except ClientError as exc:
            error = exc
            outcomes.append("throttled")
            break
    assert outcomes[0] == "ok"
    assert error is not None, outcomes
    assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error.response["Error"]["Message"] == rate_exceeded(stream_name)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_more_than_five_reads_per_second_on_a_shard_are_throttled(kinesis, stream_name):
    """Five reads pass; a burst beyond is refused; the refused iterator works again later."""
    create_stream(kinesis, stream_name)
    kinesis.put_record(StreamName=stream_name, Data=b"x", PartitionKey="a")
    iterator = iterator_for(kinesis, stream_name)
    served = 0
    error = None
    for _ in range(20):
        try:
            iterator = kinesis.get_records(ShardIterator=iterator)["NextShardIterator"]
            served += 1
        except ClientError as exc:
            error = exc
            break
    assert error is not None, f"{served} reads in a burst were never throttled"
    assert served >= 5
    assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error.response["Error"]["Message"] in (
        rate_exceeded(stream_name),
        f"Rate exceeded for Shard - {ACCOUNT}/{stream_name}/{SHARD0}",
    )
    # The throttled call consumed nothing: the same iterator is served once the rate allows.
    deadline = time.monotonic() + 5
    while True:
        try:
            response = kinesis.get_records(ShardIterator=iterator)
            break
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            assert time.monotonic() < deadline, "reads stayed throttled for 5 s"
            time.sleep(0.05)
    assert response["Records"] == []


def test_with_limits_off_the_same_loads_pass(unlimited_kinesis, stream_name):
    kinesis = unlimited_kinesis
    create_stream(kinesis, stream_name)
    for call in range(6):
        sent = [{"Data": f"{call}-{i}".encode(), "PartitionKey": "hot"} for i in range(500)]
        assert put_batch(kinesis, stream_name, sent)["FailedRecordCount"] == 0
    for _ in range(3):
        kinesis.put_record(StreamName=stream_name, Data=b"w" * (600 * 1024), PartitionKey="a")
    iterator = iterator_for(kinesis, stream_name)
    total = 0
    for _ in range(20):
        response = kinesis.get_records(ShardIterator=iterator, Limit=200)
        total += len(response["Records"])
        iterator = response["NextShardIterator"]
    assert total == 3003


# -- retention and restarts ---------------------------------------------------------------


def test_records_older_than_retention_are_gone_from_trim_horizon(
    clock_server, clock_kinesis, stream_name
):
    kinesis = clock_kinesis
    create_stream(kinesis, stream_name)
    put_batch(
        kinesis, stream_name, [{"Data": f"old-{i}".encode(), "PartitionKey": "a"} for i in range(3)]
    )
    clock_server.advance_clock(23 * HOUR_MS)
    kinesis.put_record(StreamName=stream_name, Data=b"mid", PartitionKey="a")
    clock_server.advance_clock(HOUR_MS + 60_000)  # old records are now 24 h 1 min old
    kinesis.put_record(StreamName=stream_name, Data=b"new", PartitionKey="a")

    records, _ = read_shard(kinesis, iterator_for(kinesis, stream_name), max_calls=2)
    assert [r["Data"] for r in records] == [b"mid", b"new"]
    # Asking for a time before the trim horizon starts at the oldest record still kept.
    long_ago = records[0]["ApproximateArrivalTimestamp"] - timedelta(hours=30)
    iterator = iterator_for(kinesis, stream_name, kind="AT_TIMESTAMP", Timestamp=long_ago)
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [
        b"mid",
        b"new",
    ]


def test_records_survive_a_graceful_restart(tmp_path: Path, stream_name):
    """Same data, same sequence numbers, a pre-restart iterator still reads, numbers go on up."""
    server = HeadwaterServer(tmp_path / "data").start()
    try:
        kinesis = strict_client(server)
        create_stream(kinesis, stream_name, shards=2)
        sent = [{"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"} for i in range(40)]
        put = put_batch(kinesis, stream_name, sent)
        assert put["FailedRecordCount"] == 0
        old_iterator = iterator_for(kinesis, stream_name, SHARD0)

        # uvicorn re-raises the SIGTERM it handled once shutdown completes: -15, not a crash.
        assert server.stop() in (0, -signal.SIGTERM)
        server.start()

        for shard in (SHARD0, SHARD1):
            records, _ = read_shard(kinesis, iterator_for(kinesis, stream_name, shard), max_calls=2)
            assert [(r["Data"], r["SequenceNumber"]) for r in records] == [
                (s["Data"], r["SequenceNumber"])
                for s, r in zip(sent, put["Records"], strict=True)
                if r["ShardId"] == shard
            ]
        old_read = kinesis.get_records(ShardIterator=old_iterator)["Records"]
        assert [r["SequenceNumber"] for r in old_read] == [
            r["SequenceNumber"] for r in put["Records"] if r["ShardId"] == SHARD0
        ]
        again = kinesis.put_record(StreamName=stream_name, Data=b"after", PartitionKey="k0")
        before = [
            int(r["SequenceNumber"]) for r in put["Records"] if r["ShardId"] == again["ShardId"]
        ]
        assert int(again["SequenceNumber"]) > max(before)
    finally:
        server.stop()
