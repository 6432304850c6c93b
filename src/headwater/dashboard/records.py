"""The record browser: records of one or more streams, all shards merged by arrival time.

Reads go through the service's own read path (``RecordPlane.read_batch``: retention, closed
shards' ends and decryption as GetRecords sees them) without counting as GetRecords in the
metrics. Every query is bounded: records returned, records and bytes scanned, preview size.
Without ``since_ms`` it shows the newest matching records (each shard scanned backwards from
its tip); with it, the first ones that arrived at or after that time.
"""

from __future__ import annotations

import base64
import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from headwater.service.model import Shard, Stream
from headwater.service.records import RecordPlane

MAX_LIMIT = 500
MAX_STREAMS = 10
MAX_FILTER_CHARS = 200
SCAN_RECORDS = 20_000  # per query, over all shards
SCAN_BYTES = 16 * 1024 * 1024  # per query, over all shards
CHUNK_RECORDS = 500
PREVIEW_BYTES = 1024


@dataclass(frozen=True, slots=True)
class RecordQuery:
    streams: tuple[str, ...]
    limit: int = 100
    key: str = ""  # partition key contains
    text: str = ""  # data contains (bytes of its UTF-8)
    shard: str = ""  # one shard id, or all
    since_ms: int | None = None


@dataclass(slots=True)
class _Budget:
    records: int = SCAN_RECORDS
    bytes: int = SCAN_BYTES

    @property
    def spent(self) -> bool:
        return self.records <= 0 or self.bytes <= 0


def _preview(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 when the data is text, else base64; cut to PREVIEW_BYTES."""
    head = data[:PREVIEW_BYTES]
    try:
        return head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        if len(data) > PREVIEW_BYTES and error.start >= len(head) - 3:  # a cut character
            return head[: error.start].decode("utf-8"), "utf-8"
        return base64.b64encode(head).decode(), "base64"


def _ranges(low: int, high: int, backwards: bool) -> Iterator[tuple[int, int]]:
    """[low, high) in chunks, from the newest end when ``backwards``."""
    if backwards:
        for end in range(high, low, -CHUNK_RECORDS):
            yield max(end - CHUNK_RECORDS, low), end
    else:
        for start in range(low, high, CHUNK_RECORDS):
            yield start, min(start + CHUNK_RECORDS, high)


class RecordBrowser:
    def __init__(self, records: RecordPlane) -> None:
        self.records = records

    async def query(self, query: RecordQuery) -> dict:
        """``{"records": [...], "complete": bool}``; ``complete`` is false when the scan
        budget ran out before every shard's window was looked at."""
        registry = self.records.registry
        budget = _Budget()
        found: list[list[dict]] = []
        for name in query.streams:
            stream = registry.streams.get(name)
            if stream is None or stream.deleting_at_ms is not None:
                continue
            for shard in stream.shards:
                if not query.shard or shard.shard_id == query.shard:
                    found.append(await self._scan_shard(stream, shard, query, budget))
        backwards = query.since_ms is None
        merged = heapq.merge(*found, key=_order, reverse=backwards)
        rows = [row for _, row in zip(range(query.limit), merged, strict=False)]
        return {"records": rows, "complete": not budget.spent}

    async def _scan_shard(
        self, stream: Stream, shard: Shard, query: RecordQuery, budget: _Budget
    ) -> list[dict]:
        """Up to ``limit`` matching records of one shard, in scan order (newest first when
        scanning backwards)."""
        records = self.records
        end = await records.latest(stream, shard)
        if query.since_ms is None:
            start = await records.trim_horizon(stream, shard)
        else:
            # AT_TIMESTAMP as GetShardIterator sees it (never in the future; the half
            # millisecond keeps the seconds' float from rounding below ``since_ms``).
            since_ms = min(query.since_ms, records.registry.clock.now_ms())
            start = await records.start_position(
                stream, shard, "AT_TIMESTAMP", None, (since_ms + 0.5) / 1000
            )
        backwards = query.since_ms is None
        rows: list[dict] = []
        for low, high in _ranges(start, end, backwards):
            chunk = await self._read(stream, shard, low, high, query, budget)
            rows.extend(reversed(chunk) if backwards else chunk)
            if len(rows) >= query.limit or budget.spent:
                break
        return rows[: query.limit]

    async def _read(
        self, stream: Stream, shard: Shard, low: int, high: int, query: RecordQuery, budget: _Budget
    ) -> list[dict]:
        """Matching records of positions [low, high), oldest first, charged to ``budget``."""
        key, text = query.key.encode(), query.text.encode()
        rows: list[dict] = []
        position = low
        while position < high and not budget.spent:
            batch = await self.records.read_batch(
                stream, shard, position, high - position, budget.bytes
            )
            got = batch.records
            if not len(got):
                break
            budget.records -= len(got)
            budget.bytes -= batch.size
            for i, (partition_key, data) in enumerate(
                zip(got.partition_keys, got.datas, strict=True)
            ):
                if key not in partition_key or text not in data:
                    continue
                preview, encoding = _preview(data)
                rows.append(
                    {
                        "stream": stream.name,
                        "shard": shard.shard_id,
                        "sequence_number": str(got.first_sequence_number + i),
                        "arrival_ms": got.arrival_ms[i],
                        "partition_key": partition_key.decode("utf-8", "replace"),
                        "data": preview,
                        "encoding": encoding,
                        "size": len(data),
                        "truncated": len(data) > PREVIEW_BYTES,
                    }
                )
            position = batch.next_position
        return rows


def _order(row: dict) -> tuple[int, str, str, int]:
    """Arrival time, then a stable tie-break (stream, shard, position)."""
    return row["arrival_ms"], row["stream"], row["shard"], int(row["sequence_number"])
