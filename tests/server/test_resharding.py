"""SplitShard, MergeShards, UpdateShardCount, UpdateStreamMode and ListShards' lineage filters.

What users rely on when a stream is resharded: parents close with an EndingSequenceNumber,
children name their parents and number their records above them, a reader that finishes a
parent before its children sees every record once and each partition key in order (also
while producers keep writing), UpdateShardCount leaves evenly sized, contiguous ranges within
AWS' bounds, and closed shards disappear once retention has passed. Error texts follow AWS
as recorded by kinesalite's tests and /work/research/kinesis-semantics.md §10.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.lineage import (
    ACCOUNT,
    HASH_KEY_MAX,
    Kinesis,
    arn_of,
    create_stream,
    even_ranges,
    expect_error,
    list_shards,
    open_shards,
    parents_of,
    ranges_of,
    read_in_lineage_order,
    read_shard_to_end,
    shard_id,
    wait_active,
)
from tests.support.server import HeadwaterServer

HALF = 2**127
HOUR_MS = 3_600_000
UPDATE_DELAY_MS = 5_000
THREE_SHARD_END_0 = 113427455640312821154458202477256070484  # AWS' boundary for N=3


# -- helpers ------------------------------------------------------------------------------


def md5_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def by_id(shards: list[dict]) -> dict[str, dict]:
    return {s["ShardId"]: s for s in shards}


def ending(shard: dict) -> int:
    return int(shard["SequenceNumberRange"]["EndingSequenceNumber"])


def starting(shard: dict) -> int:
    return int(shard["SequenceNumberRange"]["StartingSequenceNumber"])


def put(kinesis: Kinesis, name: str, data: bytes, *, hash_key: int | None = None) -> dict:
    params: dict[str, Any] = {"StreamName": name, "Data": data, "PartitionKey": "pk"}
    if hash_key is not None:
        params["ExplicitHashKey"] = str(hash_key)
    return kinesis.put_record(**params)


def filtered(kinesis: Kinesis, name: str, **shard_filter: Any) -> list[str]:
    shards = list_shards(kinesis, name, ShardFilter=shard_filter)
    return sorted(s["ShardId"] for s in shards)


def owner_of(hash_key: int, shards: list[dict]) -> str:
    for shard in shards:
        low, high = ranges_of([shard])[0]
        if low <= hash_key <= high:
            return shard["ShardId"]
    raise AssertionError(f"no open shard owns {hash_key}")


def assert_lineage_consistent(shards: list[dict]) -> None:
    """Every child names existing parents whose ranges cover it, and starts above them."""
    known = by_id(shards)
    for shard in shards:
        low, high = ranges_of([shard])[0]
        parents = [known[p] for p in parents_of(shard) if p in known]
        if not parents:
            continue
        covered = ranges_of(parents)
        assert min(r[0] for r in covered) <= low and high <= max(r[1] for r in covered)
        for parent in parents:
            assert "EndingSequenceNumber" in parent["SequenceNumberRange"], parent
            assert starting(shard) > ending(parent), (shard["ShardId"], parent["ShardId"])


def assert_even_cover(shards: list[dict], count: int) -> None:
    """Open shards are ``count`` contiguous ranges covering 0..2^128-1, sized as AWS sizes."""
    opened = open_shards(shards)
    assert ranges_of(opened) == even_ranges(count)


def on_demand_message(name: str) -> str:
    return f"Request is invalid. Stream {name} under account {ACCOUNT} is in On-Demand mode."


def not_active(name: str, state: str) -> str:
    return f"Stream {name} under account {ACCOUNT} not ACTIVE, instead in state {state}"


def bad_hash_message(name: str, key: int | str, shard: str, start: int, end: int) -> str:
    return (
        f"NewStartingHashKey {key} used in SplitShard() on shard {shard} in stream {name} under "
        f"account {ACCOUNT} is not both greater than one plus the shard's StartingHashKey "
        f"{start} and less than the shard's EndingHashKey {end}."
    )


def not_adjacent(name: str, first: str, second: str) -> str:
    return (
        f"Shards {first} and {second} in stream {name} under account {ACCOUNT} are not an "
        "adjacent pair of shards eligible for merging"
    )


def already_closed(name: str, shard: str) -> str:
    return (
        f"Shard {shard} in stream {name} under account {ACCOUNT} has already been merged or "
        "split, and thus is not eligible for merging or splitting."
    )


def shard_not_found(name: str, shard: str) -> str:
    return f"Could not find shard {shard} in stream {name} under account {ACCOUNT}."


def update_count(kinesis: Kinesis, name: str, target: int) -> dict:
    return kinesis.update_shard_count(
        StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING"
    )


# -- a server of our own: no limits, a movable clock, slow updates, quick housekeeping -------


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    running = HeadwaterServer(
        tmp_path_factory.mktemp("resharding") / "data",
        "--limits",
        "off",
        "--dev-clock",
        "--update-delay-ms",
        str(UPDATE_DELAY_MS),
        "--housekeeping-interval-s",
        "0.2",
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def own_kinesis(own_server: HeadwaterServer) -> Kinesis:
    return own_server.client()


def settle(server: HeadwaterServer, kinesis: Kinesis, name: str) -> None:
    """Let a reshard's UPDATING period pass by moving the server's clock past it."""
    server.advance_clock(UPDATE_DELAY_MS)
    wait_active(kinesis, name)


# -- SplitShard ---------------------------------------------------------------------------


def test_split_closes_the_parent_and_creates_two_children_above_it(kinesis, stream_name):
    create_stream(kinesis, stream_name, 1)
    last = [put(kinesis, stream_name, b"before-%d" % i)["SequenceNumber"] for i in range(3)][-1]

    response = kinesis.split_shard(
        StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF)
    )

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    shards = list_shards(kinesis, stream_name)
    assert [s["ShardId"] for s in shards] == [shard_id(0), shard_id(1), shard_id(2)]
    parent, low, high = shards
    assert ranges_of([parent]) == [(0, HASH_KEY_MAX)]
    assert ending(parent) >= int(last) > starting(parent)
    assert ranges_of([low, high]) == [(0, HALF - 1), (HALF, HASH_KEY_MAX)]
    for child in (low, high):
        assert child["ParentShardId"] == shard_id(0)
        assert "AdjacentParentShardId" not in child
        assert "EndingSequenceNumber" not in child["SequenceNumberRange"]
        assert starting(child) > ending(parent)
    described = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
    assert described["Shards"] == shards
    summary = kinesis.describe_stream_summary(StreamName=stream_name)
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2

    # New records go to the child owning their hash key, numbered above the parent's end.
    to_low = put(kinesis, stream_name, b"low", hash_key=HALF - 1)
    to_high = put(kinesis, stream_name, b"high", hash_key=HALF)
    assert (to_low["ShardId"], to_high["ShardId"]) == (shard_id(1), shard_id(2))
    assert int(to_low["SequenceNumber"]) > ending(parent)
    assert int(to_high["SequenceNumber"]) > ending(parent)


def test_split_at_the_smallest_allowed_hash_key(kinesis, stream_name):
    """AWS accepts StartingHashKey + 2 (recorded by kinesalite): children [0, 1] and [2, max]."""
    create_stream(kinesis, stream_name, 1)
    kinesis.split_shard(StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey="2")
    assert ranges_of(open_shards(list_shards(kinesis, stream_name))) == [
        (0, 1),
        (2, HASH_KEY_MAX),
    ]


def test_get_records_on_a_split_parent_ends_without_iterator_and_lists_children(
    kinesis, stream_name
):
    create_stream(kinesis, stream_name, 1)
    sent = [put(kinesis, stream_name, b"r%d" % i)["SequenceNumber"] for i in range(3)]
    kinesis.split_shard(
        StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF)
    )
    iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId=shard_id(0), ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    first = kinesis.get_records(ShardIterator=iterator, Limit=2)
    assert [r["SequenceNumber"] for r in first["Records"]] == sent[:2]
    assert first["NextShardIterator"]
    assert "ChildShards" not in first

    received = list(first["Records"])
    response = first
    for _ in range(3):  # AWS may hand out a few more iterators before the end
        response = kinesis.get_records(ShardIterator=response["NextShardIterator"], Limit=2)
        received.extend(response["Records"])
        if not response.get("NextShardIterator"):
            break
    assert not response.get("NextShardIterator")
    assert [r["SequenceNumber"] for r in received] == sent
    assert response["ChildShards"] == [
        {
            "ShardId": shard_id(1),
            "ParentShards": [shard_id(0)],
            "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(HALF - 1)},
        },
        {
            "ShardId": shard_id(2),
            "ParentShards": [shard_id(0)],
            "HashKeyRange": {"StartingHashKey": str(HALF), "EndingHashKey": str(HASH_KEY_MAX)},
        },
    ]

    # LATEST on a closed shard is its end: nothing to read, children named at once.
    latest = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId=shard_id(0), ShardIteratorType="LATEST"
    )["ShardIterator"]
    at_end = kinesis.get_records(ShardIterator=latest)
    assert at_end["Records"] == []
    assert not at_end.get("NextShardIterator")
    assert [c["ShardId"] for c in at_end["ChildShards"]] == [shard_id(1), shard_id(2)]


# -- MergeShards --------------------------------------------------------------------------


def test_merge_closes_both_parents_and_the_child_names_them(kinesis, stream_name):
    create_stream(kinesis, stream_name, 3)
    first = put(kinesis, stream_name, b"in-0", hash_key=0)
    second = put(kinesis, stream_name, b"in-1", hash_key=THREE_SHARD_END_0 + 1)
    assert (first["ShardId"], second["ShardId"]) == (shard_id(0), shard_id(1))

    kinesis.merge_shards(
        StreamName=stream_name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1)
    )

    shards = by_id(list_shards(kinesis, stream_name))
    assert sorted(shards) == [shard_id(i) for i in range(4)]
    child = shards[shard_id(3)]
    assert child["ParentShardId"] == shard_id(0)
    assert child["AdjacentParentShardId"] == shard_id(1)
    assert ranges_of([child]) == [(0, even_ranges(3)[1][1])]
    for parent, last in ((shard_id(0), first), (shard_id(1), second)):
        assert ending(shards[parent]) >= int(last["SequenceNumber"])
        assert starting(child) > ending(shards[parent])
    assert "EndingSequenceNumber" not in shards[shard_id(2)]["SequenceNumberRange"]
    summary = kinesis.describe_stream_summary(StreamName=stream_name)
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2

    records, children = read_shard_to_end(kinesis, stream_name, shard_id(1))
    assert [r["Data"] for r in records] == [b"in-1"]
    assert children == [
        {
            "ShardId": shard_id(3),
            "ParentShards": [shard_id(0), shard_id(1)],
            "HashKeyRange": child["HashKeyRange"],
        }
    ]
    after = put(kinesis, stream_name, b"merged", hash_key=THREE_SHARD_END_0)
    assert after["ShardId"] == shard_id(3)
    assert int(after["SequenceNumber"]) > ending(shards[shard_id(1)])


# -- errors -------------------------------------------------------------------------------


def test_split_with_a_hash_key_outside_the_shard_is_refused_with_awss_message(kinesis, stream_name):
    create_stream(kinesis, stream_name, 3)
    first_end = THREE_SHARD_END_0
    last_start, last_end = even_ranges(3)[2]
    for key in ("0", "1"):
        expect_error(
            kinesis.split_shard,
            "InvalidArgumentException",
            bad_hash_message(stream_name, key, shard_id(0), 0, first_end),
            StreamName=stream_name,
            ShardToSplit=shard_id(0),
            NewStartingHashKey=key,
        )
    huge = "9" * 39
    expect_error(
        kinesis.split_shard,
        "InvalidArgumentException",
        bad_hash_message(stream_name, huge, shard_id(2), last_start, last_end),
        StreamName=stream_name,
        ShardToSplit=shard_id(2),
        NewStartingHashKey=huge,
    )
    assert len(list_shards(kinesis, stream_name)) == 3


def test_split_at_the_shards_ending_hash_key_is_refused(kinesis, stream_name):
    """AWS requires NewStartingHashKey < EndingHashKey (kinesalite recorded 'hash too big')."""
    create_stream(kinesis, stream_name, 3)
    expect_error(
        kinesis.split_shard,
        "InvalidArgumentException",
        bad_hash_message(stream_name, THREE_SHARD_END_0, shard_id(0), 0, THREE_SHARD_END_0),
        StreamName=stream_name,
        ShardToSplit=shard_id(0),
        NewStartingHashKey=str(THREE_SHARD_END_0),
    )
    assert len(list_shards(kinesis, stream_name)) == 3


def test_reshard_of_unknown_shards_and_streams_is_not_found(kinesis, stream_name):
    create_stream(kinesis, stream_name, 2)
    expect_error(
        kinesis.split_shard,
        "ResourceNotFoundException",
        shard_not_found(stream_name, shard_id(99)),
        StreamName=stream_name,
        ShardToSplit=shard_id(99),
        NewStartingHashKey=str(HALF),
    )
    expect_error(
        kinesis.merge_shards,
        "ResourceNotFoundException",
        shard_not_found(stream_name, shard_id(7)),
        StreamName=stream_name,
        ShardToMerge=shard_id(0),
        AdjacentShardToMerge=shard_id(7),
    )
    missing = f"{stream_name}-missing"
    for call, params in (
        (kinesis.split_shard, {"ShardToSplit": shard_id(0), "NewStartingHashKey": str(HALF)}),
        (kinesis.merge_shards, {"ShardToMerge": shard_id(0), "AdjacentShardToMerge": shard_id(1)}),
        (kinesis.update_shard_count, {"TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"}),
    ):
        expect_error(
            call,
            "ResourceNotFoundException",
            f"Stream {missing} under account {ACCOUNT} not found.",
            StreamName=missing,
            **params,
        )


def test_unknown_shard_id_is_reported_in_its_normalised_form(kinesis, stream_name):
    """AWS reads the digits after the dash: 'shardId-5' is reported as shardId-000000000005."""
    create_stream(kinesis, stream_name, 2)
    expect_error(
        kinesis.split_shard,
        "ResourceNotFoundException",
        shard_not_found(stream_name, shard_id(5)),
        StreamName=stream_name,
        ShardToSplit="shardId-5",
        NewStartingHashKey=str(HALF),
    )


def test_merging_shards_that_are_not_adjacent_is_refused(kinesis, stream_name):
    create_stream(kinesis, stream_name, 3)
    expect_error(
        kinesis.merge_shards,
        "InvalidArgumentException",
        not_adjacent(stream_name, shard_id(0), shard_id(2)),
        StreamName=stream_name,
        ShardToMerge=shard_id(0),
        AdjacentShardToMerge=shard_id(2),
    )
    assert len(list_shards(kinesis, stream_name)) == 3


def test_merging_with_the_adjacency_inverted_is_refused(kinesis, stream_name):
    """ShardToMerge must be the lower range (kinesalite recorded AWS refusing 1 then 0)."""
    create_stream(kinesis, stream_name, 3)
    expect_error(
        kinesis.merge_shards,
        "InvalidArgumentException",
        not_adjacent(stream_name, shard_id(1), shard_id(0)),
        StreamName=stream_name,
        ShardToMerge=shard_id(1),
        AdjacentShardToMerge=shard_id(0),
    )
    assert len(list_shards(kinesis, stream_name)) == 3


def test_resharding_an_already_closed_shard_is_refused(kinesis, stream_name):
    create_stream(kinesis, stream_name, 2)
    kinesis.split_shard(
        StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF // 2)
    )
    expect_error(
        kinesis.split_shard,
        "InvalidArgumentException",
        already_closed(stream_name, shard_id(0)),
        StreamName=stream_name,
        ShardToSplit=shard_id(0),
        NewStartingHashKey=str(HALF // 4),
    )
    expect_error(
        kinesis.merge_shards,
        "InvalidArgumentException",
        already_closed(stream_name, shard_id(0)),
        StreamName=stream_name,
        ShardToMerge=shard_id(0),
        AdjacentShardToMerge=shard_id(1),
    )
    assert len(list_shards(kinesis, stream_name)) == 4


# -- UpdateShardCount ---------------------------------------------------------------------


def test_update_shard_count_4_to_8_to_4_to_3_keeps_even_ranges_and_routes_data(
    kinesis, stream_name
):
    create_stream(kinesis, stream_name, 4)
    keys = [f"key-{i}" for i in range(24)]
    acked: dict[str, list[str]] = defaultdict(list)

    def put_all(round_: int) -> None:
        shards = open_shards(list_shards(kinesis, stream_name))
        for key in keys:
            answer = kinesis.put_record(
                StreamName=stream_name, Data=f"{key}:{round_}".encode(), PartitionKey=key
            )
            assert answer["ShardId"] == owner_of(md5_key(key), shards)
            acked[key].append(answer["SequenceNumber"])
        for low, high in ranges_of(shards):
            for hash_key in (low, high):
                answer = put(kinesis, stream_name, b"edge", hash_key=hash_key)
                assert answer["ShardId"] == owner_of(hash_key, shards)

    put_all(0)
    response = update_count(kinesis, stream_name, 8)
    assert response["StreamName"] == stream_name
    assert response["StreamARN"] == arn_of(stream_name)
    assert (response["CurrentShardCount"], response["TargetShardCount"]) == (4, 8)
    shards = list_shards(kinesis, stream_name)
    assert_even_cover(shards, 8)
    assert_lineage_consistent(shards)
    put_all(1)

    expect_error(
        kinesis.update_shard_count,
        "LimitExceededException",
        "UpdateShardCount cannot scale down below half your current open shard count. "
        "Current open shard count: 8, Target shard count: 3",
        StreamName=stream_name,
        TargetShardCount=3,
        ScalingType="UNIFORM_SCALING",
    )
    expect_error(
        kinesis.update_shard_count,
        "LimitExceededException",
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 8, Target shard count: 17",
        StreamName=stream_name,
        TargetShardCount=17,
        ScalingType="UNIFORM_SCALING",
    )

    response = update_count(kinesis, stream_name, 4)
    assert (response["CurrentShardCount"], response["TargetShardCount"]) == (8, 4)
    shards = list_shards(kinesis, stream_name)
    assert_even_cover(shards, 4)
    assert_lineage_consistent(shards)
    put_all(2)

    response = update_count(kinesis, stream_name, 3)
    assert (response["CurrentShardCount"], response["TargetShardCount"]) == (4, 3)
    shards = list_shards(kinesis, stream_name)
    assert_even_cover(shards, 3)
    assert ranges_of(open_shards(shards))[0] == (0, THREE_SHARD_END_0)
    assert_lineage_consistent(shards)
    put_all(3)
    summary = kinesis.describe_stream_summary(StreamName=stream_name)
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 3

    # A reader that finishes parents first sees every key's records once and in order.
    per_key: dict[str, list[str]] = defaultdict(list)
    for _, record in read_in_lineage_order(kinesis, stream_name):
        if record["Data"] != b"edge":
            per_key[record["PartitionKey"]].append(record["SequenceNumber"])
    assert per_key == acked


def test_update_shard_count_above_double_is_refused(kinesis, stream_name):
    create_stream(kinesis, stream_name, 4)
    expect_error(
        kinesis.update_shard_count,
        "LimitExceededException",
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 4, Target shard count: 9",
        StreamName=stream_name,
        TargetShardCount=9,
        ScalingType="UNIFORM_SCALING",
    )
    assert len(list_shards(kinesis, stream_name)) == 4


# -- ListShards' ShardFilter --------------------------------------------------------------


def test_list_shards_filters_follow_lineage_and_time(kinesis, server, stream_name):
    create_stream(kinesis, stream_name, 1)
    put(kinesis, stream_name, b"before")
    before = read_shard_to_end(kinesis, stream_name, shard_id(0))[0][0]
    # boto3 sends timestamps in whole seconds: keep each moment a second and more apart.
    server.advance_clock(1_500)
    kinesis.split_shard(
        StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF)
    )
    server.advance_clock(1_500)
    put(kinesis, stream_name, b"after", hash_key=0)
    after = read_shard_to_end(kinesis, stream_name, shard_id(1))[0][0]
    t_before, t_after = before["ApproximateArrivalTimestamp"], after["ApproximateArrivalTimestamp"]
    parent, children = [shard_id(0)], [shard_id(1), shard_id(2)]
    everything = parent + children

    assert sorted(s["ShardId"] for s in list_shards(kinesis, stream_name)) == everything
    assert filtered(kinesis, stream_name, Type="FROM_TRIM_HORIZON") == everything
    assert filtered(kinesis, stream_name, Type="AT_TRIM_HORIZON") == parent
    assert filtered(kinesis, stream_name, Type="AT_LATEST") == children
    assert filtered(kinesis, stream_name, Type="AFTER_SHARD_ID", ShardId=shard_id(0)) == children
    assert filtered(kinesis, stream_name, Type="AFTER_SHARD_ID", ShardId=shard_id(1)) == [
        shard_id(2)
    ]
    assert filtered(kinesis, stream_name, Type="AT_TIMESTAMP", Timestamp=t_before) == parent
    assert filtered(kinesis, stream_name, Type="AT_TIMESTAMP", Timestamp=t_after) == children
    assert filtered(kinesis, stream_name, Type="FROM_TIMESTAMP", Timestamp=t_before) == everything
    assert filtered(kinesis, stream_name, Type="FROM_TIMESTAMP", Timestamp=t_after) == children

    # A filter missing the member its type needs is refused (AWS' text is not recorded).
    for incomplete in ({"Type": "AFTER_SHARD_ID"}, {"Type": "AT_TIMESTAMP"}):
        expect_error(
            kinesis.list_shards,
            "InvalidArgumentException",
            StreamName=stream_name,
            ShardFilter=incomplete,
        )


def test_at_latest_after_a_merge_lists_only_the_merged_child_and_the_untouched_shard(
    kinesis, stream_name
):
    create_stream(kinesis, stream_name, 3)
    kinesis.merge_shards(
        StreamName=stream_name, ShardToMerge=shard_id(1), AdjacentShardToMerge=shard_id(2)
    )
    assert filtered(kinesis, stream_name, Type="AT_LATEST") == [shard_id(0), shard_id(3)]
    assert filtered(kinesis, stream_name, Type="AT_TRIM_HORIZON") == [shard_id(i) for i in range(3)]


# -- UpdateStreamMode ---------------------------------------------------------------------


def test_update_stream_mode_switches_both_ways_and_on_demand_refuses_manual_resharding(
    kinesis, stream_name
):
    create_stream(kinesis, stream_name, 2)
    arn = arn_of(stream_name)

    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = wait_active(kinesis, stream_name)
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    listed = kinesis.list_streams(ExclusiveStartStreamName=stream_name[:-1])["StreamSummaries"]
    assert {"StreamMode": "ON_DEMAND"} in [
        s["StreamModeDetails"] for s in listed if s["StreamName"] == stream_name
    ]
    message = on_demand_message(stream_name)
    expect_error(
        kinesis.split_shard,
        "ValidationException",
        message,
        StreamName=stream_name,
        ShardToSplit=shard_id(0),
        NewStartingHashKey=str(HALF // 2),
    )
    expect_error(
        kinesis.merge_shards,
        "ValidationException",
        message,
        StreamName=stream_name,
        ShardToMerge=shard_id(0),
        AdjacentShardToMerge=shard_id(1),
    )
    expect_error(
        kinesis.update_shard_count,
        "ValidationException",
        message,
        StreamName=stream_name,
        TargetShardCount=3,
        ScalingType="UNIFORM_SCALING",
    )

    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    summary = wait_active(kinesis, stream_name)
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    kinesis.split_shard(
        StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF // 2)
    )
    assert len(open_shards(list_shards(kinesis, stream_name))) == 3


# -- our own server: UPDATING, concurrent writes, frequency limit, retention -------------


def test_a_stream_stays_updating_after_a_reshard_and_refuses_another_meanwhile(
    own_server, own_kinesis, stream_name
):
    kinesis = own_kinesis
    create_stream(kinesis, stream_name, 2)
    kinesis.split_shard(
        StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF // 2)
    )
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "UPDATING"
    expect_error(
        kinesis.merge_shards,
        "ResourceInUseException",
        not_active(stream_name, "UPDATING"),
        StreamName=stream_name,
        ShardToMerge=shard_id(2),
        AdjacentShardToMerge=shard_id(3),
    )
    expect_error(
        kinesis.update_stream_mode,
        "ResourceInUseException",
        not_active(stream_name, "UPDATING"),
        StreamARN=arn_of(stream_name),
        StreamModeDetails={"StreamMode": "ON_DEMAND"},
    )
    # Data keeps flowing while the stream is UPDATING.
    assert put(kinesis, stream_name, b"during", hash_key=0)["ShardId"] == shard_id(2)

    settle(own_server, kinesis, stream_name)
    kinesis.merge_shards(
        StreamName=stream_name, ShardToMerge=shard_id(2), AdjacentShardToMerge=shard_id(3)
    )
    settle(own_server, kinesis, stream_name)
    assert [s["ShardId"] for s in open_shards(list_shards(kinesis, stream_name))] == [
        shard_id(4),
        shard_id(1),
    ]


WRITERS = 4
KEYS_PER_WRITER = 6
BATCH = 24


class Producers:
    """Writer threads putting batches with a counter per partition key; keeps what was acked."""

    def __init__(self, server: HeadwaterServer, name: str) -> None:
        self.server = server
        self.name = name
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._write, args=(w,), daemon=True) for w in range(WRITERS)
        ]

    def __enter__(self) -> Producers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    @property
    def count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.acked.values())

    def wait_for(self, total: int, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count < total:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, f"only {self.count} of {total} records acked"
            time.sleep(0.01)

    def _write(self, writer: int) -> None:
        client = self.server.client()
        keys = [f"w{writer}-k{k}" for k in range(KEYS_PER_WRITER)]
        counters = dict.fromkeys(keys, 0)
        try:
            for _ in range(10_000):
                if self.stop.is_set():
                    return
                batch = []
                for i in range(BATCH):
                    key = keys[i % len(keys)]
                    batch.append((key, counters[key]))
                    counters[key] += 1
                response = client.put_records(
                    StreamName=self.name,
                    Records=[{"PartitionKey": k, "Data": f"{k}:{n}".encode()} for k, n in batch],
                )
                assert response["FailedRecordCount"] == 0, response["Records"]
                with self.lock:
                    for (key, n), result in zip(batch, response["Records"], strict=True):
                        self.acked[key].append((n, result["ShardId"], result["SequenceNumber"]))
        except BaseException as error:  # reported by wait_for and the test
            self.errors.append(error)


def test_split_and_merge_under_concurrent_writes_lose_nothing_and_keep_key_order(
    own_server, own_kinesis, stream_name
):
    kinesis = own_kinesis
    create_stream(kinesis, stream_name, 2)
    with Producers(own_server, stream_name) as producers:
        producers.wait_for(1000)
        kinesis.split_shard(
            StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF // 2)
        )
        at_split = producers.count
        producers.wait_for(at_split + 1000)
        settle(own_server, kinesis, stream_name)
        # The upper child of the split and the original second shard: different generations.
        kinesis.merge_shards(
            StreamName=stream_name, ShardToMerge=shard_id(3), AdjacentShardToMerge=shard_id(1)
        )
        at_merge = producers.count
        producers.wait_for(at_merge + 1000)
    assert not producers.errors, producers.errors

    shards = list_shards(kinesis, stream_name)
    assert_lineage_consistent(shards)
    assert [s["ShardId"] for s in open_shards(shards)] == [shard_id(2), shard_id(4)]
    assert by_id(shards)[shard_id(4)]["ParentShardId"] == shard_id(3)
    assert by_id(shards)[shard_id(4)]["AdjacentParentShardId"] == shard_id(1)
    used = {shard for acks in producers.acked.values() for _, shard, _ in acks}
    assert used == {shard_id(i) for i in range(5)}, "every shard of the lineage took writes"

    # Per key, acknowledged sequence numbers only grow (children number above parents).
    for key, acks in producers.acked.items():
        numbers = [int(seq) for _, _, seq in sorted(acks)]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), key

    seen = read_in_lineage_order(kinesis, stream_name)
    got = [(shard, r["SequenceNumber"], r["PartitionKey"], r["Data"]) for shard, r in seen]
    expected = {
        (shard, seq, key, f"{key}:{n}".encode())
        for key, acks in producers.acked.items()
        for n, shard, seq in acks
    }
    assert len(got) == len(set(got)), "a record was delivered twice"
    assert set(got) == expected, (
        f"missing {len(expected - set(got))}, unexpected {len(set(got) - expected)}"
    )
    per_key: dict[str, list[int]] = defaultdict(list)
    for _, _, key, data in got:
        per_key[key].append(int(data.decode().rsplit(":", 1)[1]))
    for key, counters in per_key.items():
        assert counters == list(range(len(counters))), f"{key} out of order"


def test_update_shard_count_is_limited_to_ten_scalings_per_rolling_day(
    own_server, own_kinesis, stream_name
):
    kinesis = own_kinesis
    create_stream(kinesis, stream_name, 1)
    for i in range(10):
        update_count(kinesis, stream_name, 2 if i % 2 == 0 else 1)
        settle(own_server, kinesis, stream_name)
    with pytest.raises(ClientError) as refused:
        update_count(kinesis, stream_name, 2)
    assert refused.value.response["Error"]["Code"] == "LimitExceededException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(open_shards(list_shards(kinesis, stream_name))) == 1

    # The window rolls: a day after the first scalings, scaling is allowed again.
    own_server.advance_clock(24 * HOUR_MS)
    response = update_count(kinesis, stream_name, 2)
    assert (response["CurrentShardCount"], response["TargetShardCount"]) == (1, 2)


def test_closed_shards_age_out_with_retention(own_server, own_kinesis, stream_name):
    kinesis = own_kinesis
    create_stream(kinesis, stream_name, 1)
    put(kinesis, stream_name, b"old")
    kinesis.split_shard(
        StreamName=stream_name, ShardToSplit=shard_id(0), NewStartingHashKey=str(HALF)
    )
    settle(own_server, kinesis, stream_name)

    own_server.advance_clock(23 * HOUR_MS)
    assert shard_id(0) in [s["ShardId"] for s in list_shards(kinesis, stream_name)]

    own_server.advance_clock(2 * HOUR_MS)
    children = [shard_id(1), shard_id(2)]
    assert [s["ShardId"] for s in list_shards(kinesis, stream_name)] == children
    described = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]
    assert [s["ShardId"] for s in described["Shards"]] == children
    # The children were open at the trim horizon; the parent is gone from every view.
    assert filtered(kinesis, stream_name, Type="AT_TRIM_HORIZON") == children

    # Housekeeping (every 0.2 s here) drops the parent's data: it cannot be read any more.
    deadline = time.monotonic() + 10
    while True:
        try:
            kinesis.get_shard_iterator(
                StreamName=stream_name, ShardId=shard_id(0), ShardIteratorType="TRIM_HORIZON"
            )
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
            assert error.response["Error"]["Message"] == (
                f"Shard {shard_id(0)} in stream {stream_name} under account {ACCOUNT} "
                "does not exist"
            )
            break
        assert time.monotonic() < deadline, "the aged-out parent is still readable"
        time.sleep(0.05)

    # The children live on and take data.
    fresh = put(kinesis, stream_name, b"fresh", hash_key=HALF)
    assert fresh["ShardId"] == shard_id(2)
    assert [r["Data"] for r in read_shard_to_end(kinesis, stream_name, shard_id(2))[0]] == [
        b"fresh"
    ]
