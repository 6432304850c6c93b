"""Both lease tables: conditional updates so two workers never own a shard at once."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from headwater.client.consumer.leases import (
    Checkpoint,
    LeaseScope,
    SQLiteLeaseStore,
    open_lease_store,
)
from headwater.client.consumer.leases.postgres import PostgresLeaseStore

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_reachable() -> bool:
    try:
        psycopg.connect(POSTGRES, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    if request.param == "postgres":
        if not postgres_reachable():
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
        lease_store = PostgresLeaseStore(POSTGRES)
    else:
        lease_store = SQLiteLeaseStore(tmp_path / "leases.sqlite")
    await lease_store.open()
    yield lease_store
    await lease_store.close()


@pytest.fixture
def scope() -> LeaseScope:
    return LeaseScope(f"app-{uuid.uuid4().hex[:8]}", "stream")


async def test_a_lease_is_created_once_and_taken_by_exactly_one_of_two_racers(store, scope):
    assert await store.create_lease(scope, "s-1", Checkpoint("TRIM_HORIZON"), ("p-1",))
    assert not await store.create_lease(scope, "s-1", Checkpoint("LATEST"), ())
    [lease] = await store.list_leases(scope)
    assert lease.available and lease.parent_shard_ids == ("p-1",)
    results = await asyncio.gather(
        *(store.take(scope, "s-1", lease.counter, f"w{i}", 10.0) for i in range(5))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    [lease] = await store.list_leases(scope)
    assert lease.owner == winners[0].owner and not lease.available


async def test_only_the_owner_with_the_current_counter_renews_or_checkpoints(store, scope):
    await store.create_lease(scope, "s-1", Checkpoint("TRIM_HORIZON"), ())
    taken = await store.take(scope, "s-1", 0, "w1", 10.0)
    assert await store.renew(scope, "s-1", "w2", taken.counter, 10.0) is None
    assert await store.renew(scope, "s-1", "w1", taken.counter - 1, 10.0) is None
    renewed = await store.renew(scope, "s-1", "w1", taken.counter, 10.0)
    assert renewed.counter == taken.counter + 1
    saved = await store.checkpoint(scope, "s-1", "w1", renewed.counter, Checkpoint("42", 3))
    assert saved.checkpoint == Checkpoint("42", 3)
    assert await store.checkpoint(scope, "s-1", "w1", renewed.counter, Checkpoint("43")) is None
    [lease] = await store.list_leases(scope)
    assert lease.checkpoint == Checkpoint("42", 3)


async def test_a_lease_expires_by_the_store_clock_and_can_be_taken_over(store, scope):
    await store.create_lease(scope, "s-1", Checkpoint("TRIM_HORIZON"), ())
    taken = await store.take(scope, "s-1", 0, "w1", 0.2)
    async with asyncio.timeout(10):
        while not (await store.list_leases(scope))[0].expired:
            await asyncio.sleep(0.05)
    [lease] = await store.list_leases(scope)
    assert lease.available
    stolen = await store.take(scope, "s-1", lease.counter, "w2", 10.0)
    assert stolen.owner == "w2"
    assert await store.renew(scope, "s-1", "w1", taken.counter, 10.0) is None


async def test_handoff_moves_the_lease_to_the_requester_with_its_checkpoint(store, scope):
    await store.create_lease(scope, "s-1", Checkpoint("TRIM_HORIZON"), ())
    taken = await store.take(scope, "s-1", 0, "w1", 10.0)
    asked = await store.request_handoff(scope, "s-1", "w1", "w2")
    assert asked.pending_owner == "w2"
    assert await store.request_handoff(scope, "s-1", "w1", "w3") is None  # one at a time
    renewed = await store.renew(scope, "s-1", "w1", taken.counter, 10.0)
    assert renewed.pending_owner == "w2"  # the owner learns of it when renewing
    done = await store.checkpoint(scope, "s-1", "w1", renewed.counter, Checkpoint("7"))
    moved = await store.hand_over(scope, "s-1", "w1", done.counter, 10.0)
    assert (moved.owner, moved.pending_owner, moved.checkpoint) == ("w2", None, Checkpoint("7"))


async def test_release_frees_the_lease_and_shard_end_leases_are_never_taken(store, scope):
    await store.create_lease(scope, "s-1", Checkpoint("TRIM_HORIZON"), ())
    taken = await store.take(scope, "s-1", 0, "w1", 10.0)
    ended = await store.checkpoint(scope, "s-1", "w1", taken.counter, Checkpoint("SHARD_END"))
    released = await store.release(scope, "s-1", "w1", ended.counter)
    assert released.owner is None and released.finished and not released.available
    assert await store.take(scope, "s-1", released.counter, "w2", 10.0) is None
    await store.delete_lease(scope, "s-1")
    assert await store.list_leases(scope) == []


async def test_at_timestamp_checkpoints_keep_their_time(store, scope):
    start = Checkpoint("AT_TIMESTAMP", 0, 1700000000.25)
    await store.create_lease(scope, "s-1", start, ())
    [lease] = await store.list_leases(scope)
    assert lease.checkpoint == start


def test_lease_store_locations(tmp_path):
    assert isinstance(open_lease_store(str(tmp_path / "x.sqlite")), SQLiteLeaseStore)
    assert isinstance(open_lease_store(f"sqlite://{tmp_path}/x.sqlite"), SQLiteLeaseStore)
    assert isinstance(open_lease_store(POSTGRES), PostgresLeaseStore)
