"""The local shard log: durability, ordering, recovery and bounded reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from crc32c import crc32c

from headwater.storage.local import LocalShardLog, LocalStorage
from headwater.storage.local.frames import BODY_HEADER, PREFIX, encode_frame
from headwater.storage.local.group_commit import GroupCommitter
from tests.storage.records import columns


async def _open(directory: Path, segment_bytes: int = 1 << 20) -> LocalShardLog:
    log = LocalShardLog(directory, GroupCommitter(), segment_bytes)
    log.recover()
    return log


async def test_append_assigns_consecutive_positions_and_reads_back(tmp_path: Path) -> None:
    log = await _open(tmp_path)
    first = await log.append(*columns(10), 1000)
    second = await log.append(*columns(5, tag="s"), 1001)
    assert (first.first_position, second.first_position) == (0, 10)
    got = await log.read(0, 100, 1 << 30)
    assert (got.first_position, got.next_position) == (0, 15)
    assert got.partition_keys[10] == b"s0" and got.arrival_ms[10] == 1001
    assert log.end_position == 15


async def test_reads_respect_count_and_byte_bounds(tmp_path: Path) -> None:
    log = await _open(tmp_path)
    await log.append(*columns(100, size=1000), 1)
    assert len(await log.read(0, 7, 1 << 30)) == 7
    bounded = await log.read(0, 100, 10_000)
    assert 1 <= len(bounded) <= 10
    assert bounded.size == sum(map(len, bounded.datas + bounded.partition_keys)) <= 10_000
    # one oversized record is still returned so readers make progress
    assert len(await log.read(0, 100, 10)) == 1


async def test_arrival_time_never_goes_backwards(tmp_path: Path) -> None:
    log = await _open(tmp_path)
    await log.append(*columns(1), 5000)
    result = await log.append(*columns(1), 4000)
    assert result.arrival_ms == 5000


async def test_segments_roll_and_recover_from_saved_indexes(tmp_path: Path) -> None:
    log = await _open(tmp_path, segment_bytes=64 * 1024)
    for batch in range(40):
        await log.append(*columns(20, size=500, tag=f"b{batch}-"), 10_000 + batch)
    await log.close()
    assert len(list(tmp_path.glob("*.seg"))) > 5
    assert len(list(tmp_path.glob("*.idx"))) == len(list(tmp_path.glob("*.seg"))) - 1
    reopened = await _open(tmp_path, segment_bytes=64 * 1024)
    assert reopened.end_position == 800
    got = await reopened.read(0, 10_000, 1 << 30)
    assert (got.first_position, got.next_position) == (0, 800)
    assert got.partition_keys[799] == b"b39-19"
    one = await reopened.read(555, 1, 1 << 30)
    assert (one.first_position, len(one), one.partition_keys[0]) == (555, 1, b"b27-15")


async def test_position_at_time_finds_first_record_at_or_after(tmp_path: Path) -> None:
    log = await _open(tmp_path, segment_bytes=32 * 1024)
    for batch in range(50):
        await log.append(*columns(10, size=300), 1000 + batch * 10)
    assert await log.position_at_time(0) == 0
    assert await log.position_at_time(1000 + 25 * 10) == 250
    assert await log.position_at_time(1000 + 25 * 10 - 3) == 250
    assert await log.position_at_time(10**12) == log.end_position


async def test_torn_tail_is_truncated_on_recovery(tmp_path: Path) -> None:
    log = await _open(tmp_path)
    await log.append(*columns(10), 1)
    await log.close()
    segment = next(tmp_path.glob("*.seg"))
    intact_size = segment.stat().st_size
    with open(segment, "ab") as handle:  # a write that was never acknowledged, half done
        handle.write(os.urandom(37))
    reopened = await _open(tmp_path)
    assert reopened.end_position == 10
    assert segment.stat().st_size == intact_size
    await reopened.append(*columns(1), 2)
    assert (await reopened.read(0, 100, 1 << 30)).next_position == 11


async def test_a_corrupted_append_cuts_the_log_where_it_starts(tmp_path: Path) -> None:
    log = await _open(tmp_path)
    await log.append(*columns(5, size=100), 1)
    await log.append(*columns(5, size=100, tag="s"), 2)
    await log.close()
    segment = next(tmp_path.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[-40] ^= 0xFF  # flip a byte inside the second append's last record
    segment.write_bytes(bytes(data))
    reopened = await _open(tmp_path)
    assert reopened.end_position == 5
    assert (await reopened.read(0, 100, 1 << 30)).partition_keys == [
        b"r0",
        b"r1",
        b"r2",
        b"r3",
        b"r4",
    ]


async def test_reads_start_anywhere_inside_an_append(tmp_path: Path) -> None:
    log = await _open(tmp_path, segment_bytes=64 * 1024)
    for batch in range(30):
        await log.append(*columns(50, size=200, tag=f"b{batch}-"), 1000 + batch)
    for position in (0, 1, 49, 50, 777, 1499):
        got = await log.read(position, 3, 1 << 30)
        expected = [
            f"b{p // 50}-{p % 50}".encode() for p in range(position, min(position + 3, 1500))
        ]
        assert (got.first_position, got.partition_keys) == (position, expected)
        assert got.arrival_ms == [1000 + p // 50 for p in range(position, position + len(expected))]
    # a byte bound inside an append stops there, and the next read goes on from it
    first = await log.read(10, 10_000, 2_000)
    second = await log.read(first.next_position, 10_000, 1 << 30)
    assert 1 <= len(first) < 40 and second.first_position == first.next_position
    assert second.next_position == 1500


async def test_trim_drops_whole_expired_segments_only(tmp_path: Path) -> None:
    log = await _open(tmp_path, segment_bytes=16 * 1024)
    for batch in range(20):
        await log.append(*columns(10, size=400), 1000 * (batch + 1))
    await log.close()  # let background sealing finish
    log = await _open(tmp_path, segment_bytes=16 * 1024)
    before = len(list(tmp_path.glob("*.seg")))
    await log.trim_before(10_500)
    after = len(list(tmp_path.glob("*.seg")))
    assert after < before
    assert log.start_position > 0
    assert all(ms >= 1000 for ms in (await log.read(0, 10_000, 1 << 30)).arrival_ms)
    assert await log.position_at_time(10_500) == 100


@pytest.mark.parametrize("shards", [3])
async def test_storage_keeps_metadata_and_logs_per_shard(tmp_path: Path, shards: int) -> None:
    storage = LocalStorage(tmp_path)
    storage.metadata.save_stream("s1", {"name": "one", "shards": shards})
    for i in range(shards):
        log = await storage.open_shard("s1", f"shardId-{i:012d}")
        await log.append(*columns(i + 1), 1)
    await storage.close()
    storage = LocalStorage(tmp_path)
    assert storage.metadata.load_streams() == [{"name": "one", "shards": shards}]
    log = await storage.open_shard("s1", "shardId-000000000002")
    assert log.end_position == 3
    await storage.drop_stream("s1")
    storage.metadata.delete_stream("s1")
    assert not (tmp_path / "streams" / "s1").exists()
    await storage.close()


def test_a_data_directory_in_another_segment_format_is_refused(tmp_path: Path) -> None:
    LocalStorage(tmp_path).metadata.save_setting("segment_format", b"1")
    with pytest.raises(ValueError, match="format 1"):
        LocalStorage(tmp_path)


async def test_a_frame_whose_columns_do_not_add_up_is_cut_despite_its_crc(tmp_path: Path) -> None:
    log = await _open(tmp_path)
    await log.append(*columns(3), 1)
    await log.close()
    segment = next(tmp_path.glob("*.seg"))
    intact_size = segment.stat().st_size
    bad = bytearray(encode_frame(*columns(2), 3, 1, 0))
    body = bad[PREFIX.size :]
    body[BODY_HEADER.size + 4] += 1  # the first key claims one byte more than there is
    bad[: PREFIX.size] = PREFIX.pack(len(body), crc32c(bytes(body)))
    bad[PREFIX.size :] = body
    with open(segment, "ab") as handle:
        handle.write(bytes(bad))
    reopened = await _open(tmp_path)
    assert reopened.end_position == 3
    assert segment.stat().st_size == intact_size
