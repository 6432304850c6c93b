"""Splitting and merging shards, and UpdateShardCount as a series of both.

A reshard is planned on the stream's shard list (new children, parents marked closed), then
the routing table switches to the new open shards in one step, and only then are the parents'
final positions taken, once every put already routed to them has been appended. So no record
lands in a parent after its end, children's sequence numbers sit above their parents' (their
epoch is later), and a consumer that reads parents to their end before children sees every
key in order.
"""

from __future__ import annotations

import asyncio
import logging

from headwater.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceNotFoundException,
)
from headwater.service.hashing import even_ranges
from headwater.service.model import Shard, Stream, shard_id_for
from headwater.service.records import parse_shard_id
from headwater.service.registry import StreamRegistry

log = logging.getLogger(__name__)

MAX_SHARDS_PER_STREAM = 10_000
SCALINGS_PER_DAY = 10
DAY_MS = 86_400_000


class ReshardPlan:
    """Shards created and closed by one operation, applied together."""

    def __init__(self, stream: Stream, now_ms: int) -> None:
        self.stream = stream
        self.now_ms = now_ms
        self.closed: list[Shard] = []
        self.created: list[Shard] = []

    def _child(self, start: int, end: int, parent: str, adjacent: str | None = None) -> Shard:
        stream = self.stream
        index = stream.next_shard_index
        stream.next_shard_index += 1
        child = Shard(
            shard_id=shard_id_for(index),
            index=index,
            hash_start=str(start),
            hash_end=str(end),
            epoch_ms=stream.next_epoch(self.now_ms),
            created_ms=self.now_ms,
            parent=parent,
            adjacent_parent=adjacent,
        )
        stream.shards.append(child)
        self.created.append(child)
        return child

    def _close(self, shard: Shard) -> None:
        shard.closed_ms = self.now_ms
        self.closed.append(shard)

    def split(self, shard: Shard, new_start: int) -> tuple[Shard, Shard]:
        self._close(shard)
        low = self._child(int(shard.hash_start), new_start - 1, shard.shard_id)
        high = self._child(new_start, int(shard.hash_end), shard.shard_id)
        return low, high

    def merge(self, shard: Shard, adjacent: Shard) -> Shard:
        self._close(shard)
        self._close(adjacent)
        start = min(int(shard.hash_start), int(adjacent.hash_start))
        end = max(int(shard.hash_end), int(adjacent.hash_end))
        return self._child(start, end, shard.shard_id, adjacent.shard_id)


