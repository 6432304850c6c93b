"""On-demand capacity: split hot shards, merge cold neighbours, for ON_DEMAND streams.

Every ``on_demand_interval_s`` each open shard's write demand (accepted and throttled
records) is compared with its write limit
(AWS' per-shard rates, scaled by the limits multiplier). A shard above the split threshold for
``on_demand_sustain_s`` is split at the middle of its hash range; two adjacent shards both below
the merge threshold for ``on_demand_merge_after_s`` are merged. One action per stream per pass
keeps changes gradual; each is logged and shows in ListShards like a manual reshard.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from headwater.service.limits import WRITE_BYTES_PER_SECOND, WRITE_RECORDS_PER_SECOND
from headwater.service.model import MODE_ON_DEMAND, STATUS_ACTIVE, Shard, Stream
from headwater.service.resharding import ReshardPlan

if TYPE_CHECKING:
    from headwater.service.service import StreamService

PlanMaker = Callable[[int], ReshardPlan]

log = logging.getLogger(__name__)


class OnDemandScaler:
    def __init__(self, service: StreamService) -> None:
        self.service = service
        self._hot_since: dict[tuple[str, int], int] = {}
        self._cold_since: dict[tuple[str, int], int] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        interval = self.service.config.on_demand_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                await self.evaluate(interval)
            except Exception:
                log.exception("on-demand scaling pass failed")

    def _load(self, stream: Stream, shard: Shard, interval_s: float) -> float:
        """The shard's write rate over the last interval, as a fraction of its limit."""
        records, size = self.service.registry.usage(stream, shard).take()
        scale = self.service.config.limits.multiplier or 1.0
        return max(
            records / interval_s / (WRITE_RECORDS_PER_SECOND * scale),
            size / interval_s / (WRITE_BYTES_PER_SECOND * scale),
        )

    async def evaluate(self, interval_s: float) -> None:
        """One pass over every ON_DEMAND stream."""
        service = self.service
        now = service.clock.now_ms()
        for stream in list(service.registry.streams.values()):
            if stream.mode != MODE_ON_DEMAND or stream.status(now) != STATUS_ACTIVE:
                continue
            loads = {s.index: self._load(stream, s, interval_s) for s in stream.open_shards}
            action = self._choose(stream, loads, now)
            if action is not None:
                async with service.control_lock:
                    if stream.status(service.clock.now_ms()) == STATUS_ACTIVE:
                        await service.resharder.apply(action(service.clock.now_ms()))

    def _choose(self, stream: Stream, loads: dict[int, float], now: int) -> PlanMaker | None:
        config = self.service.config
        shards = stream.open_shards
        for shard in shards:
            key = (stream.stream_id, shard.index)
            if loads[shard.index] >= config.on_demand_split_threshold:
                self._hot_since.setdefault(key, now)
            else:
                self._hot_since.pop(key, None)
            if loads[shard.index] <= config.on_demand_merge_threshold:
                self._cold_since.setdefault(key, now)
            else:
                self._cold_since.pop(key, None)
        sustain_ms = config.on_demand_sustain_s * 1000
        if len(shards) < config.on_demand_max_shards:
            for shard in shards:
                since = self._hot_since.get((stream.stream_id, shard.index))
                if since is not None and now - since >= sustain_ms:
                    log.info("on-demand split stream=%s shard=%s", stream.name, shard.shard_id)
                    return self._split(stream, shard)
        merge_ms = config.on_demand_merge_after_s * 1000
        if len(shards) > config.on_demand_min_shards:
            for low, high in itertools.pairwise(shards):
                cold = [self._cold_since.get((stream.stream_id, s.index)) for s in (low, high)]
                if all(c is not None and now - c >= merge_ms for c in cold):
                    log.info(
                        "on-demand merge stream=%s shards=%s,%s",
                        stream.name,
                        low.shard_id,
                        high.shard_id,
                    )
                    return self._merge(stream, low, high)
        return None

    def _split(self, stream: Stream, shard: Shard) -> PlanMaker:
        middle = (int(shard.hash_start) + int(shard.hash_end) + 1) // 2
        resharder = self.service.resharder
        return lambda at: resharder.plan_split(stream, shard.shard_id, middle, at)

    def _merge(self, stream: Stream, low: Shard, high: Shard) -> PlanMaker:
        resharder = self.service.resharder
        return lambda at: resharder.plan_merge(stream, low.shard_id, high.shard_id, at)
