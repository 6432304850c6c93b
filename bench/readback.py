"""Read a whole stream back from TRIM_HORIZON, shard by shard (bounded in calls and time)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import msgspec

from bench.client import KinesisClient

MAX_PER_CALL = 10_000


class _Record(msgspec.Struct):
    Data: bytes


class _Page(msgspec.Struct):
    Records: list[_Record] = []
    NextShardIterator: str | None = None
    MillisBehindLatest: int = 0


_decode_page = msgspec.json.Decoder(_Page).decode


def read_shard(
    client: KinesisClient,
    stream: str,
    shard_id: str,
    deadline: float,
    on_record: Callable[[bytes], None],
) -> int:
    """Every record of one shard from TRIM_HORIZON; returns how many were read."""
    iterator: str | None = client.iterator(stream, shard_id, "TRIM_HORIZON")
    count = 0
    while iterator is not None and time.monotonic() < deadline:
        page = _decode_page(
            client.raw("GetRecords", {"ShardIterator": iterator, "Limit": MAX_PER_CALL})
        )
        for record in page.Records:
            on_record(record.Data)
        count += len(page.Records)
        if not page.Records and page.MillisBehindLatest == 0:
            break
        iterator = page.NextShardIterator
    return count


def read_stream(port: int, stream: str, timeout_s: float) -> tuple[Counter[bytes], bool]:
    """Every record's data with multiplicity, and whether the read finished in time."""
    found: Counter[bytes] = Counter()
    deadline = time.monotonic() + timeout_s

    def keep(data: bytes) -> None:
        found[data] += 1

    with KinesisClient(port, timeout_s=60) as client:
        for shard_id in client.shard_ids(stream):
            read_shard(client, stream, shard_id, deadline, keep)
    return found, time.monotonic() < deadline
