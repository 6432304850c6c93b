"""PostgreSQL change data capture into a stream, in the AWS DMS Kinesis record format.

Logical decoding with the built-in ``pgoutput`` plugin, read through the SQL interface
(``pg_logical_slot_peek_binary_changes``) on an ordinary psycopg 3 connection: changes are
*peeked* (the slot does not move), turned into records, put through the producer, and only
when every record is durably written is the slot advanced past the last commit
(``pg_replication_slot_advance``). A crash at any point therefore replays from the last
confirmed commit: at least once, never a gap. Batches end on transaction boundaries.

Each record::

    {"data": {...row...},
     "metadata": {"timestamp": "...", "record-type": "data", "operation": "insert",
                  "partition-key-type": "primary-key", "schema-name": "public",
                  "table-name": "orders", "transaction-id": 1234}}

with partition key ``schema.table.pk1[.pk2...]``. ``operation`` is load, insert, update or
delete (truncate → record-type "control", operation "truncate"). Heartbeats: when nothing
captured changes for ``heartbeat_interval`` seconds, a transactional logical message is
written (``pg_logical_emit_message``), so the slot advances and WAL is not held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from headwater.client import KinesisClient, Producer, PutResult
from headwater.client.backoff import Backoff
from headwater.config_files import read_toml
from headwater.sources.common import ConfigError, client_options, producer_config
from headwater.sources.pgoutput import (
    Begin,
    Change,
    Commit,
    Decoder,
    Truncate,
    convert,
)

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
HEARTBEAT_PREFIX = "headwater.heartbeat"


@dataclass(frozen=True)
class CdcConfig:
    dsn: str
    stream: str
    tables: list[str]
    slot: str = "headwater_cdc"
    publication: str = "headwater_cdc"
    initial_load: bool = False
    state_file: str | None = None
    batch_changes: int = 1000
    poll_interval: float = 0.2
    heartbeat_interval: float = 10.0
    source_type: str | None = None
    client: dict[str, Any] = field(default_factory=dict)
    producer: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (self.slot, self.publication):
            if not _IDENTIFIER.fullmatch(name):
                raise ConfigError(f"{name!r}: use lower-case letters, digits and _")
        if not self.tables:
            raise ConfigError("cdc needs at least one table")
        if self.initial_load and not self.state_file:
            raise ConfigError("initial_load needs a state_file (where the load is recorded)")

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> CdcConfig:
        table = dict(document.get("cdc", {}))
        try:
            return cls(
                **table,
                client=client_options(document),
                producer=document.get("kinesis", {}).get("producer", {}),
            )
        except TypeError as error:
            raise ConfigError(f"bad [cdc] configuration: {error}") from error

    @classmethod
    def load(cls, path: str | Path) -> CdcConfig:
        return cls.from_document(read_toml(path, ConfigError))

    def qualified_tables(self) -> list[tuple[str, str]]:
        out = []
        for name in self.tables:
            schema, _, table = name.rpartition(".")
            out.append((schema or "public", table))
        return out


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dms_record(
    operation: str,
    schema: str,
    table: str,
    row: dict[str, Any],
    key_columns: list[str],
    timestamp: dt.datetime,
    xid: int | None,
    source_type: str | None = None,
    record_type: str = "data",
) -> tuple[bytes, str]:
    """A record in the AWS DMS Kinesis format, and its partition key."""
    metadata: dict[str, Any] = {
        "timestamp": _iso(timestamp),
        "record-type": record_type,
        "operation": operation,
        "partition-key-type": "primary-key" if key_columns else "schema-table",
        "schema-name": schema,
        "table-name": table,
    }
    if xid is not None:
        metadata["transaction-id"] = xid
    body: dict[str, Any] = {"data": row, "metadata": metadata}
    if source_type is not None:
        body["source_type"] = source_type
    key = ".".join([schema, table, *(str(row.get(column)) for column in key_columns)])
    return _encode(body), key[:256]


def _lsn_text(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


class CdcSource:
    """Captures the configured tables into one stream; ``run`` until ``stop``."""

    def __init__(self, config: CdcConfig) -> None:
        self.config = config
        self.forwarded = 0
        self.confirmed: str | None = None
        self._stop = asyncio.Event()
        self._decoder = Decoder()

    def stop(self) -> None:
        self._stop.set()

    async def _setup(self, conn: psycopg.AsyncConnection) -> bool:
        """Create the publication and the slot if missing; True when the slot is new."""
        cfg = self.config
        exists = await (
            await conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [cfg.publication])
        ).fetchone()
        if not exists:
            tables = sql.SQL(", ").join(
                sql.Identifier(schema, table) for schema, table in cfg.qualified_tables()
            )
            await conn.execute(
                sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
                    sql.Identifier(cfg.publication), tables
                )
            )
        slot = await (
            await conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [cfg.slot]
            )
        ).fetchone()
        if slot:
            return False
        await conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [cfg.slot])
        log.info("cdc created slot=%s publication=%s", cfg.slot, cfg.publication)
        return True

    async def _put_all(self, producer: Producer, records: list[tuple[bytes, str]]) -> None:
        futures: list[asyncio.Future[PutResult]] = [
            await producer.put(data, key) for data, key in records
        ]
        await asyncio.gather(*futures)  # RecordFailedError ends the run: nothing confirmed

    def _load_done(self) -> bool:
        path = self.config.state_file
        if path is None or not Path(path).exists():
            return False
        return json.loads(Path(path).read_text()).get(self.config.slot, {}).get("load_done", False)

    def _mark_load_done(self) -> None:
        path = Path(self.config.state_file or "")
        state = json.loads(path.read_text()) if path.exists() else {}
        state[self.config.slot] = {"load_done": True, "at": _iso(dt.datetime.now(dt.UTC))}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        temporary.replace(path)

    async def _initial_load(self, conn: psycopg.AsyncConnection, producer: Producer) -> None:
        """Every row of the captured tables as operation "load" (after the slot exists, so a
        row changed meanwhile shows up again as a change: at least once, no gap)."""
        for schema, table in self.config.qualified_tables():
            keys = [
                row[0]
                for row in await (
                    await conn.execute(
                        """SELECT a.attname FROM pg_index i
                           JOIN pg_attribute a ON a.attrelid = i.indrelid
                            AND a.attnum = ANY(i.indkey)
                           WHERE i.indrelid = %s::regclass AND i.indisprimary
                           ORDER BY array_position(i.indkey, a.attnum)""",
                        [f'"{schema}"."{table}"'],
                    )
                ).fetchall()
            ]
            now = dt.datetime.now(dt.UTC)
            relation = sql.Identifier(schema, table)
            probe = await conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(relation))
            names = [column.name for column in probe.description or []]
            types = [column.type_code for column in probe.description or []]
            # Every column as PostgreSQL's text, converted as pgoutput's values are.
            query = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(n)) for n in names),
                relation,
            )
            batch: list[tuple[bytes, str]] = []
            count = 0
            async with conn.transaction():
                cursor = conn.cursor(f"headwater_load_{self.config.slot}")
                await cursor.execute(query)
                async for values in cursor:
                    row = {
                        name: None if value is None else convert(type_oid, value)
                        for name, type_oid, value in zip(names, types, values, strict=True)
                    }
                    batch.append(
                        dms_record(
                            "load", schema, table, row, keys, now, None, self.config.source_type
                        )
                    )
                    if len(batch) >= 500:
                        await self._put_all(producer, batch)
                        count += len(batch)
                        batch = []
            await self._put_all(producer, batch)
            count += len(batch)
            log.info("cdc loaded table=%s.%s rows=%d", schema, table, count)
        self._mark_load_done()

    async def _peek(self, conn: psycopg.AsyncConnection) -> list[tuple[str, bytes]]:
        cursor = await conn.execute(
            """SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes(
                   %s, NULL, %s, 'proto_version', '1', 'publication_names', %s,
                   'messages', 'true')""",
            [self.config.slot, self.config.batch_changes, self.config.publication],
        )
        return [(lsn, bytes(data)) for lsn, data in await cursor.fetchall()]

    def _records(self, rows: list[tuple[str, bytes]]) -> tuple[list[tuple[bytes, str]], str | None]:
        """Records of the peeked changes, and the LSN to confirm once they are written."""
        records: list[tuple[bytes, str]] = []
        confirm: str | None = None
        begin: Begin | None = None
        for lsn, data in rows:
            message = self._decoder.decode(data)
            if isinstance(message, Begin):
                begin = message
            elif isinstance(message, Commit):
                confirm = lsn
                begin = None
            elif isinstance(message, Change):
                relation = message.relation
                when = begin.commit_time if begin else dt.datetime.now(dt.UTC)
                records.append(
                    dms_record(
                        message.operation,
                        relation.schema,
                        relation.table,
                        message.row,
                        relation.key_columns,
                        when,
                        begin.xid if begin else None,
                        self.config.source_type,
                    )
                )
            elif isinstance(message, Truncate):
                for relation in message.relations:
                    records.append(
                        dms_record(
                            "truncate",
                            relation.schema,
                            relation.table,
                            {},
                            [],
                            begin.commit_time if begin else dt.datetime.now(dt.UTC),
                            begin.xid if begin else None,
                            self.config.source_type,
                            record_type="control",
                        )
                    )
        return records, confirm

    async def run(self) -> None:
        """Capture until ``stop``; a lost database connection is re-made with back-off (the
        slot resumes at the last confirmed commit). A record that cannot be written ends the
        run with nothing of it confirmed."""
        cfg = self.config
        kinesis = KinesisClient(**cfg.client)
        settings = producer_config({"kinesis": {"producer": cfg.producer}}, linger=0.01)
        producer = Producer(cfg.stream, client=kinesis, config=settings)
        backoff = Backoff(0.5, 30.0)
        failures = 0
        try:
            await producer.start()
            while not self._stop.is_set():
                try:
                    async with await psycopg.AsyncConnection.connect(
                        cfg.dsn, autocommit=True, application_name=f"headwater-cdc-{cfg.slot}"
                    ) as conn:
                        failures = 0
                        await self._capture(conn, producer)
                except psycopg.OperationalError as error:
                    failures += 1
                    delay = backoff.delay(failures)
                    log.warning("cdc database error=%s (reconnecting in %.1f s)", error, delay)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            await producer.close(timeout=10)
            await kinesis.aclose()
            log.info("cdc stopped forwarded=%d confirmed=%s", self.forwarded, self.confirmed)

    async def _capture(self, conn: psycopg.AsyncConnection, producer: Producer) -> None:
        cfg = self.config
        await self._setup(conn)
        if cfg.initial_load and not self._load_done():
            await self._initial_load(conn, producer)
        last_activity = time.monotonic()
        while not self._stop.is_set():
            rows = await self._peek(conn)
            records, confirm = self._records(rows)
            if records:
                await self._put_all(producer, records)
                self.forwarded += len(records)
                last_activity = time.monotonic()
            if confirm is not None:
                # Every record up to this commit is durably written: move the slot.
                await conn.execute(
                    "SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", [cfg.slot, confirm]
                )
                self.confirmed = confirm
            if rows:
                continue  # there may be more right away
            if time.monotonic() - last_activity >= cfg.heartbeat_interval:
                await conn.execute(
                    "SELECT pg_logical_emit_message(true, %s, now()::text)", [HEARTBEAT_PREFIX]
                )
                last_activity = time.monotonic()
                continue
            with contextlib.suppress(TimeoutError):  # next poll of the slot, or stop
                await asyncio.wait_for(self._stop.wait(), cfg.poll_interval)
