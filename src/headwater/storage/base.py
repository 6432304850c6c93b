"""The storage interface the stream service is written against.

Two implementations follow it: ``local`` (segment files + SQLite) and ``nats`` (JetStream).
The service never sees files or subjects, only positions: a shard's records are numbered
0, 1, 2, … in append order, and the service maps positions to Kinesis sequence numbers
itself (a read's records get consecutive numbers, so positions must stay dense).

Reads and time lookups are coroutines because a networked log answers them with a round
trip; ``end_position`` stays a plain property, which every backend keeps current in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class StoredRecords:
    """Consecutive records from ``first_position`` as the log holds them, one list per field.

    A read returns up to thousands of records; columns cost no object per record beyond its
    fields, and readers mostly work on whole columns anyway.
    """

    first_position: int
    arrival_ms: list[int] = field(default_factory=list)
    partition_keys: list[bytes] = field(default_factory=list)
    datas: list[bytes] = field(default_factory=list)
    # How the service encoded each key and data; storage does not interpret it.
    codecs: list[int] = field(default_factory=list)
    size: int = 0  # bytes of keys and data together

    def __len__(self) -> int:
        return len(self.datas)

    @property
    def next_position(self) -> int:
        return self.first_position + len(self.datas)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where a batch landed: positions ``first_position .. first_position + count - 1``."""

    first_position: int
    arrival_ms: int


class ShardLog(Protocol):
    """The ordered, durable record log of one shard."""

    @property
    def start_position(self) -> int:
        """First position still stored (older ones were trimmed)."""

    @property
    def end_position(self) -> int:
        """One past the last durable position: what a reader may see."""

    @property
    def last_arrival_ms(self) -> int:
        """Arrival time of the newest durable record (0 when empty)."""

    async def append(
        self, keys: Sequence[bytes], datas: Sequence[bytes], arrival_ms: int, codec: int = 0
    ) -> AppendResult:
        """Append records (``keys[i]``, ``datas[i]``) tagged ``codec``; returns once durable."""

    async def read(self, position: int, max_records: int, max_bytes: int) -> StoredRecords:
        """Durable records from ``position`` on, bounded in count and bytes (of keys and data).

        At least one record is returned when one exists and ``max_records`` allows it,
        whatever ``max_bytes``.
        """

    async def wait_beyond(self, position: int, timeout_s: float) -> bool:
        """Wait until a record at or after ``position`` is durable; False on timeout."""

    async def position_at_time(self, arrival_ms: int) -> int:
        """First position whose arrival time is at or after ``arrival_ms``."""

    async def trim_before(self, arrival_ms: int) -> None:
        """Drop whole stored units whose records all arrived before ``arrival_ms``."""

    async def seal(self) -> None:
        """Refuse further appends (a reshard closed the shard) and settle ``end_position``.

        Called once the local writers drained; a shared log must also stop writers on other
        nodes, so that the end it reports afterwards is final.
        """


# Called with (stream id, document) when another process changed a stream; None: deleted.
StreamChange = Callable[[str, dict[str, Any] | None], None]


class MetadataStore(Protocol):
    """Durable control-plane state: one JSON-able document per stream."""

    def load_streams(self) -> list[dict[str, Any]]: ...

    def save_stream(self, stream_id: str, document: dict[str, Any]) -> None: ...

    def delete_stream(self, stream_id: str) -> None: ...

    def load_setting(self, name: str) -> bytes | None: ...

    def save_setting(self, name: str, value: bytes) -> None: ...

    def watch(self, on_change: StreamChange) -> None:
        """Report stream documents other processes save or delete, on the calling loop."""


class Storage(Protocol):
    """A storage backend: metadata plus one log per shard."""

    metadata: MetadataStore

    async def open_shard(self, stream_id: str, shard_id: str) -> ShardLog: ...

    async def drop_stream(self, stream_id: str) -> None: ...

    async def drop_shard(self, stream_id: str, shard_id: str) -> None: ...

    async def close(self) -> None: ...
