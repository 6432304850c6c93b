"""What only a shared log must do: several writers, a fresh node's lookups, seal, watch."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
import pytest

from headwater.storage.nats import NatsStorage, parse_storage_url
from headwater.storage.nats.errors import StorageUnavailableException
from headwater.storage.nats.frames import BATCH_HEADER, BatchMeta, encode_body
from tests.support.nats_cluster import NatsCluster

_prefixes = itertools.count()
SHARD = "shardId-000000000000"


@pytest.fixture
async def nodes(nats_cluster: NatsCluster) -> AsyncIterator[Callable[[], NatsStorage]]:
    """Opens another API node's storage over the same (isolated) namespace."""
    url = f"{nats_cluster.storage_url(replicas=3)}&prefix=s{next(_prefixes)}"
    opened: list[NatsStorage] = []

    def open_node() -> NatsStorage:
        opened.append(NatsStorage(parse_storage_url(url)))
        return opened[-1]

    yield open_node
    for storage in opened:
        await storage.close()


async def test_writers_on_two_nodes_share_one_dense_order(nodes) -> None:
    stream_id = uuid.uuid4().hex
    a = await nodes().open_shard(stream_id, SHARD)
    b = await nodes().open_shard(stream_id, SHARD)

    async def write(log, tag: str) -> list[tuple[int, int]]:
        placed = []
        for batch in range(30):
            keys = [f"{tag}{batch}-{i}".encode() for i in range(3)]
            placed.append(((await log.append(keys, [b"x"] * 3, 1)).first_position, batch))
        return placed

    placed_a, placed_b = await asyncio.gather(write(a, "a"), write(b, "b"))
    firsts = sorted(first for first, _ in placed_a + placed_b)
    assert firsts == list(range(0, 180, 3))
    got = await a.read(0, 1000, 1 << 30)
    assert len(got) == 180 and len(set(got.partition_keys)) == 180
    for first, batch in placed_b:
        assert got.partition_keys[first] == f"b{batch}-0".encode()


async def test_a_node_hears_of_appends_made_elsewhere(nodes) -> None:
    stream_id = uuid.uuid4().hex
    writer = await nodes().open_shard(stream_id, SHARD)
    reader = await nodes().open_shard(stream_id, SHARD)
    waiting = asyncio.create_task(reader.wait_beyond(0, 10))
    await writer.append([b"k"], [b"v"], 1)
    assert await asyncio.wait_for(waiting, 10)
    assert reader.end_position == 1


async def test_a_fresh_node_finds_any_position_and_time(nodes) -> None:
    stream_id = uuid.uuid4().hex
    writer = await nodes().open_shard(stream_id, SHARD)
    for batch in range(300):
        keys = [f"{batch}-{i}".encode() for i in range(1 + batch % 7)]
        await writer.append(keys, [b"d"] * len(keys), 10_000 + batch)
    fresh = await nodes().open_shard(stream_id, SHARD)
    everything = await fresh.read(0, 10_000, 1 << 30)
    assert len(everything) == fresh.end_position
    for position in (1, 333, 777, fresh.end_position - 1):
        other = await nodes().open_shard(stream_id, SHARD)
        one = await other.read(position, 1, 1 << 30)
        assert one.partition_keys == [everything.partition_keys[position]]
    arrival = everything.arrival_ms.index(10_150)
    assert await (await nodes().open_shard(stream_id, SHARD)).position_at_time(10_150) == arrival


async def test_a_sealed_shard_refuses_appends_from_every_node(nodes) -> None:
    stream_id = uuid.uuid4().hex
    closer = await nodes().open_shard(stream_id, SHARD)
    late = await nodes().open_shard(stream_id, SHARD)
    await late.append([b"k"], [b"v"], 1)
    await closer.seal()
    assert closer.end_position == 1
    with pytest.raises(StorageUnavailableException, match="closed by a reshard"):
        await late.append([b"k"], [b"v"], 2)


async def test_metadata_changes_reach_the_other_nodes(nodes) -> None:
    a, b = nodes(), nodes()
    changes: asyncio.Queue[tuple[str, dict[str, Any] | None]] = asyncio.Queue()
    b.metadata.watch(lambda stream_id, document: changes.put_nowait((stream_id, document)))
    a.metadata.save_stream("s1", {"name": "one"})
    assert await asyncio.wait_for(changes.get(), 10) == ("s1", {"name": "one"})
    a.metadata.delete_stream("s1")
    assert await asyncio.wait_for(changes.get(), 10) == ("s1", None)
    b.metadata.save_stream("s2", {"name": "mine"})
    a.metadata.save_stream("s3", {"name": "theirs"})
    assert await asyncio.wait_for(changes.get(), 10) == ("s3", {"name": "theirs"})


async def test_a_batch_nobody_announced_still_reaches_readers(nodes) -> None:
    """A node killed between JetStream's ack and its announcement: readers find the batch."""
    stream_id = uuid.uuid4().hex
    poller, subscriber = nodes(), nodes()
    polling = await poller.open_shard(stream_id, SHARD)
    waiting = await subscriber.open_shard(stream_id, SHARD)
    settings = poller.settings
    nc = await nats.connect(servers=list(settings.servers))
    try:
        meta = BatchMeta(seq=0, first_position=0, count=1, arrival_ms=5)
        await nc.jetstream().publish(
            settings.shard_subject(stream_id, SHARD),
            encode_body([b"k"], [b"unannounced"]),
            headers={BATCH_HEADER: meta.header(), "Nats-Expected-Last-Sequence": "0"},
        )
    finally:
        await nc.close()
    # A caught-up GetRecords checks the stream; the reader's next call has the batch.
    assert len(await polling.read(0, 10, 1 << 20)) == 0
    assert (await polling.read(0, 10, 1 << 20)).datas == [b"unannounced"]
    # A subscriber whose wait times out checks the stream too.
    assert await waiting.wait_beyond(0, 0.2)


@pytest.mark.slow
async def test_metadata_rides_out_the_loss_of_its_leader(nats_cluster, nodes) -> None:
    """kill -9 of the bucket's leader: saves wait for the election, the watch keeps going."""
    a, b = nodes(), nodes()
    changes: asyncio.Queue[tuple[str, dict[str, Any] | None]] = asyncio.Queue()
    b.metadata.watch(lambda stream_id, document: changes.put_nowait((stream_id, document)))
    a.metadata.save_stream("before", {"n": 1})
    assert await asyncio.wait_for(changes.get(), 10) == ("before", {"n": 1})
    bucket_subjects = f"$KV.{a.settings.metadata_bucket}.>"
    leader = await asyncio.to_thread(nats_cluster.stream_leader, bucket_subjects)
    leader.kill()
    try:
        await asyncio.to_thread(a.metadata.save_stream, "after", {"n": 2})
        assert await asyncio.wait_for(changes.get(), 20) == ("after", {"n": 2})
    finally:
        leader.start()
        await asyncio.to_thread(nats_cluster.wait_healthy)
