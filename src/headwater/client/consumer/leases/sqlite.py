"""Leases in a SQLite file: the default, for workers that share one host.

WAL mode lets several worker processes read while one writes; each statement is atomic,
which is all the conditional updates need. Calls run on one dedicated thread so the event
loop never blocks on the file lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from headwater.client.consumer.leases.store import TABLE, LeaseStoreError, SqlLeaseStore

BUSY_TIMEOUT_MS = 10_000


class SQLiteLeaseStore(SqlLeaseStore):
    """``SQLiteLeaseStore("leases.sqlite")``; the file is created on first use."""

    DDL = (
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        "application TEXT NOT NULL, stream TEXT NOT NULL, shard_id TEXT NOT NULL, "
        "owner TEXT, counter INTEGER NOT NULL DEFAULT 0, checkpoint TEXT NOT NULL, "
        "sub_sequence INTEGER NOT NULL DEFAULT 0, parent_shard_ids TEXT NOT NULL DEFAULT '', "
        "pending_owner TEXT, expires_at REAL, "
        "PRIMARY KEY (application, stream, shard_id))",
    )

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="headwater-leases")
        await self._call(self._connect)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        _enable_wal(connection)
        connection.execute("PRAGMA synchronous=NORMAL")
        for statement in self.DDL:
            connection.execute(statement)
        self._connection = connection

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._connection is not None:
            await self._call(self._connection.close)
            self._connection = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def _call(self, function, *args: Any) -> Any:
        if self._executor is None:
            raise LeaseStoreError("lease store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def _execute(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        assert self._connection is not None
        params["now"] = time.time()
        try:
            return self._connection.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise LeaseStoreError(f"sqlite: {exc}") from exc

    async def _run(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        return await self._call(self._execute, sql, params)


def _enable_wal(connection: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL. Workers starting together race for the lock this needs, and SQLite
    answers "database is locked" at once rather than waiting, so retry briefly (bounded)."""
    for attempt in range(attempts):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
