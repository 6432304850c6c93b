"""``headwater topology single|multi``: one command runs a whole topology through MQTT, HTTP
ingest and PostgreSQL CDC, and each stream receives its records."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter

import psycopg
import pytest

from tests.sources.helpers import StreamReader, poll
from tests.support.server import free_port

DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _pg() -> psycopg.Connection:
    try:
        conn = psycopg.connect(DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable ({error}): run scripts/services")
    if conn.execute("SHOW wal_level").fetchone()[0] != "logical":
        conn.close()
        pytest.skip("wal_level is not logical: run scripts/services")
    return conn


def _topology(server, kind: str, prefix: str, count: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "headwater",
            "topology",
            kind,
            "--endpoint-url",
            server.endpoint,
            "--postgres",
            DSN,
            "--ingest-port",
            str(free_port()),
            "--count",
            str(count),
            "--rate",
            "0",
            "--seed",
            "5",
            "--prefix",
            prefix,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def _read(kinesis, stream: str, at_least: int) -> list[dict]:
    reader = StreamReader(kinesis, stream)
    poll(lambda: len(reader.read()) >= at_least, timeout=30)
    return [json.loads(record["Data"]) for record in reader.read()]


def _drop(conn: psycopg.Connection, prefix: str) -> None:
    ident = prefix.replace("-", "_")
    slot, table = f"{ident}_cdc", f"{ident}_orders"
    poll(
        lambda: (
            not conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND active", [slot]
            ).fetchone()
        ),
        timeout=10,
    )
    conn.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
        [slot],
    )
    conn.execute(f"DROP PUBLICATION IF EXISTS {slot}")
    conn.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.parametrize("kind", ["multi", "single"])
def test_topology_command_runs_end_to_end(server, kinesis, kind):
    conn = _pg()
    prefix = f"hwtc-{kind}-{uuid.uuid4().hex[:8]}"
    count = 30 if kind == "multi" else 10
    try:
        result = _topology(server, kind, prefix, count)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "written iot=" in result.stdout  # the progress line
        if kind == "multi":
            iot = _read(kinesis, f"{prefix}-iot-stream", count)
            social = _read(kinesis, f"{prefix}-social-stream", count)
            db = _read(kinesis, f"{prefix}-db-stream", count)
            assert len(iot) == len(social) == len(db) == count
            assert {body["source_type"] for body in iot} == {"iot"}
            assert all(body["machine_id"].startswith("machine-") for body in iot)
            assert {body["source_type"] for body in social} == {"social"}
            assert all("sentiment" in body for body in social)
            assert {body["metadata"]["table-name"] for body in db} == {
                f"{prefix.replace('-', '_')}_orders"
            }
        else:
            bodies = _read(kinesis, f"{prefix}-events", 3 * count)
            assert Counter(body["source_type"] for body in bodies) == {
                "iot": count,
                "social": count,
                "db": count,
            }
    finally:
        _drop(conn, prefix)
        conn.close()
