"""Pure-logic pieces of the service: sequence numbers, hash ranges, buckets, tokens."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from headwater.service import sequence
from headwater.service.hashing import HASH_KEY_MAX, even_ranges, hash_key_digests
from headwater.service.iterators import IteratorCodec, IteratorState
from headwater.service.limits import LimitsPolicy, ShardThrottle
from headwater.service.model import Shard, Stream
from headwater.service.records import _group_by_slot
from headwater.service.tokens import TokenSigner


@given(
    epoch=st.integers(0, 2**42),
    shard=st.integers(0, sequence.MAX_SHARD_INDEX),
    position=st.integers(0, 2**63),
)
def test_sequence_numbers_round_trip_and_have_56_digits(epoch, shard, position):
    text = sequence.encode(epoch, shard, position)
    assert len(text) == 56
    parts = sequence.decode(text)
    assert (parts.epoch_ms, parts.shard_index, parts.position) == (epoch, shard, position)


def test_child_shard_numbers_sit_above_parent_numbers():
    parent_last = sequence.encode(1_700_000_000_000, 5, 2**40)
    child_first = sequence.encode(1_700_000_000_001, 0, 0)
    assert int(child_first) > int(parent_last)


def test_foreign_numbers_do_not_decode():
    assert sequence.decode("12345") is None
    assert sequence.decode("abc") is None
    assert sequence.decode("9" * 200) is None


def test_even_ranges_match_aws_split_for_three_shards():
    ranges = even_ranges(3)
    assert ranges[0] == (0, 113427455640312821154458202477256070484)
    assert ranges[1][0] == 113427455640312821154458202477256070485
    assert ranges[2] == (226854911280625642308916404954512140970, HASH_KEY_MAX)


def test_partition_key_hash_is_md5_big_endian():
    (digest,) = hash_key_digests([b""])
    assert int.from_bytes(digest, "big") == 0xD41D8CD98F00B204E9800998ECF8427E


def test_write_bucket_refuses_past_a_seconds_worth_and_refills():
    throttle = ShardThrottle(LimitsPolicy(1.0), now_ms=0)
    admitted = sum(throttle.try_write(10, now_ms=0) for _ in range(1500))
    assert admitted == 1000
    assert not throttle.try_write(10, now_ms=0)
    assert throttle.try_write(10, now_ms=10)  # 10 ms refills 10 records' worth


def test_read_debt_blocks_calls_until_repaid():
    throttle = ShardThrottle(LimitsPolicy(1.0), now_ms=0)
    assert throttle.try_read_call(0)
    throttle.charge_read(10 * 1024 * 1024)
    assert not throttle.try_read_call(1000)
    assert throttle.try_read_call(5000)


def test_limits_policy_parsing():
    assert LimitsPolicy.parse("aws").multiplier == 1.0
    assert not LimitsPolicy.parse("off").enabled
    assert LimitsPolicy.parse("2.5").multiplier == 2.5


def test_tokens_refuse_tampering():
    signer = TokenSigner(b"k" * 32)
    token = signer.seal(b"payload")
    assert signer.open(token) == b"payload"
    assert signer.open(token[:-2] + "AA") is None
    assert TokenSigner(b"other" * 8).open(token) is None
    assert signer.open("not base64!") is None


def test_iterators_round_trip():
    codec = IteratorCodec(TokenSigner(b"k" * 32))
    state = IteratorState("stream.name-1", 1_700_000_000_000, 3, 12345, 1_700_000_000_500)
    assert codec.decode(codec.encode(state)) == state
    assert len(codec.encode(state)) <= 512


@given(
    st.lists(st.binary(max_size=20), min_size=1, max_size=60),
    st.integers(1, 7),
    st.data(),
)
def test_records_route_to_the_shard_whose_range_holds_their_hash_key(keys, shards, data):
    stream = Stream(stream_id="s", name="s", created_ms=0, ready_at_ms=0)
    stream.shards = [
        Shard(
            shard_id=f"shardId-{i:012d}",
            index=i,
            hash_start=str(start),
            hash_end=str(end),
            epoch_ms=0,
            created_ms=0,
        )
        for i, (start, end) in enumerate(even_ranges(shards))
    ]
    stream.rebuild_routes()
    explicit = data.draw(
        st.none()
        | st.lists(st.none() | st.integers(0, HASH_KEY_MAX), min_size=len(keys), max_size=len(keys))
    )
    slots = stream.route_slots(keys, explicit)
    for i, key in enumerate(keys):
        hash_key = explicit[i] if explicit and explicit[i] is not None else None
        if hash_key is None:
            hash_key = int.from_bytes(hashlib.md5(key).digest(), "big")
        shard = stream.open_shards[slots[i]]
        assert int(shard.hash_start) <= hash_key <= int(shard.hash_end)
    failed = set(data.draw(st.lists(st.integers(0, len(keys) - 1))))
    groups = _group_by_slot(slots, failed)
    assert sorted(i for _, indexes in groups for i in indexes) == [
        i for i in range(len(keys)) if i not in failed
    ]
    for slot, indexes in groups:
        assert list(indexes) == sorted(indexes) and {slots[i] for i in indexes} == {slot}
