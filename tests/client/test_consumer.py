"""The consumer in one process against the real server: APIs, positions, KPL, resharding."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from headwater.client.consumer import (
    Consumer,
    ConsumerConfig,
    LeaseScope,
    RecordProcessorBase,
    SQLiteLeaseStore,
    SyncConsumer,
)
from headwater.client.producer import Producer, ProducerConfig, SyncProducer
from headwater.client.records import Record

FAST = {"failover_time": 3.0, "idle_time_between_reads": 0.1, "shard_sync_interval": 1.0}


def consumer_for(stream, tmp_path, client, application="app", **config) -> Consumer:
    return Consumer(
        stream,
        application,
        config=ConsumerConfig(**{**FAST, **config}),
        lease_store=str(tmp_path / "leases.sqlite"),
        client=client,
    )


async def take(consumer: Consumer, count: int, timeout: float = 30) -> list[Record]:
    """The first ``count`` records the consumer yields."""
    out: list[Record] = []
    async with asyncio.timeout(timeout):
        async for record in consumer:
            out.append(record)
            if len(out) == count:
                break
    return out


async def take_until(consumer: Consumer, enough, timeout: float = 30) -> list[Record]:
    """Records the consumer yields until ``enough(records)`` holds."""
    out: list[Record] = []
    async with asyncio.timeout(timeout):
        async for record in consumer:
            out.append(record)
            if enough(out):
                break
    return out


async def put_all(client, stream: str, items: list[tuple[str, str]], **config) -> list:
    async with Producer(stream, client=client, config=ProducerConfig(**config)) as producer:
        futures = [await producer.put(data, key) for data, key in items]
    return await asyncio.gather(*futures)


async def checkpoints(tmp_path, stream, application="app") -> dict[str, str]:
    store = SQLiteLeaseStore(tmp_path / "leases.sqlite")
    await store.open()
    try:
        leases = await store.list_leases(LeaseScope(application, stream))
    finally:
        await store.close()
    return {lease.shard_id: lease.checkpoint.sequence for lease in leases}


async def test_async_for_delivers_everything_and_resumes_after_the_checkpoint(
    client, make_stream, tmp_path
):
    stream = make_stream(2)
    results = await put_all(client, stream, [(f"v{i}", f"k{i % 10}") for i in range(200)])
    async with consumer_for(stream, tmp_path, client) as consumer:
        first = await take(consumer, 200)
    assert sorted(r.text() for r in first) == sorted(f"v{i}" for i in range(200))
    assert all(r.shard_id.startswith("shardId-") and r.arrival_time for r in first)
    last = {}
    for result in results:
        last[result.shard_id] = max(last.get(result.shard_id, "0"), result.sequence_number)
    # everything but each shard's last record is surely finished (the loop asked past it)
    stored = await checkpoints(tmp_path, stream)
    assert set(stored) == set(last)

    await put_all(client, stream, [(f"w{i}", f"k{i}") for i in range(20)])
    async with consumer_for(stream, tmp_path, client) as consumer:
        again = await take_until(
            consumer, lambda got: sum(r.text().startswith("w") for r in got) == 20
        )
    texts = [r.text() for r in again]
    assert sorted(t for t in texts if t.startswith("w")) == sorted(f"w{i}" for i in range(20))
    assert len([t for t in texts if t.startswith("v")]) <= 2  # at most the unconfirmed last


async def test_handlers_get_typed_records_and_checkpoint_each_batch(client, make_stream, tmp_path):
    stream = make_stream(1)
    async with Producer(stream, client=client) as producer:
        for i in range(30):
            await producer.put_json({"n": i}, "key")
    seen: list[int] = []
    done = asyncio.Event()
    consumer = consumer_for(stream, tmp_path, client)

    @consumer.on_record
    async def handle(record: Record) -> None:
        seen.append(record.json()["n"])
        if len(seen) == 30:
            done.set()

    async with consumer:
        await consumer.start()
        async with asyncio.timeout(30):
            await done.wait()
    assert seen == list(range(30))
    [(_shard, sequence)] = (await checkpoints(tmp_path, stream)).items()
    assert sequence.isdigit()


async def test_latest_skips_what_was_there_and_at_timestamp_starts_at_the_time(
    client, make_stream, tmp_path, server
):
    stream = make_stream(1)
    await put_all(client, stream, [("old", "k")] * 5)
    # Old records arrived at least 2 s (server time) before ``now``; new ones arrive after it.
    boundary = server.advance_clock(2000) / 1000 - 1.0
    await put_all(client, stream, [("new", "k")] * 5)

    async with consumer_for(
        stream,
        tmp_path,
        client,
        "at-time",
        initial_position="AT_TIMESTAMP",
        initial_timestamp=boundary,
    ) as consumer:
        records = await take(consumer, 5)
    assert [r.text() for r in records] == ["new"] * 5

    async with consumer_for(stream, tmp_path, client, "latest", initial_position="LATEST") as c:

        async def feed() -> None:
            async with Producer(stream, client=client) as producer:
                for i in range(300):
                    await producer.put_and_wait(f"live{i}", "k")

        feeder = asyncio.create_task(feed())
        try:
            records = await take(c, 3)
        finally:
            feeder.cancel()
    assert all(r.text().startswith("live") for r in records)


async def test_aggregated_records_checkpoint_by_sub_sequence(client, make_stream, tmp_path):
    stream = make_stream(1)
    items = [(f"u{i}", f"k{i}") for i in range(20)]
    results = await put_all(client, stream, items, aggregation=True, linger=0.5)
    assert len({r.sequence_number for r in results}) == 1  # one aggregate carried them all

    async with consumer_for(stream, tmp_path, client) as consumer:
        async with asyncio.timeout(30):
            async for record in consumer:
                if record.sub_sequence_number == 6:
                    break  # 0..5 are finished; 6 was seen but not confirmed
    async with consumer_for(stream, tmp_path, client) as consumer:
        rest = await take(consumer, 14)
    assert [r.sub_sequence_number for r in rest] == list(range(6, 20))
    assert [r.text() for r in rest] == [f"u{i}" for i in range(6, 20)]
    assert all(r.aggregated and r.partition_key == f"k{i + 6}" for i, r in enumerate(rest))


async def test_a_second_worker_gets_half_the_shards_by_handoff_without_duplicates(
    client, make_stream, tmp_path
):
    stream = make_stream(4)
    seen: dict[str, list[str]] = defaultdict(list)

    def worker(name: str) -> Consumer:
        consumer = consumer_for(stream, tmp_path, client, worker_id=name, failover_time=1.5)

        @consumer.on_batch
        def handle(records: list[Record]) -> None:
            for record in records:
                seen[record.text()].append(name)

        return consumer

    first, second = worker("first"), worker("second")
    async with first, second:
        await first.start()
        async with asyncio.timeout(20):
            while len(first.held_shards) < 4:
                await asyncio.sleep(0.05)
        feeder = asyncio.create_task(
            put_all(client, stream, [(f"r{i}", f"k{i}") for i in range(400)], linger=0.01)
        )
        await second.start()
        async with asyncio.timeout(20):
            while sorted([len(first.held_shards), len(second.held_shards)]) != [2, 2]:
                await asyncio.sleep(0.05)
        await feeder
        async with asyncio.timeout(20):
            while len(seen) < 400:
                await asyncio.sleep(0.05)
    assert all(len(workers) == 1 for workers in seen.values())
    assert {w for workers in seen.values() for w in workers} <= {"first", "second"}


class OrderRecorder(RecordProcessorBase):
    """Records (key, value, shard) in processing order across all shards."""

    log: list[tuple[str, int, str]] = []

    async def process_records(self, batch) -> None:
        for record in batch.records:
            self.log.append((record.partition_key, int(record.text()), record.shard_id))
        await batch.checkpointer.checkpoint()


@pytest.mark.parametrize("retrieval", ["polling", "fanout"])
async def test_a_split_during_consumption_keeps_per_key_order(
    retrieval, client, make_stream, tmp_path
):
    stream = make_stream(1)
    OrderRecorder.log = []
    consumer = Consumer(
        stream,
        f"split-{retrieval}",
        processor_factory=OrderRecorder,
        config=ConsumerConfig(**FAST, retrieval=retrieval),
        lease_store=str(tmp_path / "leases.sqlite"),
        client=client,
    )
    keys = [f"key-{i}" for i in range(16)]
    async with consumer, Producer(stream, client=client) as producer:
        await consumer.start()
        for i in range(400):
            await producer.put(str(i), keys[i % 16])
        await producer.flush()
        await client.call(
            "SplitShard",
            {
                "StreamName": stream,
                "ShardToSplit": "shardId-000000000000",
                "NewStartingHashKey": str(2**127),
            },
        )
        await client.wait_for_active(stream)
        for i in range(400, 800):
            await producer.put(str(i), keys[i % 16])
        await producer.flush()
        async with asyncio.timeout(40):
            while len(OrderRecorder.log) < 800:
                await asyncio.sleep(0.05)
    per_key: dict[str, list[int]] = defaultdict(list)
    for key, value, _shard in OrderRecorder.log:
        per_key[key].append(value)
    assert sorted(v for values in per_key.values() for v in values) == list(range(800))
    assert all(values == sorted(values) for values in per_key.values())
    shards = [shard for _, _, shard in OrderRecorder.log]
    last_parent = max(i for i, shard in enumerate(shards) if shard == "shardId-000000000000")
    assert all(s != "shardId-000000000000" for s in shards[last_parent + 1 :])
    assert {"shardId-000000000001", "shardId-000000000002"} <= set(shards[last_parent + 1 :])


def test_sync_consumer_iterates_and_runs_handlers_off_the_loop(
    make_stream, client_options, tmp_path
):
    stream = make_stream(1)
    with SyncProducer(stream, **client_options) as producer:
        producer.put_many([(f"s{i}", "k") for i in range(20)])
    expected = [f"s{i}" for i in range(20)]
    options = {
        "config": ConsumerConfig(**FAST),
        "lease_store": str(tmp_path / "leases.sqlite"),
        **client_options,
    }
    got: list[str] = []
    with SyncConsumer(stream, "sync-iter", **options) as consumer:
        for record in consumer:
            got.append(record.text())
            if len(got) == 20:
                break
    assert got == expected

    consumer = SyncConsumer(stream, "sync-handler", **options)
    seen: list[str] = []

    @consumer.on_record
    def handle(record: Record) -> None:
        seen.append(record.text())
        if len(seen) == 20:
            consumer.stop()

    consumer.run()
    assert seen == expected
