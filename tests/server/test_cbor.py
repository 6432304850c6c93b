"""AWS CBOR 1.1 (``application/x-amz-cbor-1.1``), what the AWS Java SDKs, KCL and Flink send.

Requests are built with cbor2 the way those SDKs build them: blobs as CBOR byte strings,
timestamps as tag 1 wrapping an integer number of epoch *milliseconds* (AWS' reading of tag 1,
not RFC 8949's seconds). Responses must use the same forms: a float under tag 1, or seconds,
breaks the Java SDKs. Requests are signed with botocore and posted raw with httpx.

The module runs its own server without ``--dev-clock`` so timestamps can be compared with the
wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.server import HeadwaterServer

CBOR_TYPE = "application/x-amz-cbor-1.1"
JSON_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Kinesis_20131202."
ACCOUNT = "000000000000"
SHARD0 = "shardId-000000000000"
ALL_BYTES = bytes(range(256))
# Arrival time vs. our clock: same machine, so only the request's own duration separates them.
CLOCK_SLACK_MS = 2_000


def millis_now() -> int:
    return time.time_ns() // 1_000_000


def _keep_tag_1(value: Any, _immutable: bool) -> cbor2.CBORTag:
    """Leave tag 1 as it came (cbor2 would read it as seconds and fail on milliseconds)."""
    return cbor2.CBORTag(1, value)


def decode(body: bytes) -> Any:
    return cbor2.loads(body, semantic_decoders={1: _keep_tag_1})


def assert_millis_tag(value: Any, low_ms: int, high_ms: int) -> int:
    """``value`` is tag 1 around an integer of epoch milliseconds within [low, high]."""
    assert isinstance(value, cbor2.CBORTag), value
    assert value.tag == 1
    assert type(value.value) is int, f"tag 1 must wrap an integer, got {value.value!r}"
    assert low_ms - CLOCK_SLACK_MS <= value.value <= high_ms + CLOCK_SLACK_MS, (value, low_ms)
    return value.value


class CborClient:
    """Signed raw POSTs in either wire format over one keep-alive connection."""

    def __init__(self, endpoint: str) -> None:
        self.url = endpoint + "/"
        self.http = httpx.Client(timeout=30)
        self.signer = SigV4Auth(Credentials("AKIDTEST", "secret"), "kinesis", "us-east-1")

    def post(self, operation: str, body: bytes, content_type: str = CBOR_TYPE) -> httpx.Response:
        headers = {"Content-Type": content_type, "X-Amz-Target": TARGET_PREFIX + operation}
        request = AWSRequest(method="POST", url=self.url, data=body, headers=headers)
        self.signer.add_auth(request)
        return self.http.post(self.url, content=body, headers=dict(request.headers.items()))

    def call(self, operation: str, payload: dict[str, Any], **dumps: Any) -> dict[str, Any]:
        """A CBOR call that must succeed; the decoded response (tag 1 kept as a tag)."""
        response = self.raw_call(operation, payload, **dumps)
        assert response.status_code == 200, (operation, response.status_code, response.content)
        assert response.headers["content-type"] == CBOR_TYPE
        return decode(response.content) if response.content else {}

    def raw_call(self, operation: str, payload: dict[str, Any], **dumps: Any) -> httpx.Response:
        return self.post(operation, cbor2.dumps(payload, **dumps))

    def error(self, operation: str, body: bytes) -> dict[str, Any]:
        """A call that must fail the way AWS fails CBOR requests: 400, a CBOR map."""
        response = self.post(operation, body)
        assert response.status_code == 400, (response.status_code, response.content)
        assert response.headers["content-type"] == CBOR_TYPE
        error = decode(response.content)
        assert isinstance(error, dict), error
        return error


@pytest.fixture(scope="module")
def cbor_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    data_dir: Path = tmp_path_factory.mktemp("cbor-server") / "data"
    running = HeadwaterServer(data_dir, "--limits", "off").start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def cbor(cbor_server: HeadwaterServer) -> Iterator[CborClient]:
    client = CborClient(cbor_server.endpoint)
    yield client
    client.http.close()


@pytest.fixture(scope="module")
def json_kinesis(cbor_server: HeadwaterServer):
    """boto3 (JSON 1.1) against the same server."""
    return cbor_server.client()


def trim_horizon(cbor: CborClient, stream: str) -> str:
    return cbor.call(
        "GetShardIterator",
        {"StreamName": stream, "ShardId": SHARD0, "ShardIteratorType": "TRIM_HORIZON"},
    )["ShardIterator"]


def test_binary_records_round_trip_byte_for_byte(cbor: CborClient, stream_name: str) -> None:
    """Byte strings in, the same byte strings out, with integer-millisecond arrival times."""
    before = millis_now()
    assert (
        cbor.raw_call("CreateStream", {"StreamName": stream_name, "ShardCount": 1}).status_code
        == 200
    )
    payloads = [ALL_BYTES, b"\x00", b"\xff", bytes(reversed(ALL_BYTES)) * 40, "naïve ✓".encode()]
    put = cbor.call(
        "PutRecords",
        {
            "StreamName": stream_name,
            "Records": [
                {"Data": data, "PartitionKey": f"key-{i}"} for i, data in enumerate(payloads)
            ],
        },
    )
    assert put["FailedRecordCount"] == 0
    assert [r["ShardId"] for r in put["Records"]] == [SHARD0] * len(payloads)
    single = cbor.call(
        "PutRecord", {"StreamName": stream_name, "Data": b"\x80", "PartitionKey": "single"}
    )
    assert single["ShardId"] == SHARD0
    numbers = [r["SequenceNumber"] for r in put["Records"]] + [single["SequenceNumber"]]

    response = cbor.raw_call("GetRecords", {"ShardIterator": trim_horizon(cbor, stream_name)})
    after = millis_now()
    assert response.status_code == 200
    assert response.headers["content-type"] == CBOR_TYPE
    got = decode(response.content)
    records = got["Records"]
    assert [r["Data"] for r in records] == [*payloads, b"\x80"]
    assert all(type(r["Data"]) is bytes for r in records)
    assert [r["SequenceNumber"] for r in records] == numbers
    assert [r["PartitionKey"] for r in records] == [f"key-{i}" for i in range(5)] + ["single"]
    for record in records:
        assert_millis_tag(record["ApproximateArrivalTimestamp"], before, after)
    assert got["MillisBehindLatest"] == 0
    assert isinstance(got["NextShardIterator"], str)
    # On the wire: c1 (tag 1) then an integer head (1b: uint64), never fb (float64).
    assert b"ApproximateArrivalTimestamp\xc1\xfb" not in response.content
    assert b"ApproximateArrivalTimestamp\xc1\x1b" in response.content


def test_stream_creation_timestamp_is_integer_millis(cbor: CborClient, stream_name: str) -> None:
    """DescribeStream, DescribeStreamSummary and ListStreams all send tag 1 + integer ms."""
    before = millis_now()
    cbor.call("CreateStream", {"StreamName": stream_name, "ShardCount": 2})
    after = millis_now()

    described = cbor.raw_call("DescribeStream", {"StreamName": stream_name})
    assert described.status_code == 200
    assert b"StreamCreationTimestamp\xc1\xfb" not in described.content
    description = decode(described.content)["StreamDescription"]
    created = assert_millis_tag(description["StreamCreationTimestamp"], before, after)
    assert description["StreamName"] == stream_name
    assert description["StreamStatus"] == "ACTIVE"
    assert description["RetentionPeriodHours"] == 24
    assert len(description["Shards"]) == 2

    summary = cbor.call("DescribeStreamSummary", {"StreamName": stream_name})
    summary = summary["StreamDescriptionSummary"]
    assert summary["StreamCreationTimestamp"] == cbor2.CBORTag(1, created)
    assert summary["OpenShardCount"] == 2

    listed = cbor.call("ListStreams", {})
    (mine,) = [s for s in listed["StreamSummaries"] if s["StreamName"] == stream_name]
    assert mine["StreamCreationTimestamp"] == cbor2.CBORTag(1, created)
    assert stream_name in listed["StreamNames"]


def test_at_timestamp_reads_tag_1_as_milliseconds(cbor: CborClient, stream_name: str) -> None:
    """A tag-1 millisecond Timestamp positions an AT_TIMESTAMP iterator to the millisecond."""
    cbor.call("CreateStream", {"StreamName": stream_name, "ShardCount": 1})
    first = cbor.call(
        "PutRecord", {"StreamName": stream_name, "Data": b"first", "PartitionKey": "k"}
    )
    records = cbor.call("GetRecords", {"ShardIterator": trim_horizon(cbor, stream_name)})
    first_ms = records["Records"][0]["ApproximateArrivalTimestamp"].value

    # Put until one lands in a later millisecond than the first (bounded; usually once).
    later_ms, later_number = first_ms, ""
    deadline = time.monotonic() + 10
    for attempt in range(200):
        if later_ms > first_ms or time.monotonic() > deadline:
            break
        put = cbor.call(
            "PutRecord",
            {"StreamName": stream_name, "Data": f"later-{attempt}".encode(), "PartitionKey": "k"},
        )
        later_number = put["SequenceNumber"]
        iterator = cbor.call(
            "GetShardIterator",
            {
                "StreamName": stream_name,
                "ShardId": SHARD0,
                "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                "StartingSequenceNumber": later_number,
            },
        )["ShardIterator"]
        got = cbor.call("GetRecords", {"ShardIterator": iterator, "Limit": 1})
        later_ms = got["Records"][0]["ApproximateArrivalTimestamp"].value
    assert later_ms > first_ms, "no record arrived in a later millisecond"

    def first_number_at(moment_ms: int) -> str:
        iterator = cbor.call(
            "GetShardIterator",
            {
                "StreamName": stream_name,
                "ShardId": SHARD0,
                "ShardIteratorType": "AT_TIMESTAMP",
                "Timestamp": cbor2.CBORTag(1, moment_ms),
            },
        )["ShardIterator"]
        return cbor.call("GetRecords", {"ShardIterator": iterator, "Limit": 1})["Records"][0][
            "SequenceNumber"
        ]

    assert first_number_at(first_ms) == first["SequenceNumber"]
    assert first_number_at(first_ms - 1) == first["SequenceNumber"]
    assert first_number_at(later_ms) == later_number

    # A Timestamp an hour ahead: AWS' message echoes it in milliseconds.
    future_ms = millis_now() + 3_600_000
    error = cbor.error(
        "GetShardIterator",
        cbor2.dumps(
            {
                "StreamName": stream_name,
                "ShardId": SHARD0,
                "ShardIteratorType": "AT_TIMESTAMP",
                "Timestamp": cbor2.CBORTag(1, future_ms),
            }
        ),
    )
    assert error["__type"] == "InvalidArgumentException"
    prefix = (
        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
        f"timestampInMillis: {future_ms}, currentTimestampInMillis: "
    )
    assert error["message"].startswith(prefix), error
    current = int(error["message"][len(prefix) :])
    assert abs(current - millis_now()) < CLOCK_SLACK_MS


def test_errors_are_cbor_maps(cbor: CborClient, stream_name: str) -> None:
    """Service errors come back as CBOR maps with __type and message, status 400."""
    missing = cbor.error("DescribeStream", cbor2.dumps({"StreamName": stream_name}))
    assert missing == {
        "__type": "ResourceNotFoundException",
        "message": f"Stream {stream_name} under account {ACCOUNT} not found.",
    }
    bad_iterator = cbor.error("GetRecords", cbor2.dumps({"ShardIterator": "not-an-iterator"}))
    assert bad_iterator == {
        "__type": "InvalidArgumentException",
        "message": "Invalid ShardIterator.",
    }
    unknown = cbor.error("NoSuchOperation", cbor2.dumps({}))
    assert unknown["__type"] == "UnknownOperationException"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\xbf\x6aStreamName", id="truncated-indefinite-map"),
        pytest.param(b"\xa1\x6aStreamName\x64ab", id="truncated-string"),
        pytest.param(b"\xff", id="lone-break"),
        pytest.param(b"\x1c", id="reserved-additional-info"),
    ],
)
def test_malformed_cbor_is_serialization_exception(cbor: CborClient, body: bytes) -> None:
    error = cbor.error("DescribeStream", body)
    assert error["__type"] == "SerializationException"


def test_indefinite_length_containers_are_accepted(cbor: CborClient, stream_name: str) -> None:
    """Jackson's CBOR generator (AWS Java SDK v1) writes maps and arrays of indefinite length."""
    cbor.call(
        "CreateStream", {"StreamName": stream_name, "ShardCount": 1}, indefinite_containers=True
    )
    put = cbor.call(
        "PutRecords",
        {
            "StreamName": stream_name,
            "Records": [
                {"Data": ALL_BYTES, "PartitionKey": "a"},
                {"Data": b"z", "PartitionKey": "b"},
            ],
        },
        indefinite_containers=True,
    )
    assert put["FailedRecordCount"] == 0
    got = cbor.call("GetRecords", {"ShardIterator": trim_horizon(cbor, stream_name)})
    assert [r["Data"] for r in got["Records"]] == [ALL_BYTES, b"z"]


