"""Control-plane operations through boto3 against the real server.

Covers stream lifecycle, description, listing, retention, tags, limits, monitoring and
encryption: the answers (fields, types, pagination) and the errors (type, AWS' message, HTTP
status) that tools such as the AWS CLI, Terraform and the KCL rely on. Messages follow
/work/research/kinesis-semantics.md; where AWS' text is unconfirmed only the type is checked.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import HeadwaterServer

ACCOUNT = "000000000000"
REGION = "us-east-1"
HASH_KEY_MAX = 2**128 - 1
ALL_METRICS = {
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
}
BIG_STREAM_SHARDS = 1001  # past DescribeStream's 100 and ListShards' 1000 per page
OWN_SHARD_LIMIT = 200
INVALID_TAG_CHARACTERS = (
    "Some tags contain invalid characters. Valid characters: "
    "Unicode letters, digits, white space, _ . / = + - % @."
)
INVALID_UNTAG_CHARACTERS = (
    "Some tags contain invalid characters. Valid characters: "
    "Unicode letters, digits, white space, _ . / = + - % @ :."
)


# --- helpers -----------------------------------------------------------------------------


def arn_of(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def not_found(name: str) -> str:
    return f"Stream {name} under account {ACCOUNT} not found."


def quota_message(current: int, limit: int, additional: int) -> str:
    return (
        f"This request would exceed the shard limit for the account {ACCOUNT} in {REGION}. "
        f"Current shard count for the account: {current}. Limit: {limit}. Number of additional "
        f"shards that would have resulted from this request: {additional}. Refer to the AWS "
        "Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html)"
        " for current limits and how to request higher limits."
    )


def expect_error(
    call: Callable[..., Any], code: str, message: str | None = None, **params: Any
) -> str:
    """Call and require a 400 with this error code (and message); returns the message."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if message is not None:
        assert response["Error"]["Message"] == message
    return response["Error"]["Message"]


def raw_call(client: Any, operation: str, **params: Any) -> tuple[dict, bytes]:
    """The parsed response and the exact body bytes the server sent."""
    captured: dict[str, bytes] = {}

    def grab(response_dict: dict, **_: Any) -> None:
        captured["body"] = response_dict["body"]

    event = f"before-parse.kinesis.{operation}"
    client.meta.events.register(event, grab)
    try:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
        parsed = getattr(client, snake)(**params)
    finally:
        client.meta.events.unregister(event, grab)
    return parsed, captured["body"]


