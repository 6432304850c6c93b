"""Where results go: a Kinesis stream (exactly once), the console, nowhere, the online store.

**Exactly-once into streams.** Each result carries a deterministic id as its partition key,
``<application>/<checkpoint>/<sink>/<n>``: the n-th result of a checkpoint. Results are
committed to the checkpoint before they are written (see ``checkpoint``), so after a crash
the same results with the same ids are written again — but first the output stream is read
from where the last completed delivery ended, and results whose id is already there are
skipped. A put whose outcome is unknown (a timeout, a lost answer) is settled the same way.
So the output stream holds every result exactly once. With ``'partition-key' = 'col, ...'``
records are routed (ExplicitHashKey) to the shard those columns' values would pick as a
partition key, so results of one key stay in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import msgspec
import pyarrow as pa

from headwater.analytics.catalog import Table
from headwater.analytics.checkpoint import Result
from headwater.client import KinesisClient, StartingPosition
from headwater.client.backoff import Backoff
from headwater.client.errors import is_retryable
from headwater.client.shapes import PutRecordsRequestEntry
from headwater.errors import KinesisError

log = logging.getLogger(__name__)
PUT_BATCH = 500


def _jsonable(value: Any) -> Any:
    """Timestamps as ISO 8601 UTC text (``...T12:00:00.250Z``), as the sources write them."""
    if isinstance(value, datetime):
        spec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
        return value.isoformat(timespec=spec) + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


_encoder = msgspec.json.Encoder()


def encode_row(row: dict[str, Any]) -> bytes:
    return _encoder.encode(_jsonable(row))


def hash_key(text: str) -> str:
    """The hash key Kinesis derives from a partition key (MD5 as a 128-bit integer)."""
    return str(int.from_bytes(hashlib.md5(text.encode()).digest(), "big"))


def results_of(table: Table, rows: pa.Table, prefix: str, start: int = 0) -> list[Result]:
    """Rows as JSON results with ids ``<prefix>/<start + n>``."""
    keys = [k.strip() for k in table.options.get("partition-key", "").split(",") if k.strip()]
    out = []
    for index, row in enumerate(rows.to_pylist(), start):
        routed = hash_key("|".join(str(row.get(k)) for k in keys)) if keys else None
        out.append(Result(f"{prefix}/{index}", encode_row(row), routed))
    return out


class Sink(Protocol):
    async def deliver(self, results: list[Result], uncertain: bool) -> None:
        """Write every result; ``uncertain``: some may already be there (after a crash)."""


class BlackholeSink:
    async def deliver(self, results: list[Result], uncertain: bool) -> None:
        return None


class PrintSink:
    def __init__(self, name: str, out: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.out = out or (lambda line: print(line, file=sys.stdout, flush=True))

    async def deliver(self, results: list[Result], uncertain: bool) -> None:
        for result in results:
            self.out(f"{self.name} {result.data.decode()}")


class OnlineStoreSink:
    """Upserts by key (last event time wins), so writing a result twice changes nothing."""

    def __init__(self, table: Table, base_dir: Path) -> None:
        from headwater.delivery.online.store import open_store

        options = table.options
        spec = options.get("store", "features.sqlite")
        if "://" not in spec and not Path(spec).is_absolute():
            spec = str(base_dir / spec)
        self.store = open_store(spec)
        self.table = options.get("table", table.name)
        self.key = options.get("key", "key")
        self.event_time = options.get("event-time")
        self.ttl = float(options["ttl"]) if "ttl" in options else None

    async def deliver(self, results: list[Result], uncertain: bool) -> None:
        from headwater.analytics.decode import parse_timestamp
        from headwater.delivery.online.store import Write

        writes = []
        for result in results:
            row = msgspec.json.decode(result.data)
            when = parse_timestamp(row.get(self.event_time)) if self.event_time else None
            seconds = (when - datetime(1970, 1, 1)).total_seconds() if when else 0.0
            writes.append(Write(str(row[self.key]), row, seconds, self.ttl))
        await asyncio.to_thread(self.store.put_many, self.table, writes)


class StreamSink:
    """PutRecords with the result id as partition key; missing results found by reading."""

    def __init__(
        self, client: KinesisClient, stream: str, written: dict[tuple[str, str], str]
    ) -> None:
        self.client = client
        self.stream = stream
        self.written = written  # (stream, shard) → last sequence number we wrote there
        self._backoff = Backoff(0.1, 5.0)

    async def deliver(self, results: list[Result], uncertain: bool) -> None:
        todo = results
        if uncertain:
            todo = await self._missing(todo)
        attempt = 0
        while todo:
            chunk, rest = todo[:PUT_BATCH], todo[PUT_BATCH:]
            entries = [PutRecordsRequestEntry(r.data, r.id, r.hash_key) for r in chunk]
            try:
                answer = await self.client.put_records(self.stream, entries)
            except (KinesisError, OSError) as error:
                if isinstance(error, KinesisError) and not is_retryable(error):
                    raise
                attempt += 1
                log.warning("put to %s failed (%r): checking what arrived", self.stream, error)
                await asyncio.sleep(self._backoff.delay(attempt))
                todo = await self._missing(todo)  # the outcome is unknown: look
                continue
            failed = []
            for result, entry in zip(chunk, answer.Records, strict=True):
                if entry.ErrorCode:
                    failed.append(result)  # certainly not written
                elif entry.ShardId and entry.SequenceNumber:
                    self._wrote(entry.ShardId, entry.SequenceNumber)
            if failed:
                attempt += 1
                await asyncio.sleep(self._backoff.delay(attempt))
            todo = failed + rest

    def _wrote(self, shard: str, sequence: str) -> None:
        key = (self.stream, shard)
        if key not in self.written or int(sequence) > int(self.written[key]):
            self.written[key] = sequence

    async def _missing(self, results: list[Result]) -> list[Result]:
        """The results whose id is not yet in the stream (read after the last delivery)."""
        wanted = {r.id for r in results}
        present: set[str] = set()
        for shard in await self.client.list_shards(self.stream):
            last = self.written.get((self.stream, shard.ShardId))
            start = (
                StartingPosition.after_sequence(last) if last else (StartingPosition.trim_horizon())
            )
            iterator: str | None = await self._retry(
                self.client.get_shard_iterator, self.stream, shard.ShardId, start
            )
            while iterator:
                page = await self._retry(self.client.get_records, iterator, 10_000)
                for record in page.Records:
                    if record.PartitionKey in wanted:
                        present.add(record.PartitionKey)
                        self._wrote(shard.ShardId, record.SequenceNumber)
                if not page.Records and not page.MillisBehindLatest:
                    break
                iterator = page.NextShardIterator
        if present:
            log.info("%s: %d results were already written", self.stream, len(present))
        return [r for r in results if r.id not in present]

    async def _retry(self, call: Callable[..., Any], *args: Any) -> Any:
        for attempt in range(20):
            try:
                return await call(*args)
            except KinesisError as error:
                if not is_retryable(error):
                    raise
                await asyncio.sleep(self._backoff.delay(attempt))
        return await call(*args)
