"""The producer against the real server: throttling, ordering, back-pressure, TTL, errors."""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict

import pytest
from aws_kinesis_agg.deaggregator import deaggregate_records

from headwater.client.api import KinesisClient
from headwater.client.errors import BufferFullError, RecordExpiredError, RecordFailedError
from headwater.client.positions import StartingPosition
from headwater.client.producer import Producer, ProducerConfig, SyncProducer
from tests.support.server import free_port

KEYS = 4000


async def read_everything(client: KinesisClient, stream: str) -> list:
    """Every wire record of every shard, in shard order."""
    out = []
    for shard in await client.list_shards(stream):
        iterator = await client.get_shard_iterator(
            stream, shard.ShardId, StartingPosition.trim_horizon()
        )
        for _ in range(1000):
            page = await client.get_records(iterator)
            out.extend(page.Records)
            if not page.Records and page.MillisBehindLatest == 0:
                break
            iterator = page.NextShardIterator
    return out


async def test_100k_records_through_throttling_with_no_loss_and_per_key_order(client, make_stream):
    stream = make_stream(12)
    config = ProducerConfig(shard_rate=None)  # no pacing: the server must throttle
    async with Producer(stream, client=client, config=config) as producer:
        futures = [await producer.put(str(i), f"key-{i % KEYS}") for i in range(100_000)]
    results = await asyncio.gather(*futures)
    metrics = producer.metrics
    assert metrics.records_put == 100_000 and metrics.records_failed == 0
    assert metrics.errors["ProvisionedThroughputExceededException"] > 0
    assert metrics.retries > 0

    last: dict[str, int] = {}
    for i, result in enumerate(results):
        key = f"key-{i % KEYS}"
        sequence = int(result.sequence_number)
        assert sequence > last.get(key, -1), "a later record of a key was written first"
        last[key] = sequence

    stored = await read_everything(client, stream)
    assert sorted(int(r.Data) for r in stored) == list(range(100_000))
    per_key = defaultdict(list)
    for record in stored:
        per_key[record.PartitionKey].append(int(record.Data))
    assert all(values == sorted(values) for values in per_key.values())


async def test_aggregated_records_read_back_with_aws_kinesis_agg(client, make_stream):
    stream = make_stream(2)
    config = ProducerConfig(aggregation=True, aggregation_max_size=4096)
    async with Producer(stream, client=client, config=config) as producer:
        futures = [await producer.put(f"value {i}", f"k{i % 13}") for i in range(1000)]
    results = await asyncio.gather(*futures)
    assert producer.metrics.kinesis_records_put < 100
    assert any(result.sub_sequence_number > 0 for result in results)

    stored = await read_everything(client, stream)
    events = [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "sequenceNumber": r.SequenceNumber,
                "approximateArrivalTimestamp": r.ApproximateArrivalTimestamp,
                "partitionKey": r.PartitionKey,
                "data": base64.b64encode(r.Data).decode(),
            }
        }
        for r in stored
    ]
    users = deaggregate_records(events)
    decoded = [base64.b64decode(u["kinesis"]["data"]).decode() for u in users]
    assert sorted(decoded) == sorted(f"value {i}" for i in range(1000))
    per_key = defaultdict(list)
    for user, text in zip(users, decoded, strict=True):
        per_key[user["kinesis"]["partitionKey"]].append(int(text.split()[1]))
    assert all(values == sorted(values) for values in per_key.values())


async def test_put_nowait_refuses_when_the_buffer_is_full(client, make_stream):
    stream = make_stream(1)
    config = ProducerConfig(max_buffered_records=10, linger=30.0)
    async with Producer(stream, client=client, config=config) as producer:
        futures = [producer.put_nowait(b"x", f"k{i}") for i in range(10)]
        with pytest.raises(BufferFullError):
            producer.put_nowait(b"x", "one-too-many")
        await producer.flush(timeout=10)
        assert all(f.done() and not f.exception() for f in futures)
        producer.put_nowait(b"x", "room-again")


async def test_put_waits_for_room_and_memory_stays_bounded(client, make_stream):
    stream = make_stream(1)
    config = ProducerConfig(max_buffered_records=5, linger=0.0)
    async with Producer(stream, client=client, config=config) as producer:
        futures = []
        for i in range(200):
            futures.append(await producer.put(str(i), "same-key"))
            assert producer.buffered[0] <= 5
    sequences = [int(result.sequence_number) for result in await asyncio.gather(*futures)]
    assert sequences == sorted(sequences)


async def test_records_expire_when_the_service_stays_unreachable():
    options = {
        "endpoint_url": f"http://127.0.0.1:{free_port()}",
        "aws_access_key_id": "a",
        "aws_secret_access_key": "b",
        "connect_timeout": 0.5,
    }
    config = ProducerConfig(record_ttl=0.5, backoff_base=0.05, backoff_cap=0.1)
    async with Producer("nowhere", config=config, **options) as producer:
        future = await producer.put(b"lost", "k")
        with pytest.raises(RecordExpiredError):
            await asyncio.wait_for(future, 10)
    assert producer.metrics.errors["ConnectionFailure"] > 0
    assert producer.metrics.errors["RecordExpired"] == 1
    assert producer.metrics.records_failed == 1


async def test_a_permanent_error_fails_the_record_at_once(client, stream_name):
    async with Producer(stream_name, client=client) as producer:
        future = await producer.put(b"x", "k")
        with pytest.raises(RecordFailedError) as failure:
            await asyncio.wait_for(future, 10)
    assert failure.value.code == "ResourceNotFoundException"
    assert producer.metrics.retries == 0


async def test_close_flushes_what_is_buffered(client, make_stream):
    stream = make_stream(2)
    producer = Producer(stream, client=client, config=ProducerConfig(linger=60.0))
    await producer.start()
    futures = [await producer.put_json({"n": i}, f"k{i}") for i in range(50)]
    await producer.close()
    assert all(f.done() for f in futures)
    stored = await read_everything(client, stream)
    assert sorted(r.Data for r in stored) == sorted(f'{{"n":{i}}}'.encode() for i in range(50))


def test_sync_producer(make_stream, client_options):
    stream = make_stream(2)
    with SyncProducer(stream, **client_options) as producer:
        first = producer.put(b"hello", "k").result(timeout=10)
        many = producer.put_many([(str(i), f"k{i}") for i in range(100)])
        producer.put_json({"a": 1}, "k")
        producer.flush(timeout=10)
        assert all(f.done() for f in many)
    assert first.shard_id.startswith("shardId-") and first.attempts == 1
    assert producer.metrics.records_put == 102
