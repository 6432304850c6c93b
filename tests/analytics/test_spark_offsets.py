"""Planning micro-batches from per-shard offsets, without Spark running (fast)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark")

from headwater.analytics.spark import offsets as offs
from headwater.analytics.spark.options import StreamOptions
from headwater.analytics.spark.reader import HeadwaterStreamReader, ShardRange
from headwater.client.positions import StartingPosition
from headwater.client.shapes import HashKeyRange, SequenceNumberRange, Shard


def shard(shard_id: str, *parents: str, closed: bool = False) -> Shard:
    return Shard(
        ShardId=shard_id,
        HashKeyRange=HashKeyRange("0", "1"),
        SequenceNumberRange=SequenceNumberRange("1", "9" if closed else None),
        ParentShardId=parents[0] if parents else None,
        AdjacentParentShardId=parents[1] if len(parents) > 1 else None,
    )


def after(sequence: str, ended: bool = False) -> offs.ShardOffset:
    return offs.ShardOffset(StartingPosition.after_sequence(sequence), ended)


def test_offsets_round_trip_through_json() -> None:
    offsets = {
        "s0": after("100", ended=True),
        "s1": offs.ShardOffset(StartingPosition.trim_horizon()),
        "s2": offs.ShardOffset(StartingPosition.at_timestamp(1700000000.5)),
    }
    assert offs.decode(offs.encode(offsets)) == offsets


def test_children_wait_until_every_parent_has_ended() -> None:
    shards = [shard("p0", closed=True), shard("p1", closed=True), shard("c", "p0", "p1")]
    current = offs.track({"p0": after("5", ended=True), "p1": after("7")}, shards)
    assert current["c"].position.type == "TRIM_HORIZON"
    assert offs.readable(current, shards) == ["p1"]
    current["p1"] = after("8", ended=True)
    assert offs.readable(current, shards) == ["c"]


def test_shards_gone_from_the_stream_are_dropped_and_count_as_done() -> None:
    shards = [shard("c", "trimmed")]
    current = offs.track({"trimmed": after("5")}, shards)
    assert list(current) == ["c"]
    assert offs.readable(current, shards) == ["c"]


def test_partitions_cover_only_shards_with_new_records() -> None:
    reader = HeadwaterStreamReader(StreamOptions.parse({"stream": "s"}))
    start = offs.encode({"a": after("10"), "b": after("20")})
    end = offs.encode({"a": after("15"), "b": after("20"), "new": after("30")})
    assert reader.partitions(start, end) == [
        ShardRange("a", StartingPosition.after_sequence("10"), "15"),
        ShardRange("new", StartingPosition.trim_horizon(), "30"),
    ]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="stream"):
        StreamOptions.parse({})
    with pytest.raises(ValueError, match="start"):
        StreamOptions.parse({"stream": "s", "start": "AT_TIMESTAMP"})
    parsed = StreamOptions.parse({"stream": "s", "endpoint_url": "http://h:1", "region": "eu"})
    assert (parsed.client.endpoint_url, parsed.client.region) == ("http://h:1", "eu")
    assert parsed.shard_rate == 1.0
    assert StreamOptions.parse({"stream": "s", "shard_rate": "off"}).shard_rate is None
