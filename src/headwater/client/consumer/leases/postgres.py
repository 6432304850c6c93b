"""Leases in PostgreSQL: for workers on several hosts.

Expiry uses the database server's ``clock_timestamp()``, so hosts' clocks need not agree.
One autocommit connection per worker, used by one statement at a time, reconnected on the
next call after a failure (the coordinator treats a failed call as a missed renewal).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg

from headwater.client.consumer.leases.store import TABLE, LeaseStoreError, SqlLeaseStore


class PostgresLeaseStore(SqlLeaseStore):
    """``PostgresLeaseStore("postgresql://user@host/db")``; the table is created if missing."""

    NOW = "clock_timestamp()"
    EXPIRY = "(clock_timestamp() + make_interval(secs => :duration))"
    PARAM_STYLE = "pyformat"
    DDL = (
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        "application TEXT NOT NULL, stream TEXT NOT NULL, shard_id TEXT NOT NULL, "
        "owner TEXT, counter BIGINT NOT NULL DEFAULT 0, checkpoint TEXT NOT NULL, "
        "sub_sequence BIGINT NOT NULL DEFAULT 0, parent_shard_ids TEXT NOT NULL DEFAULT '', "
        "pending_owner TEXT, expires_at TIMESTAMPTZ, "
        "PRIMARY KEY (application, stream, shard_id))",
    )

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connection: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        async with self._lock:
            connection = await self._connected()
            for statement in self.DDL:
                # another worker may create the table at the same moment
                with contextlib.suppress(psycopg.errors.UniqueViolation):
                    await connection.execute(statement)

    async def _connected(self) -> psycopg.AsyncConnection:
        if self._connection is None or self._connection.closed:
            try:
                self._connection = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
            except psycopg.Error as exc:
                raise LeaseStoreError(f"postgres: {exc}") from exc
        return self._connection

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None

    async def _run(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        async with self._lock:
            connection = await self._connected()
            try:
                cursor = await connection.execute(sql, params)
                return await cursor.fetchall() if cursor.description else []
            except psycopg.Error as exc:
                if connection.broken:
                    self._connection = None
                raise LeaseStoreError(f"postgres: {exc}") from exc