def server_now_ms(server: HeadwaterServer) -> int:
    """The server's own clock (moving a --dev-clock by 0 ms reports it)."""
    request = urllib.request.Request(
        f"{server.endpoint}/_headwater/clock/advance?ms=0", method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["now_ms"]


def epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def shard_ids(shards: list[dict]) -> list[str]:
    return [s["ShardId"] for s in shards]


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def unvalidated_client(server: HeadwaterServer) -> Any:
    """A client that sends what it is given, so the server's own validation answers."""
    return boto3.client(
        "kinesis",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def open_shard_count(kinesis: Any) -> int:
    return kinesis.describe_limits()["OpenShardCount"]


def summary(kinesis: Any, name: str) -> dict:
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def listed_summary(kinesis: Any, name: str) -> dict | None:
    """The stream's entry in ListStreams (starting just before it), or None."""
    page = kinesis.list_streams(ExclusiveStartStreamName=name[:-1], Limit=100)
    return next((s for s in page["StreamSummaries"] if s["StreamName"] == name), None)


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    """A private server: its clock may be advanced and its shard quota is small."""
    data = Path(tmp_path_factory.mktemp("streams-api")) / "data"
    running = HeadwaterServer(data, "--dev-clock", "--shard-limit", str(OWN_SHARD_LIMIT)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def own_kinesis(own_server: HeadwaterServer) -> Any:
    return own_server.client()


@pytest.fixture(scope="module")
def big_stream(kinesis: Any) -> Iterator[str]:
    """One stream with more shards than any page holds; deleted at the end."""
    name = "streams-api-big-stream"
    kinesis.create_stream(StreamName=name, ShardCount=BIG_STREAM_SHARDS)
    try:
        yield name
    finally:
        kinesis.delete_stream(StreamName=name)


# --- CreateStream --------------------------------------------------------------------------


def test_create_stream_answers_with_empty_body_and_makes_an_active_stream(
    kinesis, server, stream_name
):
    before = server_now_ms(server)
    response, body = raw_call(kinesis, "CreateStream", StreamName=stream_name, ShardCount=2)
    after = server_now_ms(server)
    assert body == b""
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    description = summary(kinesis, stream_name)
    assert description["StreamName"] == stream_name
    assert description["StreamARN"] == arn_of(stream_name)
    assert description["StreamStatus"] == "ACTIVE"
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert description["RetentionPeriodHours"] == 24
    assert description["EncryptionType"] == "NONE"
    assert "KeyId" not in description
    assert description["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert description["OpenShardCount"] == 2
    assert description["ConsumerCount"] == 0
    assert before <= epoch_ms(description["StreamCreationTimestamp"]) <= after


def test_three_shards_split_the_hash_space_exactly_as_aws(kinesis, stream_name):
    """Recorded against AWS: step = 2^128 // 3, the last shard absorbs the remainder."""
    kinesis.create_stream(StreamName=stream_name, ShardCount=3)
    shards = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]["Shards"]
    assert shard_ids(shards) == [shard_id(0), shard_id(1), shard_id(2)]
    assert [s["HashKeyRange"] for s in shards] == [
        {"StartingHashKey": "0", "EndingHashKey": "113427455640312821154458202477256070484"},
        {
            "StartingHashKey": "113427455640312821154458202477256070485",
            "EndingHashKey": "226854911280625642308916404954512140969",
        },
        {
            "StartingHashKey": "226854911280625642308916404954512140970",
            "EndingHashKey": "340282366920938463463374607431768211455",
        },
    ]


@pytest.mark.parametrize("count", [1, 2, 5, 7])
def test_shards_cover_the_hash_space_contiguously(kinesis, stream_name, count):
    kinesis.create_stream(StreamName=stream_name, ShardCount=count)
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    assert shard_ids(shards) == [shard_id(i) for i in range(count)]
    step = 2**128 // count
    for index, shard in enumerate(shards):
        start = int(shard["HashKeyRange"]["StartingHashKey"])
        end = int(shard["HashKeyRange"]["EndingHashKey"])
        assert start == index * step
        assert end == (HASH_KEY_MAX if index == count - 1 else (index + 1) * step - 1)


def test_on_demand_stream_gets_four_shards(kinesis, stream_name):
    before = kinesis.describe_limits()
    kinesis.create_stream(StreamName=stream_name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    try:
        description = summary(kinesis, stream_name)
        assert description["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
        assert description["OpenShardCount"] == 4
        shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
        assert shard_ids(shards) == [shard_id(i) for i in range(4)]
        assert [s["HashKeyRange"]["StartingHashKey"] for s in shards] == [
            "0",
            "85070591730234615865843651857942052864",
            "170141183460469231731687303715884105728",
            "255211775190703847597530955573826158592",
        ]
        assert shards[-1]["HashKeyRange"]["EndingHashKey"] == str(HASH_KEY_MAX)
        after = kinesis.describe_limits()
        assert after["OnDemandStreamCount"] == before["OnDemandStreamCount"] + 1
        assert after["OpenShardCount"] == before["OpenShardCount"] + 4
        listed = listed_summary(kinesis, stream_name)
        assert listed is not None
        assert listed["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    finally:
        kinesis.delete_stream(StreamName=stream_name)


def test_stream_without_shard_count_or_mode_gets_four_shards(kinesis, stream_name):
    """AWS (recorded 2022) creates such a stream with 4 shards."""
    kinesis.create_stream(StreamName=stream_name)
    try:
        assert summary(kinesis, stream_name)["OpenShardCount"] == 4
    finally:
        kinesis.delete_stream(StreamName=stream_name)


def test_shard_count_with_on_demand_mode_is_refused(kinesis, stream_name):
    with pytest.raises(ClientError) as caught:
        kinesis.create_stream(
            StreamName=stream_name,
            ShardCount=2,
            StreamModeDetails={"StreamMode": "ON_DEMAND"},
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    expect_error(
        kinesis.describe_stream_summary, "ResourceNotFoundException", StreamName=stream_name
    )


def test_provisioned_mode_without_shard_count_is_refused(kinesis, stream_name):
    with pytest.raises(ClientError) as caught:
        kinesis.create_stream(
            StreamName=stream_name, StreamModeDetails={"StreamMode": "PROVISIONED"}
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    expect_error(
        kinesis.describe_stream_summary, "ResourceNotFoundException", StreamName=stream_name
    )


def test_tags_given_at_creation_are_on_the_stream(kinesis, stream_name):
    kinesis.create_stream(
        StreamName=stream_name, ShardCount=1, Tags={"team": "data", "env": "test", "cost": ""}
    )
    tags = kinesis.list_tags_for_stream(StreamName=stream_name)
    assert tags["Tags"] == [
        {"Key": "cost", "Value": ""},
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "data"},
    ]
    assert tags["HasMoreTags"] is False


def test_duplicate_name_is_resource_in_use(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    expect_error(
        kinesis.create_stream,
        "ResourceInUseException",
        f"Stream {stream_name} under account {ACCOUNT} already exists.",
        StreamName=stream_name,
        ShardCount=3,
    )
    assert summary(kinesis, stream_name)["OpenShardCount"] == 1


@pytest.mark.parametrize("name", ["has space", "slash/name", "colon:name", "ümlaut", "star*"])
def test_name_outside_the_pattern_is_a_validation_error(kinesis, name):
    expect_error(
        kinesis.create_stream,
        "ValidationException",
        f"1 validation error detected: Value '{name}' at 'streamName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        StreamName=name,
        ShardCount=1,
    )


def test_name_longer_than_128_is_a_validation_error(kinesis):
    name = "a" * 129
    expect_error(
        kinesis.create_stream,
        "ValidationException",
        f"1 validation error detected: Value '{name}' at 'streamName' failed to satisfy "
        "constraint: Member must have length less than or equal to 128",
        StreamName=name,
        ShardCount=1,
    )


def test_empty_name_and_zero_shards_are_validation_errors(server):
    client = unvalidated_client(server)
    expect_error(
        client.create_stream,
        "ValidationException",
        "3 validation errors detected: "
        "Value '0' at 'shardCount' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1; "
        "Value '' at 'streamName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
        "Value '' at 'streamName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
        StreamName="",
        ShardCount=0,
    )


def test_names_of_128_characters_and_every_allowed_character_work(kinesis, stream_name):
    long_name = ("Az09_.-" + stream_name + "x" * 128)[:128]
    kinesis.create_stream(StreamName=long_name, ShardCount=1)
    try:
        assert summary(kinesis, long_name)["StreamName"] == long_name
    finally:
        kinesis.delete_stream(StreamName=long_name)


def test_shard_count_beyond_the_account_quota_is_limit_exceeded(kinesis, stream_name):
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == 20000
    expect_error(
        kinesis.create_stream,
        "LimitExceededException",
        quota_message(limits["OpenShardCount"], 20000, 10**6),
        StreamName=stream_name,
        ShardCount=10**6,
    )
    expect_error(kinesis.describe_stream, "ResourceNotFoundException", StreamName=stream_name)
    assert open_shard_count(kinesis) == limits["OpenShardCount"]


def test_account_quota_boundary(own_kinesis, stream_name):
    """Filling the quota exactly works; one shard more, or an on-demand stream, does not."""
    limits = own_kinesis.describe_limits()
    assert limits["ShardLimit"] == OWN_SHARD_LIMIT
    remaining = OWN_SHARD_LIMIT - limits["OpenShardCount"]
    own_kinesis.create_stream(StreamName=stream_name, ShardCount=remaining)
    try:
        assert open_shard_count(own_kinesis) == OWN_SHARD_LIMIT
        expect_error(
            own_kinesis.create_stream,
            "LimitExceededException",
            quota_message(OWN_SHARD_LIMIT, OWN_SHARD_LIMIT, 1),
            StreamName=stream_name + "-more",
            ShardCount=1,
        )
        expect_error(
            own_kinesis.create_stream,
            "LimitExceededException",
            quota_message(OWN_SHARD_LIMIT, OWN_SHARD_LIMIT, 4),
            StreamName=stream_name + "-od",
            StreamModeDetails={"StreamMode": "ON_DEMAND"},
        )
    finally:
        own_kinesis.delete_stream(StreamName=stream_name)
    own_kinesis.create_stream(StreamName=stream_name + "-more", ShardCount=1)
    own_kinesis.delete_stream(StreamName=stream_name + "-more")


# --- DeleteStream --------------------------------------------------------------------------


def test_deleted_stream_is_gone_and_its_name_reusable(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=2, Tags={"old": "yes"})
    kinesis.increase_stream_retention_period(StreamName=stream_name, RetentionPeriodHours=48)
    shards_before = open_shard_count(kinesis)
    response, body = raw_call(kinesis, "DeleteStream", StreamName=stream_name)
    assert body == b""
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_error(
        kinesis.describe_stream,
        "ResourceNotFoundException",
        not_found(stream_name),
        StreamName=stream_name,
    )
    assert listed_summary(kinesis, stream_name) is None
    assert open_shard_count(kinesis) == shards_before - 2
    expect_error(
        kinesis.delete_stream,
        "ResourceNotFoundException",
        not_found(stream_name),
        StreamName=stream_name,
    )
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    fresh = summary(kinesis, stream_name)
    assert fresh["RetentionPeriodHours"] == 24
    assert fresh["OpenShardCount"] == 1
    assert kinesis.list_tags_for_stream(StreamName=stream_name)["Tags"] == []


def test_delete_accepts_enforce_consumer_deletion(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    kinesis.delete_stream(StreamName=stream_name, EnforceConsumerDeletion=True)
    expect_error(
        kinesis.describe_stream_summary, "ResourceNotFoundException", StreamName=stream_name
    )
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    kinesis.delete_stream(StreamName=stream_name, EnforceConsumerDeletion=False)
    expect_error(
        kinesis.describe_stream_summary, "ResourceNotFoundException", StreamName=stream_name
    )


# --- DescribeStream / DescribeStreamSummary ------------------------------------------------


def test_describe_stream_fields_and_types(kinesis, server, stream_name):
    before = server_now_ms(server)
    kinesis.create_stream(StreamName=stream_name, ShardCount=2)
    after = server_now_ms(server)
    response, body = raw_call(kinesis, "DescribeStream", StreamName=stream_name)
    description = response["StreamDescription"]
    assert set(description) >= {
        "StreamName",
        "StreamARN",
        "StreamStatus",
        "StreamModeDetails",
        "RetentionPeriodHours",
        "StreamCreationTimestamp",
        "EnhancedMonitoring",
        "EncryptionType",
        "HasMoreShards",
        "Shards",
    }
    assert "KeyId" not in description
    assert description["StreamName"] == stream_name
    assert description["StreamARN"] == arn_of(stream_name)
    assert description["StreamStatus"] == "ACTIVE"
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert description["RetentionPeriodHours"] == 24
    assert description["EncryptionType"] == "NONE"
    assert description["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert description["HasMoreShards"] is False
    assert isinstance(description["StreamCreationTimestamp"], datetime)
    assert before <= epoch_ms(description["StreamCreationTimestamp"]) <= after
    for shard in description["Shards"]:
        assert set(shard) == {"ShardId", "HashKeyRange", "SequenceNumberRange"}
        numbers = shard["SequenceNumberRange"]
        assert set(numbers) == {"StartingSequenceNumber"}  # open: no EndingSequenceNumber
        assert re.fullmatch(r"\d{56}", numbers["StartingSequenceNumber"])
        for key in shard["HashKeyRange"].values():
            assert isinstance(key, str) and re.fullmatch(r"0|[1-9]\d{0,38}", key)
    # On the wire: epoch seconds as a plain JSON number (SDKs choke on strings or exponents).
    wire = json.loads(body)["StreamDescription"]
    stamp = wire["StreamCreationTimestamp"]
    assert isinstance(stamp, int | float) and not isinstance(stamp, bool)
    assert re.search(rb'"StreamCreationTimestamp":\s*\d+(\.\d+)?[,}]', body)
    assert isinstance(wire["RetentionPeriodHours"], int)
    assert wire["HasMoreShards"] is False


def test_describe_stream_summary_by_arn_equals_by_name(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=3)
    by_name = summary(kinesis, stream_name)
    by_arn = kinesis.describe_stream_summary(StreamARN=by_name["StreamARN"])
    assert by_arn["StreamDescriptionSummary"] == by_name
    assert by_name["OpenShardCount"] == 3
    assert by_name["ConsumerCount"] == 0


def test_describe_stream_returns_at_most_100_shards_a_page(kinesis, big_stream):
    default = kinesis.describe_stream(StreamName=big_stream)["StreamDescription"]
    assert shard_ids(default["Shards"]) == [shard_id(i) for i in range(100)]
    assert default["HasMoreShards"] is True
    large = kinesis.describe_stream(StreamName=big_stream, Limit=10000)["StreamDescription"]
    assert len(large["Shards"]) == 100 and large["HasMoreShards"] is True
    small = kinesis.describe_stream(StreamName=big_stream, Limit=5)["StreamDescription"]
    assert shard_ids(small["Shards"]) == [shard_id(i) for i in range(5)]
    assert small["HasMoreShards"] is True


def test_describe_stream_pages_with_exclusive_start_shard_id(kinesis, big_stream):
    seen: list[str] = []
    start: str | None = None
    for _ in range(BIG_STREAM_SHARDS // 100 + 2):
        params = {"StreamName": big_stream, "Limit": 100}
        if start is not None:
            params["ExclusiveStartShardId"] = start
        page = kinesis.describe_stream(**params)["StreamDescription"]
        assert 0 < len(page["Shards"]) <= 100
        seen.extend(shard_ids(page["Shards"]))
        start = page["Shards"][-1]["ShardId"]
        if not page["HasMoreShards"]:
            break
    assert seen == [shard_id(i) for i in range(BIG_STREAM_SHARDS)]


def test_describe_stream_exclusive_start_shard_id_on_a_small_stream(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=4)
    page = kinesis.describe_stream(StreamName=stream_name, ExclusiveStartShardId=shard_id(1))
    assert shard_ids(page["StreamDescription"]["Shards"]) == [shard_id(2), shard_id(3)]
    assert page["StreamDescription"]["HasMoreShards"] is False
    last = kinesis.describe_stream(StreamName=stream_name, ExclusiveStartShardId=shard_id(3))
    assert last["StreamDescription"]["Shards"] == []
    assert last["StreamDescription"]["HasMoreShards"] is False
    two = kinesis.describe_stream(StreamName=stream_name, Limit=2)["StreamDescription"]
    assert shard_ids(two["Shards"]) == [shard_id(0), shard_id(1)]
    assert two["HasMoreShards"] is True


# --- ListStreams -----------------------------------------------------------------------------


def _create_named(kinesis: Any, base: str, count: int) -> list[str]:
    names = [f"{base}-{i}" for i in range(count)]
    for name in names:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    return names


def test_list_streams_limit_and_exclusive_start_stream_name(kinesis, stream_name):
    names = _create_named(kinesis, stream_name, 4)
    first = kinesis.list_streams(ExclusiveStartStreamName=stream_name, Limit=2)
    assert first["StreamNames"] == names[:2]
    assert first["HasMoreStreams"] is True
    assert "NextToken" in first
    assert [s["StreamName"] for s in first["StreamSummaries"]] == names[:2]
    for entry in first["StreamSummaries"]:
        assert entry["StreamARN"] == arn_of(entry["StreamName"])
        assert entry["StreamStatus"] == "ACTIVE"
        assert entry["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
        assert isinstance(entry["StreamCreationTimestamp"], datetime)
    second = kinesis.list_streams(ExclusiveStartStreamName=names[1], Limit=2)
    assert second["StreamNames"] == names[2:4]
    exclusive = kinesis.list_streams(ExclusiveStartStreamName=names[3], Limit=100)
    assert not set(names) & set(exclusive["StreamNames"])


def test_list_streams_next_token_round_trip(kinesis, stream_name):
    names = _create_named(kinesis, stream_name, 5)
    everything: list[str] = []
    summaries: list[str] = []
    token: str | None = None
    for _ in range(10_000):
        page = kinesis.list_streams(Limit=3, **({"NextToken": token} if token else {}))
        assert len(page["StreamNames"]) <= 3
        assert page["HasMoreStreams"] is ("NextToken" in page)
        everything.extend(page["StreamNames"])
        summaries.extend(s["StreamName"] for s in page["StreamSummaries"])
        token = page.get("NextToken")
        if token is None:
            break
    assert token is None
    assert everything == sorted(set(everything))
    assert summaries == everything
    assert set(names) <= set(everything)


def test_list_streams_returns_at_most_100(own_kinesis, stream_name):
    names = [f"{stream_name}-{i:03d}" for i in range(101)]
    for name in names:
        own_kinesis.create_stream(StreamName=name, ShardCount=1)
    try:
        page = own_kinesis.list_streams(Limit=10000)
        assert len(page["StreamNames"]) == 100
        assert page["HasMoreStreams"] is True
        rest = own_kinesis.list_streams(NextToken=page["NextToken"], Limit=10000)
        assert set(names) <= set(page["StreamNames"] + rest["StreamNames"])
    finally:
        for name in names:
            own_kinesis.delete_stream(StreamName=name)


def test_list_streams_refuses_a_forged_next_token(kinesis):
    expect_error(kinesis.list_streams, "InvalidArgumentException", NextToken="not-a-token")


# --- ListShards ------------------------------------------------------------------------------


def test_list_shards_lists_what_describe_stream_shows(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=4)
    listed = kinesis.list_shards(StreamName=stream_name)
    assert "NextToken" not in listed
    described = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]["Shards"]
    assert listed["Shards"] == described
    by_arn = kinesis.list_shards(StreamARN=arn_of(stream_name))
    assert by_arn["Shards"] == described


def test_list_shards_max_results_and_next_token_round_trip(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=5)
    first = kinesis.list_shards(StreamName=stream_name, MaxResults=2)
    assert shard_ids(first["Shards"]) == [shard_id(0), shard_id(1)]
    second = kinesis.list_shards(NextToken=first["NextToken"], MaxResults=2)
    assert shard_ids(second["Shards"]) == [shard_id(2), shard_id(3)]
    third = kinesis.list_shards(NextToken=second["NextToken"], MaxResults=2)
    assert shard_ids(third["Shards"]) == [shard_id(4)]
    assert "NextToken" not in third
    # A token can be redeemed again, and without MaxResults returns the rest.
    again = kinesis.list_shards(NextToken=first["NextToken"])
    assert shard_ids(again["Shards"]) == [shard_id(i) for i in range(2, 5)]


def test_list_shards_returns_at_most_1000(kinesis, big_stream):
    first = kinesis.list_shards(StreamName=big_stream, MaxResults=10000)
    assert len(first["Shards"]) == 1000
    rest = kinesis.list_shards(NextToken=first["NextToken"], MaxResults=10000)
    assert shard_ids(rest["Shards"]) == [shard_id(1000)]
    assert "NextToken" not in rest
    default = kinesis.list_shards(StreamName=big_stream)
    assert len(default["Shards"]) == 1000 and "NextToken" in default


def test_list_shards_exclusive_start_shard_id(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=4)
    listed = kinesis.list_shards(StreamName=stream_name, ExclusiveStartShardId=shard_id(1))
    assert shard_ids(listed["Shards"]) == [shard_id(2), shard_id(3)]
    paged = kinesis.list_shards(
        StreamName=stream_name, ExclusiveStartShardId=shard_id(0), MaxResults=2
    )
    assert shard_ids(paged["Shards"]) == [shard_id(1), shard_id(2)]
    rest = kinesis.list_shards(NextToken=paged["NextToken"])
    assert shard_ids(rest["Shards"]) == [shard_id(3)]


def test_list_shards_accepts_the_streams_creation_timestamp(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=2)
    created = summary(kinesis, stream_name)["StreamCreationTimestamp"]
    listed = kinesis.list_shards(StreamName=stream_name, StreamCreationTimestamp=created)
    assert shard_ids(listed["Shards"]) == [shard_id(0), shard_id(1)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "Either NextToken or StreamName should be provided."),
        ({"StreamName": "x"}, "NextToken and StreamName cannot be provided together."),
        (
            {"ShardFilter": {"Type": "AT_LATEST"}},
            "NextToken and ShardFilter cannot be provided together.",
        ),
        ({"ExclusiveStartShardId": "shardId-000000000000"}, None),
        ({"StreamCreationTimestamp": datetime(2024, 1, 1, tzinfo=UTC)}, None),
    ],
    ids=["neither", "stream-name", "shard-filter", "exclusive-start", "creation-timestamp"],
)
def test_list_shards_mutually_exclusive_parameters(kinesis, stream_name, extra, message):
    """AWS forbids NextToken with any parameter that chooses the listing."""
    kinesis.create_stream(StreamName=stream_name, ShardCount=2)
    token = kinesis.list_shards(StreamName=stream_name, MaxResults=1)["NextToken"]
    if extra == {}:
        expect_error(kinesis.list_shards, "InvalidArgumentException", message)
        return
    if "StreamName" in extra:
        extra = {"StreamName": stream_name}
    text = expect_error(
        kinesis.list_shards, "InvalidArgumentException", message, NextToken=token, **extra
    )
    if message is None:  # AWS' text is unconfirmed; it should at least name the parameter
        assert next(iter(extra)) in text


def test_list_shards_refuses_a_forged_next_token(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=2)
    token = kinesis.list_shards(StreamName=stream_name, MaxResults=1)["NextToken"]
    expect_error(kinesis.list_shards, "InvalidArgumentException", NextToken="garbage")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    expect_error(kinesis.list_shards, "InvalidArgumentException", NextToken=tampered)


def test_list_shards_next_token_expires_after_300_seconds(own_server, own_kinesis, stream_name):
    own_kinesis.create_stream(StreamName=stream_name, ShardCount=3)
    try:
        first = own_kinesis.list_shards(StreamName=stream_name, MaxResults=1)["NextToken"]
        own_server.advance_clock(299_000)
        second = own_kinesis.list_shards(NextToken=first, MaxResults=1)
        assert shard_ids(second["Shards"]) == [shard_id(1)]
        own_server.advance_clock(2_000)
        expect_error(own_kinesis.list_shards, "ExpiredNextTokenException", NextToken=first)
        fresh = own_kinesis.list_shards(NextToken=second["NextToken"])  # issued 2 s ago
        assert shard_ids(fresh["Shards"]) == [shard_id(2)]
    finally:
        own_kinesis.delete_stream(StreamName=stream_name)


@pytest.mark.parametrize(
    ("shard_filter", "expected"),
    [
        ({"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000001"}, [2, 3]),
        ({"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000003"}, []),
        ({"Type": "AT_TRIM_HORIZON"}, [0, 1, 2, 3]),
        ({"Type": "FROM_TRIM_HORIZON"}, [0, 1, 2, 3]),
        ({"Type": "AT_LATEST"}, [0, 1, 2, 3]),
        ({"Type": "AT_TIMESTAMP", "Timestamp": "now"}, [0, 1, 2, 3]),
        ({"Type": "AT_TIMESTAMP", "Timestamp": "created"}, [0, 1, 2, 3]),
        ({"Type": "FROM_TIMESTAMP", "Timestamp": "now"}, [0, 1, 2, 3]),
        ({"Type": "FROM_TIMESTAMP", "Timestamp": "epoch"}, [0, 1, 2, 3]),
    ],
    ids=[
        "after-shard-1",
        "after-last-shard",
        "at-trim-horizon",
        "from-trim-horizon",
        "at-latest",
        "at-timestamp-now",
        "at-timestamp-creation",
        "from-timestamp-now",
        "from-timestamp-long-ago",
    ],
)
def test_list_shards_filters_with_only_open_shards(
    kinesis, server, stream_name, shard_filter, expected
):
    """Before any resharding every shard is open: each filter keeps all that follow its rule."""
    kinesis.create_stream(StreamName=stream_name, ShardCount=4)
    shard_filter = dict(shard_filter)
    moments = {
        "now": datetime.fromtimestamp(server_now_ms(server) / 1000, UTC),
        "created": summary(kinesis, stream_name)["StreamCreationTimestamp"],
        "epoch": datetime(2000, 1, 1, tzinfo=UTC),
    }
    if "Timestamp" in shard_filter:
        shard_filter["Timestamp"] = moments[shard_filter["Timestamp"]]
    listed = kinesis.list_shards(StreamName=stream_name, ShardFilter=shard_filter)
    assert shard_ids(listed["Shards"]) == [shard_id(i) for i in expected]
    assert all("EndingSequenceNumber" not in s["SequenceNumberRange"] for s in listed["Shards"])


def test_list_shards_filter_pages_continue_inside_the_filter(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=5)
    first = kinesis.list_shards(
        StreamName=stream_name,
        ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": shard_id(0)},
        MaxResults=2,
    )
    assert shard_ids(first["Shards"]) == [shard_id(1), shard_id(2)]
    rest = kinesis.list_shards(NextToken=first["NextToken"])
    assert shard_ids(rest["Shards"]) == [shard_id(3), shard_id(4)]


@pytest.mark.parametrize(
    "shard_filter",
    [{"Type": "AFTER_SHARD_ID"}, {"Type": "AT_TIMESTAMP"}, {"Type": "FROM_TIMESTAMP"}],
    ids=lambda value: value["Type"],
)
def test_list_shards_filter_missing_its_argument(kinesis, stream_name, shard_filter):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    expect_error(
        kinesis.list_shards,
        "InvalidArgumentException",
        StreamName=stream_name,
        ShardFilter=shard_filter,
    )


# --- Retention -----------------------------------------------------------------------------


def _retention(kinesis: Any, name: str) -> int:
    described = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert summary(kinesis, name)["RetentionPeriodHours"] == described["RetentionPeriodHours"]
    return described["RetentionPeriodHours"]


def test_retention_changes_are_visible_in_describe(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    response, body = raw_call(
        kinesis, "IncreaseStreamRetentionPeriod", StreamName=stream_name, RetentionPeriodHours=48
    )
    assert body == b"" and response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _retention(kinesis, stream_name) == 48
    kinesis.increase_stream_retention_period(StreamName=stream_name, RetentionPeriodHours=48)
    kinesis.increase_stream_retention_period(StreamName=stream_name, RetentionPeriodHours=8760)
    assert _retention(kinesis, stream_name) == 8760
    response, body = raw_call(
        kinesis, "DecreaseStreamRetentionPeriod", StreamName=stream_name, RetentionPeriodHours=72
    )
    assert body == b""
    assert _retention(kinesis, stream_name) == 72
    kinesis.decrease_stream_retention_period(StreamName=stream_name, RetentionPeriodHours=72)
    kinesis.decrease_stream_retention_period(StreamName=stream_name, RetentionPeriodHours=24)
    assert _retention(kinesis, stream_name) == 24


@pytest.mark.parametrize("operation", ["increase", "decrease"])
@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (
            23,
            "Minimum allowed retention period is 24 hours. "
            "Requested retention period (23 hours) is too short.",
        ),
        (
            1,
            "Minimum allowed retention period is 24 hours. "
            "Requested retention period (1 hours) is too short.",
        ),
        (
            8761,
            "Maximum allowed retention period is 8760 hours. "
            "Requested retention period (8761 hours) is too long.",
        ),
    ],
    ids=["23h", "1h", "8761h"],
)
def test_retention_outside_24_to_8760_hours(kinesis, stream_name, operation, hours, message):
    """The bounds are checked before the direction, so both operations give these texts."""
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    kinesis.increase_stream_retention_period(StreamName=stream_name, RetentionPeriodHours=100)
    call = getattr(kinesis, f"{operation}_stream_retention_period")
    expect_error(
        call,
        "InvalidArgumentException",
        message,
        StreamName=stream_name,
        RetentionPeriodHours=hours,
    )
    assert _retention(kinesis, stream_name) == 100


def test_retention_direction_errors(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    kinesis.increase_stream_retention_period(StreamName=stream_name, RetentionPeriodHours=48)
    expect_error(
        kinesis.increase_stream_retention_period,
        "InvalidArgumentException",
        f"Requested retention period (25 hours) for stream {stream_name} can not be shorter "
        "than existing retention period (48 hours). Use DecreaseRetentionPeriod API.",
        StreamName=stream_name,
        RetentionPeriodHours=25,
    )
    expect_error(
        kinesis.decrease_stream_retention_period,
        "InvalidArgumentException",
        f"Requested retention period (49 hours) for stream {stream_name} can not be longer "
        "than existing retention period (48 hours). Use IncreaseRetentionPeriod API.",
        StreamName=stream_name,
        RetentionPeriodHours=49,
    )
    assert _retention(kinesis, stream_name) == 48


# --- Tags ----------------------------------------------------------------------------------


def test_add_list_and_remove_tags(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    response, body = raw_call(
        kinesis, "AddTagsToStream", StreamName=stream_name, Tags={"b": "2", "a": "1", "c": ""}
    )
    assert body == b"" and response["ResponseMetadata"]["HTTPStatusCode"] == 200
    kinesis.add_tags_to_stream(StreamName=stream_name, Tags={"a": "one", "d": "4"})
    listed = kinesis.list_tags_for_stream(StreamName=stream_name)
    assert listed["Tags"] == [
        {"Key": "a", "Value": "one"},
        {"Key": "b", "Value": "2"},
        {"Key": "c", "Value": ""},
        {"Key": "d", "Value": "4"},
    ]
    assert listed["HasMoreTags"] is False
    response, body = raw_call(
        kinesis, "RemoveTagsFromStream", StreamName=stream_name, TagKeys=["b", "absent"]
    )
    assert body == b""
    remaining = kinesis.list_tags_for_stream(StreamName=stream_name)["Tags"]
    assert [t["Key"] for t in remaining] == ["a", "c", "d"]


def test_list_tags_for_stream_pages(kinesis, stream_name):
    keys = [f"key-{i:02d}" for i in range(7)]
    kinesis.create_stream(StreamName=stream_name, ShardCount=1, Tags={k: k.upper() for k in keys})
    first = kinesis.list_tags_for_stream(StreamName=stream_name, Limit=3)
    assert [t["Key"] for t in first["Tags"]] == keys[:3]
    assert first["HasMoreTags"] is True
    second = kinesis.list_tags_for_stream(
        StreamName=stream_name, Limit=3, ExclusiveStartTagKey=keys[2]
    )
    assert [t["Key"] for t in second["Tags"]] == keys[3:6]
    assert second["HasMoreTags"] is True
    last = kinesis.list_tags_for_stream(
        StreamName=stream_name, Limit=3, ExclusiveStartTagKey=keys[5]
    )
    assert last["Tags"] == [{"Key": keys[6], "Value": keys[6].upper()}]
    assert last["HasMoreTags"] is False
    between = kinesis.list_tags_for_stream(StreamName=stream_name, ExclusiveStartTagKey="key-03x")
    assert [t["Key"] for t in between["Tags"]] == keys[4:]
    exact = kinesis.list_tags_for_stream(StreamName=stream_name, Limit=7)
    assert len(exact["Tags"]) == 7 and exact["HasMoreTags"] is False


def test_a_stream_holds_at_most_50_tags(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    kinesis.add_tags_to_stream(StreamName=stream_name, Tags={f"k{i:02d}": "v" for i in range(50)})
    message = (
        f"Failed to add tags to stream {stream_name} under account {ACCOUNT} because a given "
        "stream cannot have more than 50 tags associated with it."
    )
    expect_error(
        kinesis.add_tags_to_stream,
        "InvalidArgumentException",
        message,
        StreamName=stream_name,
        Tags={"k00": "changed", "one-more": "v"},
    )
    tags = kinesis.list_tags_for_stream(StreamName=stream_name, Limit=50)["Tags"]
    assert len(tags) == 50 and tags[0] == {"Key": "k00", "Value": "v"}  # nothing applied
    kinesis.add_tags_to_stream(StreamName=stream_name, Tags={"k00": "changed"})  # overwrite
    kinesis.remove_tags_from_stream(StreamName=stream_name, TagKeys=["k49"])
    kinesis.add_tags_to_stream(StreamName=stream_name, Tags={"replacement": "v"})
    tags = kinesis.list_tags_for_stream(StreamName=stream_name, Limit=50)["Tags"]
    assert len(tags) == 50
    assert {"Key": "k00", "Value": "changed"} in tags
    assert {"Key": "replacement", "Value": "v"} in tags


@pytest.mark.parametrize(
    "tags",
    [
        {"abc;def": "1"},
        {"abc,def": "1"},
        {"abc\tdef": "1"},
        {"abc\ndef": "1"},
        {"a": "abc;def"},
        {"a": "abc,def"},
        {"a": "abc\tdef"},
        {"a": "abc\ndef"},
    ],
    ids=[
        "semicolon-key",
        "comma-key",
        "tab-key",
        "newline-key",
        "semicolon-value",
        "comma-value",
        "tab-value",
        "newline-value",
    ],
)
def test_tags_with_invalid_characters_are_refused(kinesis, stream_name, tags):
    """Recorded against AWS: only the space counts as white space here."""
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    expect_error(
        kinesis.add_tags_to_stream,
        "InvalidArgumentException",
        INVALID_TAG_CHARACTERS,
        StreamName=stream_name,
        Tags=tags,
    )
    assert kinesis.list_tags_for_stream(StreamName=stream_name)["Tags"] == []


@pytest.mark.parametrize("tags", [{"abc%def": "1"}, {"a": "abc%def"}], ids=["key", "value"])
def test_tags_with_a_percent_sign_are_refused(kinesis, stream_name, tags):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    expect_error(
        kinesis.add_tags_to_stream,
        "InvalidArgumentException",
        f"Failed to add tags to stream {stream_name} under account {ACCOUNT} because some tags "
        "contained illegal characters. The allowed characters are Unicode letters, "
        "white-spaces, '_',',','/','=','+','-','@'.",
        StreamName=stream_name,
        Tags=tags,
    )


def test_tags_with_every_allowed_character_are_kept(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    tags = {"ü0 _.": "a", "/=+-@": "a", "b": "ü0 _./=+-@", "c": ""}
    kinesis.add_tags_to_stream(StreamName=stream_name, Tags=tags)
    listed = kinesis.list_tags_for_stream(StreamName=stream_name)["Tags"]
    assert {t["Key"]: t["Value"] for t in listed} == tags
    assert [t["Key"] for t in listed] == sorted(tags)


def test_remove_tags_with_invalid_characters_is_refused(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1, Tags={"keep": "1"})
    for key in ["abc;def", "abc,def", "abc\tdef"]:
        expect_error(
            kinesis.remove_tags_from_stream,
            "InvalidArgumentException",
            INVALID_UNTAG_CHARACTERS,
            StreamName=stream_name,
            TagKeys=["keep", key],
        )
    expect_error(
        kinesis.remove_tags_from_stream,
        "InvalidArgumentException",
        f"Failed to remove tags from stream {stream_name} under account {ACCOUNT} because some "
        "tags contained illegal characters. The allowed characters are Unicode letters, "
        "white-spaces, '_',',','/','=','+','-','@',':'.",
        StreamName=stream_name,
        TagKeys=["keep", "abc%def"],
    )
    assert kinesis.list_tags_for_stream(StreamName=stream_name)["Tags"] == [
        {"Key": "keep", "Value": "1"}
    ]
    kinesis.remove_tags_from_stream(StreamName=stream_name, TagKeys=["ü0 _.", "/=+-@:"])


def test_tag_resource_untag_resource_and_list_tags_for_resource(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1, Tags={"origin": "create"})
    arn = summary(kinesis, stream_name)["StreamARN"]
    response, body = raw_call(
        kinesis, "TagResource", ResourceARN=arn, Tags={"team": "data", "app:tier": "gold"}
    )
    assert body == b"" and response["ResponseMetadata"]["HTTPStatusCode"] == 200
    listed = kinesis.list_tags_for_resource(ResourceARN=arn)
    assert listed["Tags"] == [
        {"Key": "app:tier", "Value": "gold"},
        {"Key": "origin", "Value": "create"},
        {"Key": "team", "Value": "data"},
    ]
    assert "HasMoreTags" not in listed  # ListTagsForResource has no pagination
    assert kinesis.list_tags_for_stream(StreamName=stream_name)["Tags"] == listed["Tags"]
    response, body = raw_call(kinesis, "UntagResource", ResourceARN=arn, TagKeys=["origin"])
    assert body == b""
    assert [t["Key"] for t in kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]] == [
        "app:tier",
        "team",
    ]


def test_tag_resource_respects_the_50_tag_limit(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    arn = arn_of(stream_name)
    kinesis.tag_resource(ResourceARN=arn, Tags={f"k{i:02d}": "v" for i in range(50)})
    expect_error(
        kinesis.tag_resource,
        "InvalidArgumentException",
        ResourceARN=arn,
        Tags={"one-more": "v"},
    )
    assert len(kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]) == 50


# --- DescribeLimits ------------------------------------------------------------------------


def test_describe_limits_fields_and_open_shard_count(kinesis, stream_name):
    before = kinesis.describe_limits()
    assert set(before) - {"ResponseMetadata"} == {
        "ShardLimit",
        "OpenShardCount",
        "OnDemandStreamCount",
        "OnDemandStreamCountLimit",
    }
    for key in ("ShardLimit", "OpenShardCount", "OnDemandStreamCount", "OnDemandStreamCountLimit"):
        assert isinstance(before[key], int) and 0 <= before[key] <= 1_000_000
    assert before["ShardLimit"] == 20000
    assert before["OnDemandStreamCountLimit"] == 50
    kinesis.create_stream(StreamName=stream_name, ShardCount=6)
    after = kinesis.describe_limits()
    assert after["OpenShardCount"] == before["OpenShardCount"] + 6
    assert after["OnDemandStreamCount"] == before["OnDemandStreamCount"]
    kinesis.delete_stream(StreamName=stream_name)
    assert open_shard_count(kinesis) == before["OpenShardCount"]


# --- Enhanced monitoring -------------------------------------------------------------------


def _metrics(kinesis: Any, name: str) -> set[str]:
    monitoring = kinesis.describe_stream(StreamName=name)["StreamDescription"]["EnhancedMonitoring"]
    assert len(monitoring) == 1
    assert summary(kinesis, name)["EnhancedMonitoring"] == monitoring
    return set(monitoring[0]["ShardLevelMetrics"])


def test_enable_and_disable_enhanced_monitoring(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    enabled = kinesis.enable_enhanced_monitoring(
        StreamName=stream_name, ShardLevelMetrics=["IncomingBytes"]
    )
    assert enabled["StreamName"] == stream_name
    assert enabled["StreamARN"] == arn_of(stream_name)
    assert enabled["CurrentShardLevelMetrics"] == []
    assert enabled["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    assert _metrics(kinesis, stream_name) == {"IncomingBytes"}

    everything = kinesis.enable_enhanced_monitoring(
        StreamName=stream_name, ShardLevelMetrics=["ALL"]
    )
    assert everything["CurrentShardLevelMetrics"] == ["IncomingBytes"]
    assert set(everything["DesiredShardLevelMetrics"]) == ALL_METRICS
    assert len(everything["DesiredShardLevelMetrics"]) == 7  # ALL expands, never listed itself
    assert _metrics(kinesis, stream_name) == ALL_METRICS

    fewer = kinesis.disable_enhanced_monitoring(
        StreamName=stream_name, ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"]
    )
    assert set(fewer["CurrentShardLevelMetrics"]) == ALL_METRICS
    assert set(fewer["DesiredShardLevelMetrics"]) == ALL_METRICS - {
        "IncomingBytes",
        "OutgoingBytes",
    }
    assert _metrics(kinesis, stream_name) == ALL_METRICS - {"IncomingBytes", "OutgoingBytes"}

    none = kinesis.disable_enhanced_monitoring(StreamName=stream_name, ShardLevelMetrics=["ALL"])
    assert none["StreamName"] == stream_name
    assert none["DesiredShardLevelMetrics"] == []
    assert _metrics(kinesis, stream_name) == set()


# --- Encryption ----------------------------------------------------------------------------


def test_start_and_stop_stream_encryption(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    response, body = raw_call(
        kinesis,
        "StartStreamEncryption",
        StreamName=stream_name,
        EncryptionType="KMS",
        KeyId="alias/aws/kinesis",
    )
    assert body == b"" and response["ResponseMetadata"]["HTTPStatusCode"] == 200
    described = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
    assert described["EncryptionType"] == "KMS"
    assert described["KeyId"] == "alias/aws/kinesis"
    short = summary(kinesis, stream_name)
    assert short["EncryptionType"] == "KMS" and short["KeyId"] == "alias/aws/kinesis"
    put = kinesis.put_record(StreamName=stream_name, Data=b"x", PartitionKey="p")
    assert put["EncryptionType"] == "KMS"

    response, body = raw_call(
        kinesis,
        "StopStreamEncryption",
        StreamName=stream_name,
        EncryptionType="KMS",
        KeyId="alias/aws/kinesis",
    )
    assert body == b""
    described = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
    assert described["EncryptionType"] == "NONE"
    assert "KeyId" not in described
    put = kinesis.put_record(StreamName=stream_name, Data=b"x", PartitionKey="p")
    assert put.get("EncryptionType", "NONE") == "NONE"


# --- StreamARN instead of StreamName -------------------------------------------------------


def test_every_operation_accepts_the_stream_arn(kinesis, stream_name):
    kinesis.create_stream(StreamName=stream_name, ShardCount=2)
    arn = summary(kinesis, stream_name)["StreamARN"]
    assert arn == arn_of(stream_name)

    described = kinesis.describe_stream(StreamARN=arn, Limit=1)["StreamDescription"]
    assert described["StreamName"] == stream_name and len(described["Shards"]) == 1
    assert (
        kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["StreamName"]
        == stream_name
    )
    assert shard_ids(kinesis.list_shards(StreamARN=arn)["Shards"]) == [shard_id(0), shard_id(1)]

    kinesis.increase_stream_retention_period(StreamARN=arn, RetentionPeriodHours=36)
    assert _retention(kinesis, stream_name) == 36
    kinesis.decrease_stream_retention_period(StreamARN=arn, RetentionPeriodHours=30)
    assert _retention(kinesis, stream_name) == 30

    kinesis.add_tags_to_stream(StreamARN=arn, Tags={"a": "1", "b": "2"})
    kinesis.remove_tags_from_stream(StreamARN=arn, TagKeys=["b"])
    assert kinesis.list_tags_for_stream(StreamARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]

    enabled = kinesis.enable_enhanced_monitoring(StreamARN=arn, ShardLevelMetrics=["ALL"])
    assert enabled["StreamName"] == stream_name and enabled["StreamARN"] == arn
    kinesis.disable_enhanced_monitoring(StreamARN=arn, ShardLevelMetrics=["IncomingBytes"])
    assert _metrics(kinesis, stream_name) == ALL_METRICS - {"IncomingBytes"}

    kinesis.start_stream_encryption(StreamARN=arn, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert summary(kinesis, stream_name)["EncryptionType"] == "KMS"
    kinesis.stop_stream_encryption(StreamARN=arn, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert summary(kinesis, stream_name)["EncryptionType"] == "NONE"

    put = kinesis.put_record(StreamARN=arn, Data=b"one", PartitionKey="p")
    batch = kinesis.put_records(StreamARN=arn, Records=[{"Data": b"two", "PartitionKey": "p"}])
    assert batch["FailedRecordCount"] == 0
    iterator = kinesis.get_shard_iterator(
        StreamARN=arn, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, StreamARN=arn)["Records"]
    assert [r["Data"] for r in records] == [b"one", b"two"]

    both = kinesis.describe_stream_summary(StreamName=stream_name, StreamARN=arn)
    assert both["StreamDescriptionSummary"]["StreamARN"] == arn

    kinesis.delete_stream(StreamARN=arn)
    expect_error(
        kinesis.describe_stream,
        "ResourceNotFoundException",
        not_found(stream_name),
        StreamName=stream_name,
    )


# --- Nonexistent streams -------------------------------------------------------------------

_BY_STREAM: list[tuple[str, dict[str, Any]]] = [
    ("describe_stream", {}),
    ("describe_stream_summary", {}),
    ("delete_stream", {}),
    ("list_shards", {}),
    ("increase_stream_retention_period", {"RetentionPeriodHours": 48}),
    ("decrease_stream_retention_period", {"RetentionPeriodHours": 24}),
    ("add_tags_to_stream", {"Tags": {"a": "b"}}),
    ("remove_tags_from_stream", {"TagKeys": ["a"]}),
    ("list_tags_for_stream", {}),
    ("enable_enhanced_monitoring", {"ShardLevelMetrics": ["ALL"]}),
    ("disable_enhanced_monitoring", {"ShardLevelMetrics": ["ALL"]}),
    ("start_stream_encryption", {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
    ("stop_stream_encryption", {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
    ("put_record", {"Data": b"x", "PartitionKey": "p"}),
    ("put_records", {"Records": [{"Data": b"x", "PartitionKey": "p"}]}),
]


@pytest.mark.parametrize("by", ["name", "arn"])
@pytest.mark.parametrize(("operation", "params"), _BY_STREAM, ids=[op for op, _ in _BY_STREAM])
def test_nonexistent_stream_is_resource_not_found(kinesis, stream_name, operation, params, by):
    target = {"StreamName": stream_name} if by == "name" else {"StreamARN": arn_of(stream_name)}
    expect_error(
        getattr(kinesis, operation),
        "ResourceNotFoundException",
        not_found(stream_name),
        **target,
        **params,
    )


_BY_RESOURCE: list[tuple[str, dict[str, Any]]] = [
    ("tag_resource", {"Tags": {"a": "b"}}),
    ("untag_resource", {"TagKeys": ["a"]}),
    ("list_tags_for_resource", {}),
]


@pytest.mark.parametrize(("operation", "params"), _BY_RESOURCE, ids=[op for op, _ in _BY_RESOURCE])
def test_nonexistent_resource_arn_is_resource_not_found(kinesis, stream_name, operation, params):
    expect_error(
        getattr(kinesis, operation),
        "ResourceNotFoundException",
        not_found(stream_name),
        ResourceARN=arn_of(stream_name),
        **params,
    )
