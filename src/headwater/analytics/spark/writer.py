"""The sink: rows of a DataFrame become records of a stream, through the client's producer.

Each Spark task puts its partition's rows with ``Producer`` (PutRecords batches of up to 500,
per-shard pacing, retries of throttled records, per-key order), waits until every record is
acknowledged and fails the task otherwise. Kinesis has no transactions, so a retried task or
batch writes its records again: the sink is at-least-once.

Rows need ``data`` (binary or string) and ``partition_key`` (string); an
``explicit_hash_key`` column, when present, routes a row to the shard owning that hash key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

from pyspark.sql import Row
from pyspark.sql.datasource import DataSourceStreamWriter, DataSourceWriter, WriterCommitMessage
from pyspark.sql.types import StructType

from headwater.analytics.spark.options import StreamOptions
from headwater.client.api import KinesisClient
from headwater.client.producer import Producer, ProducerConfig

REQUIRED = ("data", "partition_key")


@dataclass(frozen=True)
class Written(WriterCommitMessage):
    records: int


def check_schema(schema: StructType) -> None:
    missing = [name for name in REQUIRED if name not in schema.fieldNames()]
    if missing:
        raise ValueError(f"the headwater sink needs column(s) {', '.join(missing)}")


async def put_rows(options: StreamOptions, rows: Iterator[Row]) -> int:
    """Put every row, wait for all acknowledgements; the first failure is raised."""
    pending = []
    async with (
        KinesisClient(options.client) as client,
        Producer(
            options.stream, client=client, config=ProducerConfig(shard_rate=options.shard_rate)
        ) as producer,
    ):
        for row in rows:
            fields = row.asDict()
            data = fields["data"]
            pending.append(
                await producer.put(
                    data if isinstance(data, bytes | bytearray) else str(data).encode(),
                    str(fields["partition_key"]),
                    explicit_hash_key=fields.get("explicit_hash_key"),
                )
            )
        await asyncio.gather(*pending)
    return len(pending)


class _Put:
    """The write of both writers: one task's rows into the stream."""

    def __init__(self, options: StreamOptions) -> None:
        self.options = options

    def write(self, iterator: Iterator[Row]) -> WriterCommitMessage:
        return Written(asyncio.run(put_rows(self.options, iterator)))


class HeadwaterBatchWriter(_Put, DataSourceWriter):
    """``df.write.format("headwater")``."""


class HeadwaterStreamWriter(_Put, DataSourceStreamWriter):
    """``df.writeStream.format("headwater")``."""

    def commit(self, messages: list[WriterCommitMessage | None], batchId: int) -> None:
        """Nothing to do: every record was acknowledged before its task finished."""

    def abort(self, messages: list[WriterCommitMessage | None], batchId: int) -> None:
        """Nothing to undo: records already acknowledged stay in the stream (at-least-once)."""
