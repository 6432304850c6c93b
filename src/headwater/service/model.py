"""The stream and shard state the service keeps (and persists as one document per stream)."""

from __future__ import annotations

from bisect import bisect_right
from itertools import repeat

import msgspec

from headwater.service import sequence
from headwater.service.hashing import HASH_KEY_BYTES, hash_key_digests

STATUS_CREATING = "CREATING"
STATUS_ACTIVE = "ACTIVE"
STATUS_UPDATING = "UPDATING"
STATUS_DELETING = "DELETING"
MODE_PROVISIONED = "PROVISIONED"
MODE_ON_DEMAND = "ON_DEMAND"


class Shard(msgspec.Struct, kw_only=True):
    """One shard. Hash keys are stored as decimal strings (they exceed 64 bits)."""

    shard_id: str
    index: int
    hash_start: str
    hash_end: str
    epoch_ms: int
    created_ms: int
    parent: str | None = None
    adjacent_parent: str | None = None
    end_position: int | None = None  # set when closed: one past its last position
    closed_ms: int | None = None

    @property
    def is_open(self) -> bool:
        """Open shards take writes; a closed one keeps its data until retention ends."""
        return self.closed_ms is None

    @property
    def sequence_base(self) -> int:
        """The shard's StartingSequenceNumber; the record at position p is ``base + 1 + p``.

        Keeping the starting number below every record lets "after the starting number"
        mean "from the first record", which continuation numbers of empty shards rely on.
        """
        return sequence.shard_base(self.epoch_ms, self.index)

    def sequence_number(self, position: int) -> str:
        return str(self.sequence_base + 1 + position)

    @staticmethod
    def position_of(parts: sequence.SequenceParts) -> int:
        """The position a decoded number names (-1: the starting number itself)."""
        return parts.position - 1

    @property
    def starting_sequence_number(self) -> str:
        return str(self.sequence_base)

    @property
    def ending_sequence_number(self) -> str | None:
        """The last record's number (the starting number when it never took one)."""
        if self.end_position is None:
            return None
        return str(self.sequence_base + self.end_position)


class Consumer(msgspec.Struct, kw_only=True):
    """An enhanced fan-out consumer registered on a stream."""

    name: str
    created_ms: int
    ready_at_ms: int
    deleting_at_ms: int | None = None
    policy: str | None = None


class Stream(msgspec.Struct, kw_only=True):
    """A stream; ``status`` is derived from timestamps, so delays need no background task."""

    stream_id: str
    name: str
    created_ms: int
    ready_at_ms: int
    retention_hours: int = 24
    max_record_size_kib: int = 1024
    warm_throughput_mibps: int = 0
    mode: str = MODE_PROVISIONED
    encryption_type: str = "NONE"
    key_id: str | None = None
    shard_level_metrics: list[str] = msgspec.field(default_factory=list)
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    shards: list[Shard] = msgspec.field(default_factory=list)
    next_shard_index: int = 0
    last_epoch_ms: int = 0
    updating_until_ms: int = 0
    deleting_at_ms: int | None = None
    consumers: list[Consumer] = msgspec.field(default_factory=list)
    scaling_history_ms: list[int] = msgspec.field(default_factory=list)
    policy: str | None = None
    # Derived routing table (not persisted): open shards by hash-range start, and the starts
    # of all but the first (which is 0) as 16 big-endian bytes, to bisect digests among.
    _route_shards: list[Shard] = msgspec.field(default_factory=list, name="_rsh")
    _route_bounds: list[bytes] = msgspec.field(default_factory=list, name="_rb")

    def status(self, now_ms: int) -> str:
        if self.deleting_at_ms is not None:
            return STATUS_DELETING
        if now_ms < self.ready_at_ms:
            return STATUS_CREATING
        if now_ms < self.updating_until_ms:
            return STATUS_UPDATING
        return STATUS_ACTIVE

    def next_epoch(self, now_ms: int) -> int:
        """A shard epoch strictly above every earlier one of this stream."""
        self.last_epoch_ms = max(now_ms, self.last_epoch_ms + 1)
        return self.last_epoch_ms

    def rebuild_routes(self) -> None:
        open_shards = sorted((s for s in self.shards if s.is_open), key=lambda s: int(s.hash_start))
        self._route_shards = open_shards
        self._route_bounds = [
            int(s.hash_start).to_bytes(HASH_KEY_BYTES, "big") for s in open_shards[1:]
        ]

    @property
    def open_shards(self) -> list[Shard]:
        """The open shards by hash-range start: ``route_slots`` indexes into this list."""
        return self._route_shards

    def route_slots(self, keys: list[bytes], hash_keys: list[int | None] | None) -> list[int]:
        """Each record's open shard, as an index into ``open_shards``: by its explicit hash
        key, else its key's MD5 (no hashing at all while one shard covers the whole space).

        Digests are bisected as bytes among the range starts, in C-level maps: routing a
        500-record request costs a few calls, not a few per record.
        """
        if len(self._route_shards) == 1:
            return [0] * len(keys)
        if hash_keys is None:
            digests = hash_key_digests(keys)
        else:
            digests = [
                digest if hash_key is None else hash_key.to_bytes(HASH_KEY_BYTES, "big")
                for digest, hash_key in zip(hash_key_digests(keys), hash_keys, strict=True)
            ]
        return list(map(bisect_right, repeat(self._route_bounds), digests))

    def shard(self, shard_id: str) -> Shard | None:
        for shard in self.shards:
            if shard.shard_id == shard_id:
                return shard
        return None

    def shard_by_index(self, index: int) -> Shard | None:
        if 0 <= index < len(self.shards) and self.shards[index].index == index:
            return self.shards[index]
        for shard in self.shards:
            if shard.index == index:
                return shard
        return None

    @property
    def open_shard_count(self) -> int:
        return len(self._route_shards)

    def to_document(self) -> dict:
        document = msgspec.to_builtins(self)
        document.pop("_rsh", None)
        document.pop("_rb", None)
        return document

    @classmethod
    def from_document(cls, document: dict) -> Stream:
        stream = msgspec.convert(document, cls)
        stream.rebuild_routes()
        return stream


def shard_id_for(index: int) -> str:
    return f"shardId-{index:012d}"
