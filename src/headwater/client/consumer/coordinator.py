"""Which shards this worker processes: creating, taking, balancing and renewing leases.

Every ``failover_time / 3`` the worker renews its leases and scans the table. It takes
free or expired leases until it holds its fair share (leases / live workers, rounded up);
when none is free and another worker holds more than the share, it asks that worker to hand
one over (``pending_owner``), and takes it by force only if the handoff does not happen
within ``handoff_timeout``. A lease is only taken once its parents are finished, so a
child shard is never read before its parents' last records were processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable

from headwater.client.api import KinesisClient
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.held import LOST, HeldLease
from headwater.client.consumer.leases.model import (
    LATEST,
    TRIM_HORIZON,
    Checkpoint,
    Lease,
    LeaseScope,
)
from headwater.client.consumer.leases.store import LeaseStore, LeaseStoreError
from headwater.client.shapes import ChildShard
from headwater.errors import KinesisError

log = logging.getLogger(__name__)

#: A renewal must succeed within this share of the lease duration, or the worker stops
#: processing the shard itself, before any other worker could have taken it.
SAFETY_MARGIN = 0.8


def parents_done(lease: Lease, by_id: dict[str, Lease]) -> bool:
    """Parents without a lease (never leased, or trimmed away) count as done."""
    return all(p not in by_id or by_id[p].finished for p in lease.parent_shard_ids)


class LeaseCoordinator:
    def __init__(
        self,
        client: KinesisClient,
        stream: str,
        store: LeaseStore,
        scope: LeaseScope,
        owner: str,
        config: ConsumerConfig,
        on_acquired: Callable[[HeldLease], None],
    ) -> None:
        self.client = client
        self.stream = stream
        self.store = store
        self.scope = scope
        self.owner = owner
        self.config = config
        self.on_acquired = on_acquired
        self.held: dict[str, HeldLease] = {}
        self.taking = True
        self._requested: dict[str, float] = {}
        self._last_sync = -math.inf
        self._poke = asyncio.Event()

    def poke(self) -> None:
        """Scan again now (a shard ended, so children may be ready)."""
        self._poke.set()

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            self._poke.clear()
            try:
                await self.renew_all()
                if self.taking:
                    if time.monotonic() - self._last_sync >= self.config.shard_sync_interval:
                        await self.sync_shards()
                    await self.balance()
            except (LeaseStoreError, KinesisError) as exc:
                log.warning("lease coordination failed (%s); retrying", exc)
            except Exception:
                log.exception("lease coordination failed unexpectedly")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.renew_interval):
                    await self._poke.wait()

    # -- renewing ------------------------------------------------------------------------

    async def renew_all(self) -> None:
        duration = self.config.failover_time
        for held in list(self.held.values()):
            if held.lost:
                continue

            async def renew(lease: Lease) -> Lease | None:
                return await self.store.renew(
                    self.scope, lease.shard_id, self.owner, lease.counter, duration
                )

            try:
                renewed = await held.write(renew)
            except LeaseStoreError as exc:
                age = time.monotonic() - held.renewed_at
                if age > duration * SAFETY_MARGIN:
                    log.warning("cannot renew %s (%s): giving it up", held.shard_id, exc)
                    held.request_stop(LOST)
                continue
            if renewed:
                held.renewed_at = time.monotonic()
                if held.lease.pending_owner:
                    held.request_stop("handoff")
            else:
                log.info("lease %s was taken by another worker", held.shard_id)

    # -- shards -> leases ----------------------------------------------------------------

    async def sync_shards(self) -> None:
        """Create leases for shards that have none (KCL's shard sync)."""
        shards = await self.client.list_shards(self.stream)
        leases = await self.store.list_leases(self.scope)
        listed = {shard.ShardId for shard in shards}
        for lease in leases:
            if lease.finished and lease.shard_id not in listed:
                await self.store.delete_lease(self.scope, lease.shard_id)  # trimmed away
        existing = {lease.shard_id for lease in leases}
        leased = set(existing)
        initial = self.config.initial_checkpoint
        for shard in shards:
            if shard.ShardId in existing:
                continue
            parents = shard.parent_ids
            if any(p in leased for p in parents):
                checkpoint = Checkpoint(TRIM_HORIZON)
            elif initial.sequence == LATEST and not shard.is_open:
                continue
            else:
                checkpoint = initial
            await self.store.create_lease(self.scope, shard.ShardId, checkpoint, parents)
            leased.add(shard.ShardId)
        self._last_sync = time.monotonic()

    async def add_children(self, shard_id: str, children: list[ChildShard]) -> None:
        """Lease a closed shard's children at once (they start from their first record)."""
        for child in children:
            parents = tuple(child.ParentShards) or (shard_id,)
            with contextlib.suppress(LeaseStoreError):
                await self.store.create_lease(
                    self.scope, child.ShardId, Checkpoint(TRIM_HORIZON), parents
                )
        if not children:
            self._last_sync = -math.inf
        self.poke()

    # -- taking and balancing ------------------------------------------------------------

    async def balance(self) -> None:
        leases = await self.store.list_leases(self.scope)
        by_id = {lease.shard_id: lease for lease in leases}
        for lease in leases:
            if lease.owner == self.owner and not lease.finished and lease.shard_id not in self.held:
                self._adopt(lease)
        ready = [lease for lease in leases if not lease.finished and parents_done(lease, by_id)]
        live = {lease.owner for lease in ready if lease.owner and not lease.expired}
        workers = len(live | {self.owner})
        target = math.ceil(len(ready) / workers) if ready else 0
        if self.config.max_leases_per_worker is not None:
            target = min(target, self.config.max_leases_per_worker)
        asked = {s for s in self._requested if by_id.get(s) and by_id[s].owner != self.owner}
        self._requested = {s: t for s, t in self._requested.items() if s in asked}
        need = target - len(self.held) - len(asked)
        if need <= 0:
            await self._force_overdue(by_id)
            return
        available = [lease for lease in ready if lease.available]
        random.shuffle(available)
        for lease in available[:need]:
            taken = await self.store.take(
                self.scope, lease.shard_id, lease.counter, self.owner, self.config.failover_time
            )
            if taken is not None:
                self._adopt(taken)
                need -= 1
        if need > 0 and not available:
            await self._ask_for_handoffs(ready, target, need)
        await self._force_overdue(by_id)

    def _adopt(self, lease: Lease) -> None:
        held = HeldLease(lease)
        self.held[lease.shard_id] = held
        self._requested.pop(lease.shard_id, None)
        log.info("worker %s took lease %s", self.owner, lease.shard_id)
        self.on_acquired(held)

    async def _ask_for_handoffs(self, ready: list[Lease], target: int, need: int) -> None:
        """Ask the most loaded workers for leases, never taking one below its share."""
        mine = len(self.held) + len(self._requested)
        counts = Counter(
            lease.owner
            for lease in ready
            if lease.owner and lease.owner != self.owner and not lease.expired
        )
        for _ in range(need):
            if not counts:
                return
            victim, count = counts.most_common(1)[0]
            if not (count > target or (count == target and mine < target - 1)):
                return
            candidates = [
                lease
                for lease in ready
                if lease.owner == victim
                and lease.pending_owner is None
                and lease.shard_id not in self._requested
            ]
            if not candidates:
                return
            lease = random.choice(candidates)
            asked = await self.store.request_handoff(self.scope, lease.shard_id, victim, self.owner)
            counts[victim] -= 1
            if asked is not None:
                log.info("worker %s asked %s for lease %s", self.owner, victim, lease.shard_id)
                self._requested[lease.shard_id] = time.monotonic()
                mine += 1

    async def _force_overdue(self, by_id: dict[str, Lease]) -> None:
        """Take leases whose owner ignored a handoff request for too long."""
        timeout = self.config.handoff_timeout or self.config.failover_time
        now = time.monotonic()
        for shard_id, asked_at in list(self._requested.items()):
            lease = by_id.get(shard_id)
            if lease is None or now - asked_at < timeout:
                continue
            if lease.pending_owner != self.owner:
                del self._requested[shard_id]
                continue
            taken = await self.store.take(
                self.scope, shard_id, lease.counter, self.owner, self.config.failover_time
            )
            if taken is not None:
                log.warning("worker %s took %s after an ignored handoff", self.owner, shard_id)
                self._adopt(taken)

    def forget(self, shard_id: str) -> None:
        self.held.pop(shard_id, None)
