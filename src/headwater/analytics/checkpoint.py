"""The runner's checkpoint: one SQLite file, every change one transaction.

A commit writes, atomically: the position reached in every source shard, the engine's
state (watermarks, buffers), the checkpoint number, and the results produced since the
previous commit (*pending*, each with its deterministic id). Once the pending results are
in their sinks, ``delivered`` deletes them and records how far each output shard was
written (where a recovery scan starts). After a crash the file says exactly which input
was consumed, what state it left, and which results may still be missing from the sinks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS positions (
    source TEXT, shard TEXT, sequence TEXT, sub INTEGER, ended INTEGER,
    PRIMARY KEY (source, shard));
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS pending (
    sink TEXT, idx INTEGER, id TEXT, hash_key TEXT, data BLOB, PRIMARY KEY (sink, idx));
CREATE TABLE IF NOT EXISTS written (stream TEXT, shard TEXT, sequence TEXT,
    PRIMARY KEY (stream, shard));
"""


@dataclass(frozen=True, slots=True)
class Position:
    sequence: str | None  # None: nothing read yet
    sub: int = 0
    ended: bool = False


@dataclass(frozen=True, slots=True)
class Result:
    """One output record, named by its deterministic id."""

    id: str
    data: bytes
    hash_key: str | None = None


@dataclass
class Checkpoint:
    number: int = 0
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    state: dict[str, bytes] = field(default_factory=dict)
    pending: dict[str, list[Result]] = field(default_factory=dict)
    written: dict[tuple[str, str], str] = field(default_factory=dict)


class CheckpointStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def load(self) -> Checkpoint:
        db = self.connection
        checkpoint = Checkpoint()
        row = db.execute("SELECT value FROM meta WHERE key = 'number'").fetchone()
        checkpoint.number = int(row[0]) if row else 0
        for source, shard, sequence, sub, ended in db.execute("SELECT * FROM positions"):
            checkpoint.positions[(source, shard)] = Position(sequence, sub, bool(ended))
        checkpoint.state = dict(db.execute("SELECT key, value FROM state"))
        for sink, _, id_, hash_key, data in db.execute("SELECT * FROM pending ORDER BY sink, idx"):
            checkpoint.pending.setdefault(sink, []).append(Result(id_, data, hash_key))
        for stream, shard, sequence in db.execute("SELECT * FROM written"):
            checkpoint.written[(stream, shard)] = sequence
        return checkpoint

    def commit(
        self,
        number: int,
        positions: dict[tuple[str, str], Position],
        state: dict[str, bytes],
        pending: dict[str, list[Result]],
    ) -> None:
        """Input consumed, state reached and results made, all at once (or none of it)."""
        db = self.connection
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?)",
                [(s, h, p.sequence, p.sub, int(p.ended)) for (s, h), p in positions.items()],
            )
            db.execute("DELETE FROM state")
            db.executemany("INSERT INTO state VALUES (?, ?)", state.items())
            db.execute("INSERT OR REPLACE INTO meta VALUES ('number', ?)", (str(number),))
            db.execute("DELETE FROM pending")
            db.executemany(
                "INSERT INTO pending VALUES (?, ?, ?, ?, ?)",
                [
                    (sink, index, r.id, r.hash_key, r.data)
                    for sink, results in pending.items()
                    for index, r in enumerate(results)
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def delivered(self, written: dict[tuple[str, str], str]) -> None:
        """Every pending result is in its sink; remember how far output shards were written."""
        db = self.connection
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM pending")
        db.executemany(
            "INSERT OR REPLACE INTO written VALUES (?, ?, ?)",
            [(stream, shard, sequence) for (stream, shard), sequence in written.items()],
        )
        db.execute("COMMIT")