def test_json_and_cbor_see_the_same_records(
    cbor: CborClient, json_kinesis, stream_name: str
) -> None:
    """Written in one encoding, read in the other: same bytes, numbers and arrival times."""
    json_kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    via_json = [ALL_BYTES, b"\x00", b"{}"]
    json_put = json_kinesis.put_records(
        StreamName=stream_name,
        Records=[{"Data": d, "PartitionKey": "json"} for d in via_json],
    )
    assert json_put["FailedRecordCount"] == 0
    via_cbor = [bytes(reversed(ALL_BYTES)), b"\x01"]
    cbor_put = cbor.call(
        "PutRecords",
        {
            "StreamName": stream_name,
            "Records": [{"Data": d, "PartitionKey": "cbor"} for d in via_cbor],
        },
    )
    assert cbor_put["FailedRecordCount"] == 0
    numbers = [r["SequenceNumber"] for r in json_put["Records"] + cbor_put["Records"]]

    read_cbor = cbor.call("GetRecords", {"ShardIterator": trim_horizon(cbor, stream_name)})
    iterator = json_kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId=SHARD0, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    read_json = json_kinesis.get_records(ShardIterator=iterator)

    assert [r["Data"] for r in read_cbor["Records"]] == via_json + via_cbor
    assert [r["Data"] for r in read_json["Records"]] == via_json + via_cbor
    assert [r["SequenceNumber"] for r in read_cbor["Records"]] == numbers
    assert [r["SequenceNumber"] for r in read_json["Records"]] == numbers
    assert [r["PartitionKey"] for r in read_cbor["Records"]] == ["json"] * 3 + ["cbor"] * 2
    # One instant, two encodings: JSON seconds with millisecond fraction, CBOR milliseconds.
    for as_cbor, as_json in zip(read_cbor["Records"], read_json["Records"], strict=True):
        millis = as_cbor["ApproximateArrivalTimestamp"].value
        assert type(millis) is int
        assert round(as_json["ApproximateArrivalTimestamp"].timestamp() * 1000) == millis
