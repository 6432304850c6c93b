"""The storage contract, run against the embedded and the JetStream backend alike."""

from __future__ import annotations

import asyncio
import uuid

from tests.storage.nats.conftest import StorageFactory
from tests.storage.records import columns


def _ids() -> tuple[str, str]:
    return uuid.uuid4().hex, "shardId-000000000000"


async def test_appends_get_dense_positions_and_read_back(open_storage: StorageFactory) -> None:
    log = await open_storage().open_shard(*_ids())
    first = await log.append(*columns(10), 1000)
    second = await log.append(*columns(5, tag="s"), 1001, codec=1)
    assert (first.first_position, second.first_position) == (0, 10)
    assert log.end_position == 15
    got = await log.read(0, 100, 1 << 30)
    assert (got.first_position, got.next_position) == (0, 15)
    assert got.partition_keys[10] == b"s0" and got.datas[3] == bytes([3]) * 100
    assert got.codecs == [0] * 10 + [1] * 5
    assert got.arrival_ms == [1000] * 10 + [1001] * 5
    middle = await log.read(7, 5, 1 << 30)
    assert (middle.first_position, len(middle), middle.partition_keys[0]) == (7, 5, b"r7")


async def test_reads_are_bounded_but_always_move_on(open_storage: StorageFactory) -> None:
    log = await open_storage().open_shard(*_ids())
    for _ in range(4):
        await log.append(*columns(25, size=1000), 1)
    assert len(await log.read(0, 7, 1 << 30)) == 7
    bounded = await log.read(0, 100, 10_000)
    assert 1 <= len(bounded) <= 10 and bounded.size <= 10_000
    assert len(await log.read(0, 100, 10)) == 1
    assert len(await log.read(30, 1000, 1 << 30)) == 70
    assert len(await log.read(100, 10, 1 << 30)) == 0


async def test_arrival_never_decreases(open_storage: StorageFactory) -> None:
    log = await open_storage().open_shard(*_ids())
    await log.append(*columns(1), 5000)
    result = await log.append(*columns(1), 4000)
    assert result.arrival_ms == 5000 and log.last_arrival_ms == 5000


async def test_position_at_time(open_storage: StorageFactory) -> None:
    log = await open_storage().open_shard(*_ids())
    for batch in range(60):
        await log.append(*columns(10, size=300), 1000 + batch * 10)
    assert await log.position_at_time(0) == 0
    assert await log.position_at_time(1000 + 25 * 10) == 250
    assert await log.position_at_time(1000 + 25 * 10 - 3) == 250
    assert await log.position_at_time(10**12) == log.end_position


async def test_reopened_storage_finds_every_acknowledged_record(
    open_storage: StorageFactory,
) -> None:
    ids = _ids()
    storage = open_storage()
    log = await storage.open_shard(*ids)
    for batch in range(40):
        await log.append(*columns(20, size=500, tag=f"b{batch}-"), 10_000 + batch)
    await storage.close()
    reopened = await open_storage().open_shard(*ids)
    assert reopened.end_position == 800
    got = await reopened.read(0, 10_000, 1 << 30)
    assert len(got) == 800 and got.partition_keys[799] == b"b39-19"
    one = await reopened.read(555, 1, 1 << 30)
    assert one.partition_keys == [b"b27-15"]
    assert await reopened.position_at_time(10_020) == 400
    assert (await reopened.append(*columns(1), 1)).first_position == 800


async def test_wait_beyond_wakes_on_append(open_storage: StorageFactory) -> None:
    log = await open_storage().open_shard(*_ids())
    assert not await log.wait_beyond(0, 0.05)
    waiter = asyncio.create_task(log.wait_beyond(0, 10))
    await asyncio.sleep(0)
    await log.append(*columns(1), 1)
    assert await asyncio.wait_for(waiter, 10)


async def test_trim_keeps_the_newest_records(open_storage: StorageFactory) -> None:
    log = await open_storage().open_shard(*_ids())
    for batch in range(20):
        await log.append(*columns(500, size=200), 1000 + batch)
    await log.trim_before(10**12)
    assert log.end_position == 10_000
    assert log.start_position <= 9_500  # the newest batch always stays
    rest = await log.read(0, 10_000, 1 << 30)
    assert rest.next_position == 10_000 and rest.first_position == log.start_position
    assert (await log.append(*columns(1), 2000)).first_position == 10_000


async def test_seal_settles_the_end(open_storage: StorageFactory) -> None:
    log = await open_storage().open_shard(*_ids())
    await log.append(*columns(3), 1)
    await log.seal()
    assert log.end_position == 3


async def test_metadata_round_trip(open_storage: StorageFactory) -> None:
    storage = open_storage()
    storage.metadata.save_stream("s1", {"name": "one", "n": 1})
    storage.metadata.save_stream("s2", {"name": "two"})
    storage.metadata.save_stream("s1", {"name": "one", "n": 2})
    storage.metadata.delete_stream("s2")
    storage.metadata.save_setting("token-key", b"\x00\x01")
    await storage.close()
    reopened = open_storage()
    assert reopened.metadata.load_streams() == [{"name": "one", "n": 2}]
    assert reopened.metadata.load_setting("token-key") == b"\x00\x01"
    assert reopened.metadata.load_setting("missing") is None


async def test_dropped_stream_starts_over(open_storage: StorageFactory) -> None:
    storage = open_storage()
    ids = _ids()
    log = await storage.open_shard(*ids)
    await log.append(*columns(3), 1)
    await storage.drop_stream(ids[0])
    again = await storage.open_shard(*ids)
    assert again.end_position == 0
    assert len(await again.read(0, 10, 1 << 30)) == 0
