"""Reading every shard of a stream with GetRecords, following resharding.

``StreamReader`` keeps one ``ShardCursor`` per shard being read. Shards are read parents
first: a child (of a split, or of a merge with two parents) starts once all of its parents
that are being read have ended, at its TRIM_HORIZON, so nothing between a parent's end and
the child's start is missed and each partition key stays in order. Calls are paced per shard
(Kinesis allows 5 GetRecords per second per shard) and a throttled shard backs off on its own.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from headwater.cli.common import (
    THROTTLING_CODES,
    Api,
    StartPosition,
    backoff,
    error_code,
    stream_ref,
)

#: Between calls to a shard that is behind (4 per second: under Kinesis' 5, with room).
CATCH_UP_INTERVAL_S = 0.25
MAX_WORKERS = 16


@dataclass(eq=False)
class ShardCursor:
    """Where reading of one shard stands."""

    shard_id: str
    start: dict[str, Any]  # GetShardIterator arguments for the first iterator
    closed: bool = False  # known closed (has an EndingSequenceNumber) when listed
    iterator: str | None = None
    last_sequence: str | None = None
    caught_up: bool = False  # the last read reached the shard's current end
    finished: bool = False  # the shard is closed and read to its end
    behind_ms: int | None = None
    reads: int = 0
    next_read: float = 0.0  # monotonic time of the next allowed read
    failures: int = 0
    children: list[dict[str, Any]] = field(default_factory=list)
    buffer: deque[dict[str, Any]] = field(default_factory=deque)  # for callers that merge

    @property
    def state(self) -> str:
        if self.finished:
            return "ended"
        if self.closed:
            return "closing"
        return "open"


@dataclass
class Batch:
    cursor: ShardCursor
    records: list[dict[str, Any]]


class StreamReader:
    """Polls a stream's shards; ``poll`` reads the shards that are due and wanted."""

    def __init__(
        self,
        api: Api,
        stream: str,
        start: StartPosition,
        poll_interval: float = 0.5,
        catch_up_interval: float = CATCH_UP_INTERVAL_S,
    ) -> None:
        self.api = api
        self.stream = stream
        self.start = start
        self.poll_interval = poll_interval
        self.catch_up_interval = catch_up_interval
        self.cursors: dict[str, ShardCursor] = {}  # being read, or ended with records buffered
        self.ended: set[str] = set()
        self.pending: dict[str, set[str]] = {}  # child shard -> parents still being read
        self._pool: ThreadPoolExecutor | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """List the shards and take iterators for the first generation to read."""
        if self.start.kind == "LATEST":
            shard_filter: dict[str, Any] | None = {"Type": "AT_LATEST"}
        elif self.start.kind == "AT_TIMESTAMP":
            shard_filter = {"Type": "FROM_TIMESTAMP", "Timestamp": self.start.timestamp}
        else:
            shard_filter = None
        shards = self.api.shards(self.stream, shard_filter)
        listed = {shard["ShardId"] for shard in shards}
        for shard in shards:
            closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
            parents = {
                parent
                for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
                if parent in listed
            }
            if parents:
                self.pending[shard["ShardId"]] = parents
            else:
                cursor = ShardCursor(shard["ShardId"], self.start.iterator_args(), closed=closed)
                self.cursors[cursor.shard_id] = cursor
        self._run(self._take_iterator, list(self.cursors.values()))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> StreamReader:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    def active(self) -> list[ShardCursor]:
        """Cursors of shards still being read (not ended)."""
        return [cursor for cursor in self.cursors.values() if not cursor.finished]

    def poll(self, wanted: Callable[[ShardCursor], bool]) -> list[Batch]:
        """Read once from every active shard that is due and ``wanted``; start children of
        shards that ended. Returns what was read (possibly nothing)."""
        now = time.monotonic()
        due = [c for c in self.active() if c.next_read <= now and wanted(c)]
        results = self._run(self._read, due)
        batches = [Batch(cursor, records) for cursor, records in zip(due, results, strict=True)]
        for cursor in due:
            if cursor.finished:
                self._ended(cursor)
        return batches

    def seconds_until_due(self, wanted: Callable[[ShardCursor], bool]) -> float | None:
        """How long until some wanted shard may be read; None if none is wanted."""
        times = [c.next_read for c in self.active() if wanted(c)]
        if not times:
            return None
        return max(min(times) - time.monotonic(), 0.0)

    def drop_drained(self) -> None:
        """Forget ended shards whose buffered records were all taken."""
        for shard, cursor in list(self.cursors.items()):
            if cursor.finished and not cursor.buffer:
                del self.cursors[shard]

    # -- internals -----------------------------------------------------------------------------

    def _run(self, function: Callable[[ShardCursor], Any], cursors: list[ShardCursor]) -> list:
        if len(cursors) <= 1:
            return [function(cursor) for cursor in cursors]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="headwater-read")
        return list(self._pool.map(function, cursors))

    def _take_iterator(self, cursor: ShardCursor) -> None:
        if cursor.last_sequence is not None:
            args: dict[str, Any] = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": cursor.last_sequence,
            }
        else:
            args = cursor.start
        response = self.api.call(
            "get_shard_iterator", **stream_ref(self.stream), ShardId=cursor.shard_id, **args
        )
        cursor.iterator = response["ShardIterator"]

    def _read(self, cursor: ShardCursor) -> list[dict[str, Any]]:
        now = time.monotonic()
        try:
            if cursor.iterator is None:
                self._take_iterator(cursor)
            response = self.api.client.get_records(ShardIterator=cursor.iterator)
        except ClientError as exc:
            code = error_code(exc)
            if code in THROTTLING_CODES or code == "LimitExceededException":
                cursor.failures += 1
                cursor.next_read = now + self.catch_up_interval + backoff(cursor.failures)
                return []
            if code == "ExpiredIteratorException":
                cursor.iterator = None
                return []
            raise
        cursor.failures = 0
        cursor.reads += 1
        records = response.get("Records", [])
        if records:
            cursor.last_sequence = records[-1]["SequenceNumber"]
        if self.start.kind == "AT_TIMESTAMP":
            records = self._not_before(records)
        cursor.behind_ms = response.get("MillisBehindLatest")
        following = response.get("NextShardIterator")
        if following is None:
            cursor.finished = True
            cursor.caught_up = True
            cursor.children = response.get("ChildShards") or self._listed_children(cursor)
        else:
            cursor.iterator = following
            cursor.caught_up = cursor.behind_ms == 0 or (cursor.behind_ms is None and not records)
        pause = self.poll_interval if cursor.caught_up else self.catch_up_interval
        cursor.next_read = now + pause
        return records

    def _not_before(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """AT_TIMESTAMP travels in whole seconds through botocore: drop the earlier records."""
        start = self.start.timestamp
        assert start is not None
        return [r for r in records if _aware(r["ApproximateArrivalTimestamp"]) >= start]

    def _listed_children(self, cursor: ShardCursor) -> list[dict[str, Any]]:
        """For servers that send no ChildShards: the listed shards naming this parent."""
        children = []
        for shard in self.api.shards(self.stream):
            parents = [shard.get("ParentShardId"), shard.get("AdjacentParentShardId")]
            if cursor.shard_id in parents:
                listed = [parent for parent in parents if parent]
                children.append({"ShardId": shard["ShardId"], "ParentShards": listed})
        return children

    def _ended(self, cursor: ShardCursor) -> None:
        self.ended.add(cursor.shard_id)
        tracked = self.ended | set(self.cursors) | set(self.pending)
        for child in cursor.children:
            child_id = child["ShardId"]
            if child_id in self.cursors or child_id in self.ended or child_id in self.pending:
                continue
            parents = {p for p in child.get("ParentShards", []) if p in tracked}
            self.pending[child_id] = parents
        for child_id, parents in list(self.pending.items()):
            parents -= self.ended
            if not parents:
                del self.pending[child_id]
                start = {"ShardIteratorType": "TRIM_HORIZON"}
                self.cursors[child_id] = ShardCursor(child_id, start)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def arrival_key(record: dict[str, Any]) -> tuple[dt.datetime, int]:
    """Sort key merging shards: arrival time, then sequence number."""
    return _aware(record["ApproximateArrivalTimestamp"]), int(record["SequenceNumber"])
