"""Lease tables: which worker owns which shard, and its checkpoint."""

from __future__ import annotations

from headwater.client.consumer.leases.model import Checkpoint, Lease, LeaseScope
from headwater.client.consumer.leases.sqlite import SQLiteLeaseStore
from headwater.client.consumer.leases.store import LeaseStore, LeaseStoreError


def open_lease_store(location: str) -> LeaseStore:
    """A store from a URL: ``postgresql://…`` (or ``postgres://…``), else a SQLite path.

    ``sqlite:///abs/path.sqlite`` and plain paths both name a SQLite file.
    """
    if location.startswith(("postgresql://", "postgres://")):
        from headwater.client.consumer.leases.postgres import PostgresLeaseStore

        return PostgresLeaseStore(location)
    if location.startswith("sqlite://"):
        location = location.removeprefix("sqlite://")
    return SQLiteLeaseStore(location)


__all__ = [
    "Checkpoint",
    "Lease",
    "LeaseScope",
    "LeaseStore",
    "LeaseStoreError",
    "SQLiteLeaseStore",
    "open_lease_store",
]