class Resharder:
    def __init__(self, registry: StreamRegistry) -> None:
        self.registry = registry
        self._applying: dict[str, asyncio.Event] = {}  # stream id -> set when apply is done

    async def settled(self, stream: Stream) -> None:
        """Wait out a reshard being applied, so a description never shows a closed shard
        without its end (a networked log takes a round trip or two to seal it)."""
        applying = self._applying.get(stream.stream_id)
        if applying is not None:
            await applying.wait()

    @property
    def _account(self) -> str:
        return self.registry.config.account_id

    async def apply(self, plan: ReshardPlan) -> None:
        """Switch routing to the new shards, then fix each closed shard's end position."""
        stream = plan.stream
        done = self._applying[stream.stream_id] = asyncio.Event()
        try:
            stream.rebuild_routes()
            stream.updating_until_ms = plan.now_ms + self.registry.config.update_delay_ms
            born_and_closed = {s.shard_id for s in plan.created if not s.is_open}
            for shard in plan.closed:
                if shard.shard_id in born_and_closed:
                    shard.end_position = 0  # an intermediate shard never took a write
                    continue
                await self.registry.writes_drained(stream, shard)
                shard_log = await self.registry.shard_log(stream, shard)
                shard.end_position = shard_log.end_position
            self.registry.save(stream)
        finally:
            done.set()
            if self._applying.get(stream.stream_id) is done:
                del self._applying[stream.stream_id]
        log.info(
            "resharded stream=%s closed=%s created=%s",
            stream.name,
            [s.shard_id for s in plan.closed],
            [s.shard_id for s in plan.created if s.is_open],
        )

    # -- lookups with AWS' messages ------------------------------------------------------

    def open_shard(self, stream: Stream, shard_id: str) -> Shard:
        index = parse_shard_id(shard_id)
        shard = None if index is None else stream.shard_by_index(index)
        if shard is None:
            named = shard_id if index is None else shard_id_for(index)
            raise ResourceNotFoundException(
                f"Could not find shard {named} in stream {stream.name} under account "
                f"{self._account}."
            )
        if not shard.is_open:
            raise InvalidArgumentException(
                f"Shard {shard.shard_id} in stream {stream.name} under account "
                f"{self._account} has already been merged or split, and thus is not eligible "
                "for merging or splitting."
            )
        return shard

    # -- operations ----------------------------------------------------------------------

    def plan_split(self, stream: Stream, shard_id: str, new_start: int, now_ms: int) -> ReshardPlan:
        shard = self.open_shard(stream, shard_id)
        start, end = int(shard.hash_start), int(shard.hash_end)
        if not start + 1 < new_start < end:
            raise InvalidArgumentException(
                f"NewStartingHashKey {new_start} used in SplitShard() on shard "
                f"{shard.shard_id} in stream {stream.name} under account {self._account} is "
                f"not both greater than one plus the shard's StartingHashKey {start} and less "
                f"than the shard's EndingHashKey {end}."
            )
        plan = ReshardPlan(stream, now_ms)
        plan.split(shard, new_start)
        return plan

    def plan_merge(
        self, stream: Stream, shard_id: str, adjacent_id: str, now_ms: int
    ) -> ReshardPlan:
        shard = self.open_shard(stream, shard_id)
        adjacent = self.open_shard(stream, adjacent_id)
        # AWS wants ShardToMerge to be the lower of the two (kinesalite's recording).
        if int(shard.hash_end) + 1 != int(adjacent.hash_start):
            raise InvalidArgumentException(
                f"Shards {shard.shard_id} and {adjacent.shard_id} in stream {stream.name} under "
                f"account {self._account} are not an adjacent pair of shards eligible for "
                "merging"
            )
        plan = ReshardPlan(stream, now_ms)
        plan.merge(shard, adjacent)
        return plan

    def plan_uniform(self, stream: Stream, target: int, now_ms: int) -> ReshardPlan:
        """UpdateShardCount: AWS' bounds, then ``plan_warm``'s even re-split."""
        self._check_scaling_bounds(stream, stream.open_shard_count, target, now_ms)
        plan = self.plan_warm(stream, target, now_ms)
        stream.scaling_history_ms = [
            t for t in stream.scaling_history_ms if now_ms - t < DAY_MS
        ] + [now_ms]
        return plan

    def plan_warm(self, stream: Stream, target: int, now_ms: int) -> ReshardPlan:
        """Reach ``target`` evenly sized shards by splitting at every new boundary, then
        merging the pieces of each target range pairwise (as AWS, through intermediates)."""
        plan = ReshardPlan(stream, now_ms)
        targets = even_ranges(target)
        boundaries = {start for start, _ in targets[1:]}
        pieces: list[Shard] = []
        for shard in sorted(stream.open_shards, key=lambda s: int(s.hash_start)):
            cuts = sorted(b for b in boundaries if int(shard.hash_start) < b <= int(shard.hash_end))
            rest = shard
            for cut in cuts:
                low, rest = plan.split(rest, cut)
                pieces.append(low)
            pieces.append(rest)
        for start, end in targets:
            group = [p for p in pieces if start <= int(p.hash_start) and int(p.hash_end) <= end]
            merged = group[0]
            for piece in group[1:]:
                merged = plan.merge(merged, piece)
        return plan

    def _check_scaling_bounds(self, stream: Stream, current: int, target: int, now_ms: int) -> None:
        recent = [t for t in stream.scaling_history_ms if now_ms - t < DAY_MS]
        if len(recent) >= SCALINGS_PER_DAY:
            raise LimitExceededException(
                f"Stream {stream.name} under account {self._account} has already been scaled "
                f"{SCALINGS_PER_DAY} times in the last 24 hours."
            )
        if target > 2 * current:
            raise LimitExceededException(
                "UpdateShardCount cannot scale up over double your current open shard count. "
                f"Current open shard count: {current}, Target shard count: {target}"
            )
        if target * 2 < current:
            raise LimitExceededException(
                "UpdateShardCount cannot scale down below half your current open shard count. "
                f"Current open shard count: {current}, Target shard count: {target}"
            )
        if target > MAX_SHARDS_PER_STREAM:
            raise LimitExceededException(
                f"UpdateShardCount cannot scale up to more than {MAX_SHARDS_PER_STREAM} shards "
                f"in a stream. Target shard count: {target}"
            )
