"""PostgreSQL CDC against the real PostgreSQL on 127.0.0.1:5432 (wal_level=logical, set up by
scripts/services) and the real server."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from types import SimpleNamespace

import psycopg
import pytest

from headwater.sources.cdc import CdcConfig, dms_record
from headwater.sources.common import ConfigError
from headwater.sources.pgoutput import convert
from tests.sources.helpers import SourceProcess, StreamReader, create_stream, poll

DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _connect() -> psycopg.Connection:
    try:
        conn = psycopg.connect(DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable ({error}): run scripts/services")
    if conn.execute("SHOW wal_level").fetchone()[0] != "logical":
        conn.close()
        pytest.skip("wal_level is not logical: run scripts/services")
    return conn


@pytest.fixture
def cdc(server, kinesis, stream_name, tmp_path):
    conn = _connect()
    suffix = uuid.uuid4().hex[:10]
    names = SimpleNamespace(
        table=f"hw_orders_{suffix}",
        other=f"hw_other_{suffix}",
        slot=f"hw_slot_{suffix}",
        publication=f"hw_pub_{suffix}",
    )
    conn.execute(
        f"CREATE TABLE {names.table} (id int PRIMARY KEY, name text, amount numeric(10, 2),"
        " active boolean, doc jsonb)"
    )
    conn.execute(f"CREATE TABLE {names.other} (id serial PRIMARY KEY, note text)")
    stream = create_stream(kinesis, stream_name)
    processes: list[SourceProcess] = []

    def start(**options) -> SourceProcess:
        settings = {
            "dsn": DSN,
            "stream": stream,
            "tables": [f"public.{names.table}"],
            "slot": names.slot,
            "publication": names.publication,
            "poll_interval": 0.05,
            **options,
        }
        lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
        config = tmp_path / f"cdc-{len(processes)}.toml"
        config.write_text(
            f'[kinesis]\nendpoint_url = "{server.endpoint}"\nregion = "us-east-1"\n\n[cdc]\n'
            + "\n".join(lines)
            + "\n"
        )
        process = SourceProcess(["cdc", str(config)], tmp_path / f"cdc-{len(processes)}.log")
        processes.append(process.start())
        poll(lambda: _slot(conn, names.slot) is not None or not process.alive(), timeout=30)
        assert process.alive(), process.log()
        return process

    yield SimpleNamespace(
        conn=conn, names=names, stream=stream, start=start, reader=StreamReader(kinesis, stream)
    )
    for process in processes:
        process.kill()
    poll(lambda: not (_slot(conn, names.slot) or {}).get("active"), timeout=10)
    if _slot(conn, names.slot) is not None:
        conn.execute("SELECT pg_drop_replication_slot(%s)", [names.slot])
    conn.execute(f"DROP PUBLICATION IF EXISTS {names.publication}")
    conn.execute(f"DROP TABLE IF EXISTS {names.table}, {names.other}")
    conn.close()


def _slot(conn: psycopg.Connection, slot: str) -> dict | None:
    row = conn.execute(
        "SELECT active, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
        [slot],
    ).fetchone()
    return None if row is None else {"active": row[0], "confirmed": row[1]}


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _caught_up(conn: psycopg.Connection, slot: str, target: str) -> bool:
    state = _slot(conn, slot)
    return state is not None and _lsn(state["confirmed"]) >= _lsn(target)


def test_every_committed_change_arrives_exactly_once(cdc) -> None:
    conn, table = cdc.conn, cdc.names.table
    process = cdc.start()
    with conn.transaction():
        for n in (1, 2, 3):
            conn.execute(
                f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)",
                [n, f"row {n}", "12.50", n % 2 == 1, json.dumps({"n": n})],
            )
    with conn.transaction():
        conn.execute(f"UPDATE {table} SET name = 'changed' WHERE id = 1")
        conn.execute(f"DELETE FROM {table} WHERE id = 2")
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute(f"INSERT INTO {table} (id) VALUES (99)")
        raise RuntimeError("roll back")
    with conn.transaction():
        conn.execute(f"INSERT INTO {table} (id, name) VALUES (4, 'four')")
        conn.execute(f"UPDATE {table} SET amount = 1 WHERE id = 4")
    target = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
    poll(lambda: len(cdc.reader.read()) >= 7 or not process.alive(), timeout=30)
    poll(lambda: _caught_up(conn, cdc.names.slot, target))  # confirmed after the puts
    assert process.stop() == 0, process.log()

    records = cdc.reader.read()
    bodies = [json.loads(record["Data"]) for record in records]
    assert len(bodies) == 7  # exactly once; the rolled-back insert never shows
    by_key: dict[str, list] = defaultdict(list)
    for record, body in zip(records, bodies, strict=True):
        by_key[record["PartitionKey"]].append(body)
        meta = body["metadata"]
        assert meta["record-type"] == "data"
        assert meta["schema-name"] == "public" and meta["table-name"] == table
        assert meta["partition-key-type"] == "primary-key"
        assert meta["timestamp"].endswith("Z") and isinstance(meta["transaction-id"], int)
        assert record["PartitionKey"] == f"public.{table}.{body['data']['id']}"
    operations = {key: [b["metadata"]["operation"] for b in rows] for key, rows in by_key.items()}
    assert operations == {
        f"public.{table}.1": ["insert", "update"],
        f"public.{table}.2": ["insert", "delete"],
        f"public.{table}.3": ["insert"],
        f"public.{table}.4": ["insert", "update"],
    }
    first = by_key[f"public.{table}.1"][0]
    assert first["data"] == {
        "id": 1,
        "name": "row 1",
        "amount": "12.50",
        "active": True,
        "doc": {"n": 1},
    }
    assert by_key[f"public.{table}.1"][1]["data"]["name"] == "changed"
    assert by_key[f"public.{table}.2"][1]["data"]["id"] == 2  # a delete carries the key
    xids = {b["metadata"]["transaction-id"] for b in by_key[f"public.{table}.4"]}
    assert len(xids) == 1  # both changes of one transaction
    one_tx = {by_key[f"public.{table}.{n}"][0]["metadata"]["transaction-id"] for n in (1, 2, 3)}
    assert len(one_tx) == 1


def test_killed_mid_flow_resumes_with_no_gap(cdc) -> None:
    conn, table = cdc.conn, cdc.names.table
    process = cdc.start(batch_changes=20)
    for tx in range(40):
        with conn.transaction():
            for n in range(10):
                conn.execute(f"INSERT INTO {table} (id, name) VALUES (%s, 'x')", [tx * 10 + n])
    poll(lambda: len(cdc.reader.read()) >= 30, timeout=30)
    process.kill()  # SIGKILL between a put and its confirmation, or anywhere else
    assert len(cdc.reader.read()) < 400, "CDC finished before it could be killed"
    with conn.transaction():
        for n in range(400, 500):
            conn.execute(f"INSERT INTO {table} (id, name) VALUES (%s, 'y')", [n])
    process = cdc.start(batch_changes=20)
    want = set(range(500))
    poll(
        lambda: want <= {json.loads(r["Data"])["data"]["id"] for r in cdc.reader.read()},
        timeout=40,
    )
    assert process.stop() == 0, process.log()
    counts = Counter(json.loads(r["Data"])["data"]["id"] for r in cdc.reader.read())
    assert set(counts) == want  # at least once, no gap


def test_reconnects_after_losing_the_database_connection(cdc) -> None:
    conn, table = cdc.conn, cdc.names.table
    process = cdc.start()
    conn.execute(f"INSERT INTO {table} (id) VALUES (1)")
    target = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
    poll(lambda: _caught_up(conn, cdc.names.slot, target))  # row 1 written and confirmed
    terminated = conn.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
        [f"headwater-cdc-{cdc.names.slot}"],
    ).fetchone()[0]
    assert terminated == 1
    conn.execute(f"INSERT INTO {table} (id) VALUES (2)")
    poll(lambda: len(cdc.reader.read()) >= 2)
    assert process.alive()
    assert process.stop() == 0, process.log()
    assert "reconnecting" in process.log()
    assert sorted(json.loads(r["Data"])["data"]["id"] for r in cdc.reader.read()) == [1, 2]


def test_initial_load_then_changes_and_heartbeats(cdc, tmp_path) -> None:
    conn, table = cdc.conn, cdc.names.table
    for n in range(5):
        conn.execute(f"INSERT INTO {table} (id, name) VALUES (%s, 'before')", [n])
    state = tmp_path / "cdc-state.json"
    options = {"initial_load": True, "state_file": str(state), "heartbeat_interval": 0.2}
    options["source_type"] = "db"
    process = cdc.start(**options)
    poll(lambda: len(cdc.reader.read()) >= 5 or not process.alive(), timeout=30)
    conn.execute(f"INSERT INTO {table} (id, name) VALUES (100, 'after')")
    poll(lambda: len(cdc.reader.read()) >= 6)
    bodies = [json.loads(r["Data"]) for r in cdc.reader.read()]
    loads = [b for b in bodies if b["metadata"]["operation"] == "load"]
    assert sorted(b["data"]["id"] for b in loads) == list(range(5))
    assert all("transaction-id" not in b["metadata"] for b in loads)
    assert [b["data"]["id"] for b in bodies if b["metadata"]["operation"] == "insert"] == [100]
    assert all(b["source_type"] == "db" for b in bodies)
    # heartbeats: WAL written elsewhere does not hold the quiet slot back
    for _ in range(20):
        conn.execute(f"INSERT INTO {cdc.names.other} (note) VALUES ('elsewhere')")
    target = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
    poll(lambda: _caught_up(conn, cdc.names.slot, target), timeout=20)
    assert process.stop() == 0, process.log()
    # a restart does not load again
    process = cdc.start(**options)
    conn.execute(f"INSERT INTO {table} (id, name) VALUES (101, 'again')")
    poll(lambda: len(cdc.reader.read()) >= 7)
    assert process.stop() == 0, process.log()
    operations = Counter(json.loads(r["Data"])["metadata"]["operation"] for r in cdc.reader.read())
    assert operations == {"load": 5, "insert": 2}


def test_dms_record_shape_and_config_checks() -> None:
    import datetime as dt

    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    data, key = dms_record("insert", "public", "t", {"a": 1, "b": 2}, ["b", "a"], when, 77)
    assert key == "public.t.2.1"
    assert json.loads(data) == {
        "data": {"a": 1, "b": 2},
        "metadata": {
            "timestamp": "2026-01-02T03:04:05.678000Z",
            "record-type": "data",
            "operation": "insert",
            "partition-key-type": "primary-key",
            "schema-name": "public",
            "table-name": "t",
            "transaction-id": 77,
        },
    }
    assert convert(20, "12") == 12 and convert(701, "1.5") == 1.5 and convert(16, "f") is False
    assert convert(1700, "1.10") == "1.10" and convert(3802, '{"a": 1}') == {"a": 1}
    with pytest.raises(ConfigError, match="lower-case"):
        CdcConfig(dsn="", stream="s", tables=["t"], slot="Bad-Slot")
    with pytest.raises(ConfigError, match="state_file"):
        CdcConfig(dsn="", stream="s", tables=["t"], initial_load=True)
    with pytest.raises(ConfigError, match="bad"):
        CdcConfig.from_document({"cdc": {"dsn": "", "stream": "s", "tables": ["t"], "x": 1}})
