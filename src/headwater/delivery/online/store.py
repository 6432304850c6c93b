"""Online store backends: SQLite (embedded, the default) and Redis.

A write carries an event time; it replaces the stored value only if its event time is not
older than the stored one, so out-of-order events keep the latest by event time. A TTL counts
from the event time: a value whose ``event_time + ttl`` has passed is not returned (and is
removed: SQLite on read and by ``purge``, Redis by key expiry).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    value: dict[str, Any]
    event_time: float  # epoch seconds
    expires_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "event_time": self.event_time,
            "expires_at": self.expires_at,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class Write:
    key: str
    value: dict[str, Any]
    event_time: float
    ttl: float | None = None


class OnlineStore(Protocol):
    def put(
        self, table: str, key: str, value: dict[str, Any], event_time: float, ttl: float | None
    ) -> None: ...

    def put_many(self, table: str, writes: Iterable[Write]) -> None: ...

    def get(self, table: str, key: str) -> Feature | None: ...

    def close(self) -> None: ...


class SQLiteStore:
    """One SQLite file (WAL); safe to use from several threads and processes."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._local = threading.local()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS features (tbl TEXT NOT NULL, key TEXT NOT NULL,"
                " event_time REAL NOT NULL, expires_at REAL, value BLOB NOT NULL,"
                " PRIMARY KEY (tbl, key))"
            )

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def put(
        self, table: str, key: str, value: dict[str, Any], event_time: float, ttl: float | None
    ) -> None:
        self.put_many(table, [Write(key, value, event_time, ttl)])

    def put_many(self, table: str, writes: Iterable[Write]) -> None:
        rows = [
            (
                table,
                w.key,
                w.event_time,
                None if w.ttl is None else w.event_time + w.ttl,
                _encoder.encode(w.value),
            )
            for w in writes
        ]
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO features (tbl, key, event_time, expires_at, value)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET"
                " event_time = excluded.event_time, expires_at = excluded.expires_at,"
                " value = excluded.value WHERE excluded.event_time >= features.event_time",
                rows,
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def get(self, table: str, key: str) -> Feature | None:
        row = (
            self._connect()
            .execute(
                "SELECT event_time, expires_at, value FROM features WHERE tbl = ? AND key = ?",
                (table, key),
            )
            .fetchone()
        )
        if row is None:
            return None
        event_time, expires_at, value = row
        if expires_at is not None and expires_at <= self.clock():
            return None
        return Feature(key, _decoder.decode(value), event_time, expires_at)

    def purge(self) -> int:
        """Delete expired values; how many."""
        cursor = self._connect().execute(
            "DELETE FROM features WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (self.clock(),),
        )
        return cursor.rowcount

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


# KEYS[1] = hash key; ARGV = event_time, expires_at_ms ('' for none), value.
# Writes only when no stored value is newer by event time; expiry by PEXPIREAT.
_PUT_SCRIPT = """
local stored = redis.call('HGET', KEYS[1], 'event_time')
if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'event_time', ARGV[1], 'value', ARGV[3], 'expires_at', ARGV[2])
if ARGV[2] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
else
  redis.call('PERSIST', KEYS[1])
end
return 1
"""


class RedisStore:
    """Redis hashes ``<namespace>:<table>:<key>``; compare-and-set by event time in Lua."""

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", namespace: str = "headwater:features"
    ) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.namespace = namespace
        self._put = self.redis.register_script(_PUT_SCRIPT)

    def _key(self, table: str, key: str) -> str:
        return f"{self.namespace}:{table}:{key}"

    def put(
        self, table: str, key: str, value: dict[str, Any], event_time: float, ttl: float | None
    ) -> None:
        self.put_many(table, [Write(key, value, event_time, ttl)])

    def put_many(self, table: str, writes: Iterable[Write]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for w in writes:
            expires = "" if w.ttl is None else str(int((w.event_time + w.ttl) * 1000))
            self._put(
                keys=[self._key(table, w.key)],
                args=[repr(float(w.event_time)), expires, _encoder.encode(w.value)],
                client=pipe,
            )
        pipe.execute()

    def get(self, table: str, key: str) -> Feature | None:
        found = self.redis.hgetall(self._key(table, key))
        if not found:
            return None
        expires = found.get(b"expires_at") or b""
        expires_at = int(expires) / 1000 if expires else None
        if expires_at is not None and expires_at <= time.time():
            return None
        return Feature(
            key, _decoder.decode(found[b"value"]), float(found[b"event_time"]), expires_at
        )

    def close(self) -> None:
        self.redis.close()


def open_store(spec: str) -> OnlineStore:
    """``redis://…`` → Redis; ``sqlite:///path`` or a plain path → SQLite."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(spec)
    if spec.startswith("sqlite://"):
        spec = spec.removeprefix("sqlite://")
    return SQLiteStore(spec)
