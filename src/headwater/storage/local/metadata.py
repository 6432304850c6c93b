"""Control-plane metadata in SQLite (WAL): one JSON document per stream.

Stream documents change only on control-plane calls (create, reshard, tag, ...), so a
document store with full-sync commits is simple and durable; the hot data path never
touches it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec

from headwater.storage.base import StreamChange


class SqliteMetadataStore:
    """``MetadataStore`` over a SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS streams "
            "(stream_id TEXT PRIMARY KEY, document BLOB NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value BLOB NOT NULL)"
        )

    def load_streams(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT document FROM streams ORDER BY stream_id").fetchall()
        return [msgspec.json.decode(row[0]) for row in rows]

    def save_stream(self, stream_id: str, document: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO streams (stream_id, document) VALUES (?, ?) "
            "ON CONFLICT(stream_id) DO UPDATE SET document = excluded.document",
            (stream_id, msgspec.json.encode(document)),
        )

    def delete_stream(self, stream_id: str) -> None:
        self._db.execute("DELETE FROM streams WHERE stream_id = ?", (stream_id,))

    def load_setting(self, name: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def save_setting(self, name: str, value: bytes) -> None:
        self._db.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def watch(self, on_change: StreamChange) -> None:
        """Nothing to report: one process owns the data directory."""

    def close(self) -> None:
        self._db.close()
