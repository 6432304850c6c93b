"""Operator state and watermarks of a running application, and their serialized form.

What a checkpoint holds: per source and shard the watermark so far; per query the
watermark up to which results were emitted and the buffered input rows (Arrow IPC);
the counters. Restoring it and replaying the input after the checkpointed positions gives
the same results as a run that never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec
import pyarrow as pa

EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + value * MICROSECOND


@dataclass
class SourceState:
    """One source table: per-shard watermarks (µs; None: no event yet) and counters."""

    shards: dict[str, int | None] = field(default_factory=dict)
    idle: set[str] = field(default_factory=set)  # caught up and quiet: hold nothing back
    events: int = 0
    late: int = 0
    malformed: int = 0

    @property
    def all_idle(self) -> bool:
        return bool(self.shards) and self.idle >= set(self.shards)

    def watermark(self) -> int | None:
        """The minimum over the active shards; none while one of them has no event yet.
        With every shard idle: the largest seen (late events are still judged by it)."""
        marks = [mark for shard, mark in self.shards.items() if shard not in self.idle]
        if marks:
            return None if any(m is None for m in marks) else min(m for m in marks if m is not None)
        seen = [mark for mark in self.shards.values() if mark is not None]
        return max(seen) if seen else None


@dataclass
class QueryState:
    """One INSERT's buffers per source and how far its results were emitted."""

    buffers: dict[str, pa.Table] = field(default_factory=dict)
    emitted: int | None = None
    rows_out: int = 0

    def rows(self) -> int:
        return sum(table.num_rows for table in self.buffers.values())

    def bytes(self) -> int:
        return sum(table.nbytes for table in self.buffers.values())


class _Header(msgspec.Struct):
    sources: dict[str, tuple[dict[str, int | None], int, int, int]]
    queries: list[tuple[int | None, int, list[str]]]


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def dump(sources: dict[str, SourceState], queries: list[QueryState]) -> dict[str, bytes]:
    """The state as named blobs (a header and one Arrow IPC stream per buffer)."""
    header = _Header(
        {n: (s.shards, s.events, s.late, s.malformed) for n, s in sources.items()},
        [(q.emitted, q.rows_out, list(q.buffers)) for q in queries],
    )
    blobs = {"header": msgspec.json.encode(header)}
    for index, query in enumerate(queries):
        for source, table in query.buffers.items():
            blobs[f"buffer/{index}/{source}"] = _ipc(table)
    return blobs


def load(blobs: dict[str, bytes], sources: dict[str, SourceState], queries: list[QueryState]):
    """Fill ``sources`` and ``queries`` (fresh objects) from ``dump``'s blobs."""
    header = msgspec.json.decode(blobs["header"], type=_Header)
    for name, (shards, events, late, malformed) in header.sources.items():
        if name in sources:
            sources[name] = SourceState(dict(shards), events=events, late=late, malformed=malformed)
    if len(header.queries) != len(queries):
        raise ValueError("the checkpoint belongs to an application with other queries")
    for index, (emitted, rows_out, names) in enumerate(header.queries):
        query = queries[index]
        query.emitted, query.rows_out = emitted, rows_out
        for source in names:
            reader = pa.ipc.open_stream(blobs[f"buffer/{index}/{source}"])
            query.buffers[source] = reader.read_all()
