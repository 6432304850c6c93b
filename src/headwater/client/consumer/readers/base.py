"""What a shard reader gives the shard consumer, whichever API it reads with.

Readers are pluggable (``polling`` with GetRecords, ``fanout`` with SubscribeToShard): each
returns batches of wire records and says when the shard has ended (with its children).
Turning wire records into user records (KPL de-aggregation, skipping what was already
checkpointed) happens once, here, for all readers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from headwater.client.aggregation import deaggregate
from headwater.client.positions import StartingPosition
from headwater.client.records import Record, arrival
from headwater.client.shapes import ChildShard, WireRecord


@dataclass(slots=True)
class ReadBatch:
    records: list[WireRecord] = field(default_factory=list)
    millis_behind_latest: int | None = None
    shard_end: bool = False
    child_shards: list[ChildShard] = field(default_factory=list)


class ShardReader(Protocol):
    async def next_batch(self) -> ReadBatch:
        """The next records (possibly none after an idle wait); ``shard_end`` when done."""
        ...

    async def close(self) -> None: ...


ReaderFactory = Callable[[str, StartingPosition], ShardReader]


def user_records(
    wire: list[WireRecord], shard_id: str, after: tuple[int, int] | None = None
) -> list[Record]:
    """Wire records as user records, aggregates expanded, positions ``<= after`` skipped."""
    out: list[Record] = []
    for item in wire:
        sequence = item.SequenceNumber
        when = arrival(item.ApproximateArrivalTimestamp)
        parts = deaggregate(item.Data)
        if parts is None:
            if after is not None and (int(sequence), 0) <= after:
                continue
            out.append(Record(item.Data, item.PartitionKey, sequence, 0, shard_id, when))
            continue
        number = int(sequence)
        for part in parts:
            if after is not None and (number, part.index) <= after:
                continue
            out.append(
                Record(
                    part.data,
                    part.partition_key,
                    sequence,
                    part.index,
                    shard_id,
                    when,
                    part.explicit_hash_key,
                    aggregated=True,
                )
            )
    return out
