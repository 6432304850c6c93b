"""Spark offsets for a Kinesis stream: one position per shard, as JSON.

A shard's entry is the iterator position of the next read (``TRIM_HORIZON``, ``AT_TIMESTAMP``
with ``timestamp``, or ``AFTER_SEQUENCE_NUMBER`` with the last sequence number read) and
``ended`` once a closed shard has been read to its end. Sequence numbers are stable, so a
batch between two offsets reads the same records again when Spark replays it.

Resharding: a shard becomes readable only when each parent has ``ended`` in the batch's start
offset (or is gone from the stream), so a key's records in a parent are always in an earlier
batch than its records in a child.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.client.positions import AFTER_SEQUENCE_NUMBER, StartingPosition
from headwater.client.shapes import Shard

SHARDS = "shards"


@dataclass(frozen=True, slots=True)
class ShardOffset:
    position: StartingPosition
    ended: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.position.type}
        if self.position.sequence_number is not None:
            out["sequence_number"] = self.position.sequence_number
        if self.position.timestamp is not None:
            out["timestamp"] = self.position.timestamp
        if self.ended:
            out["ended"] = True
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ShardOffset:
        position = StartingPosition(
            value["type"], value.get("sequence_number"), value.get("timestamp")
        )
        return cls(position, bool(value.get("ended", False)))

    @property
    def last_read(self) -> str | None:
        """The sequence number of the last record read, if any was."""
        if self.position.type == AFTER_SEQUENCE_NUMBER:
            return self.position.sequence_number
        return None


Offsets = dict[str, ShardOffset]
#: Where a shard not in the offsets yet starts: a new child shard, read from its first record.
FRESH = ShardOffset(StartingPosition.trim_horizon())


def encode(offsets: Offsets) -> dict[str, Any]:
    return {SHARDS: {shard: offset.to_json() for shard, offset in sorted(offsets.items())}}


def decode(value: dict[str, Any]) -> Offsets:
    return {shard: ShardOffset.from_json(item) for shard, item in value[SHARDS].items()}


def track(offsets: Offsets, shards: list[Shard]) -> Offsets:
    """``offsets`` for the shards listed now: new shards from their start, gone ones dropped."""
    return {shard.ShardId: offsets.get(shard.ShardId, FRESH) for shard in shards}


def readable(offsets: Offsets, shards: list[Shard]) -> list[str]:
    """Shards with records still to read whose parents are all read to their end.

    ``offsets`` must cover every listed shard (see ``track``).
    """
    listed = {shard.ShardId for shard in shards}

    def parent_done(parent: str) -> bool:
        return parent not in listed or offsets[parent].ended

    return [
        shard.ShardId
        for shard in shards
        if not offsets[shard.ShardId].ended and all(map(parent_done, shard.parent_ids))
    ]
