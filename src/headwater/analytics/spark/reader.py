"""The streaming reader: plans micro-batches on the driver, reads shards on the executors.

Planning (``latestOffset``) lists the shards and scans each readable one to its current end,
so a batch's end offset names the exact last sequence number per shard; ``partitions`` makes
one Spark partition per shard with new records; ``read`` fetches that shard's range again on
an executor and hands it to Spark as Arrow record batches, one per GetRecords page. Reading
twice costs API calls but keeps batches exact and replayable from sequence numbers alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql.datasource import DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import ReadLimit

from headwater.analytics.spark import offsets as offs
from headwater.analytics.spark.options import StreamOptions
from headwater.analytics.spark.shards import read_range, scan_to_end
from headwater.client.api import KinesisClient
from headwater.client.positions import LATEST, StartingPosition
from headwater.client.records import Record

ARROW_SCHEMA = pa.schema(
    [
        ("partition_key", pa.string()),
        ("data", pa.binary()),
        ("sequence_number", pa.string()),
        ("approximate_arrival_timestamp", pa.timestamp("us", tz="UTC")),
        ("shard_id", pa.string()),
        ("stream", pa.string()),
    ]
)
SCHEMA_DDL = (
    "partition_key string, data binary, sequence_number string, "
    "approximate_arrival_timestamp timestamp, shard_id string, stream string"
)


@dataclass(frozen=True)
class ShardRange(InputPartition):
    """One shard's records in one micro-batch: after ``start``, up to ``end`` inclusive."""

    shard_id: str
    start: StartingPosition
    end: str


def to_arrow(records: list[Record], stream: str) -> pa.RecordBatch:
    arrivals = [
        None if r.arrival_time is None else int(r.arrival_time.timestamp() * 1_000_000)
        for r in records
    ]
    columns = [
        pa.array([r.partition_key for r in records], pa.string()),
        pa.array([r.data for r in records], pa.binary()),
        pa.array([r.sequence_number for r in records], pa.string()),
        pa.array(arrivals, pa.timestamp("us", tz="UTC")),
        pa.array([r.shard_id for r in records], pa.string()),
        pa.array([stream] * len(records), pa.string()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=ARROW_SCHEMA)


class HeadwaterStreamReader(DataSourceStreamReader):
    def __init__(self, options: StreamOptions) -> None:
        self.options = options

    def _client(self) -> KinesisClient:
        return KinesisClient(self.options.client)

    def initialOffset(self) -> dict:
        return offs.encode(asyncio.run(self._initial()))

    async def _initial(self) -> offs.Offsets:
        """Every shard from its start, or (LATEST) from now: open shards by arrival time."""
        async with self._client() as client:
            shards = await client.list_shards(self.options.stream)
        if self.options.start != LATEST:
            return offs.track({}, shards)
        now = StartingPosition.at_timestamp(time.time())
        return {s.ShardId: offs.ShardOffset(now, ended=not s.is_open) for s in shards}

    def latestOffset(self, start: dict, limit: ReadLimit) -> dict:
        return offs.encode(asyncio.run(self._latest(offs.decode(start))))

    async def _latest(self, start: offs.Offsets) -> offs.Offsets:
        stream = self.options.stream
        async with self._client() as client:
            shards = await client.list_shards(stream)
            current = offs.track(start, shards)
            ready = offs.readable(current, shards)
            ends = await asyncio.gather(
                *(scan_to_end(client, stream, shard, current[shard]) for shard in ready)
            )
        return {**current, **dict(zip(ready, ends, strict=True))}

    def partitions(self, start: dict, end: dict) -> list[InputPartition]:
        before, after = offs.decode(start), offs.decode(end)
        ranges: list[InputPartition] = []
        for shard_id, offset in sorted(after.items()):
            first = before.get(shard_id, offs.FRESH)
            if offset.last_read is not None and offset.last_read != first.last_read:
                ranges.append(ShardRange(shard_id, first.position, offset.last_read))
        return ranges

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, ShardRange)
        return _read_sync(self.options, partition)


def _read_sync(options: StreamOptions, part: ShardRange) -> Iterator[pa.RecordBatch]:
    """Drive the async range read page by page on a private loop: Spark pulls a plain iterator."""
    loop = asyncio.new_event_loop()
    client = KinesisClient(options.client)
    pages = read_range(client, options.stream, part.shard_id, part.start, part.end)
    try:
        while True:
            try:
                records = loop.run_until_complete(anext(pages))
            except StopAsyncIteration:
                return
            yield to_arrow(records, options.stream)
    finally:
        loop.run_until_complete(pages.aclose())
        loop.run_until_complete(client.aclose())
        loop.close()
