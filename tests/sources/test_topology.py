"""The single-stream topology end to end: simulators publish to MQTT, POST to HTTP ingest and
change a PostgreSQL table; the bridge, ingest and CDC write one stream, each record tagged
with its ``source_type``."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from headwater.sources.simulate_targets import ORDERS_TABLE
from tests.sources.helpers import SourceProcess, StreamReader, create_stream, poll
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


def test_single_stream_topology_through_every_source(server, kinesis, stream_name, tmp_path):
    conn = _pg()
    suffix = uuid.uuid4().hex[:10]
    table, slot, client_id = f"hw_topo_orders_{suffix}", f"hw_topo_{suffix}", f"hw-topo-{suffix}"
    prefix = f"hwtopo/{suffix}"
    stream = create_stream(kinesis, stream_name, shards=2)
    port = free_port()
    kinesis_table = f'[kinesis]\nendpoint_url = "{server.endpoint}"\nregion = "us-east-1"\n'
    (tmp_path / "mqtt.toml").write_text(
        f"""{kinesis_table}
[mqtt]
client_id = "{client_id}"
clean_session = false

[[mqtt.rules]]
topic = "{prefix}/#"
stream = "{stream}"
partition_key = "${{machine_id}}"
source_type = "iot"
"""
    )
    (tmp_path / "ingest.toml").write_text(
        f"""{kinesis_table}
[ingest]
port = {port}

[[ingest.routes]]
stream = "{stream}"
token = "t0ken"
partition_key = "${{user_id}}"
source_type = "social"
"""
    )
    conn.execute(ORDERS_TABLE.format(table))  # the table the orders simulator writes
    (tmp_path / "cdc.toml").write_text(
        f"""{kinesis_table}
[cdc]
dsn = "{DSN}"
stream = "{stream}"
tables = ["public.{table}"]
slot = "{slot}"
publication = "{slot}"
poll_interval = 0.05
source_type = "db"
"""
    )
    # the bridge's persistent session exists (subscribed) before anything is published
    session = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=4
    )
    session.connect("127.0.0.1", 1883)
    session.loop_start()
    poll(session.is_connected)
    poll(lambda: session.subscribe(f"{prefix}/#", qos=1)[0] == mqtt.MQTT_ERR_SUCCESS)
    session.disconnect()
    session.loop_stop()

    def run(name: str, *args: str) -> SourceProcess:
        return SourceProcess(list(args), tmp_path / f"{name}.log").start()

    services = [
        run("mqtt", "mqtt", str(tmp_path / "mqtt.toml")),
        run("ingest", "ingest", str(tmp_path / "ingest.toml")),
        run("cdc", "cdc", str(tmp_path / "cdc.toml")),
    ]
    try:
        poll(
            lambda: conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [slot]
            ).fetchone()
        )

        def ingest_ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
            except httpx.TransportError:
                return False

        poll(ingest_ready, timeout=30, interval=0.05)
        common = ["--count", "20", "--rate", "0", "--seed", "3"]
        simulators = [
            run(
                "sim-iot",
                "simulate",
                "iot",
                "--mqtt",
                "127.0.0.1:1883",
                "--topic-prefix",
                prefix,
                *common,
            ),
            run(
                "sim-social",
                "simulate",
                "social",
                "--http",
                f"http://127.0.0.1:{port}/ingest/{stream}",
                "--token",
                "t0ken",
                *common,
            ),
            run("sim-orders", "simulate", "orders", "--postgres", DSN, "--table", table, *common),
        ]
        for simulator in simulators:
            assert simulator.process is not None
            assert simulator.process.wait(timeout=60) == 0, simulator.log()
        reader = StreamReader(kinesis, stream)
        poll(lambda: len(reader.read()) >= 60, timeout=30)
        for service in services:
            assert service.stop() == 0, service.log()
        bodies = [json.loads(record["Data"]) for record in reader.read()]
        assert Counter(body["source_type"] for body in bodies) == {
            "iot": 20,
            "social": 20,
            "db": 20,
        }
        db = [b for b in bodies if b["source_type"] == "db"]
        assert {b["metadata"]["table-name"] for b in db} == {table}
        assert {b["topic"].split("/")[2] for b in bodies if b["source_type"] == "iot"} == {"iot"}
    finally:
        for process in services:
            process.kill()
        poll(
            lambda: (
                not conn.execute(
                    "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND active", [slot]
                ).fetchone()
            ),
            timeout=10,
        )
        conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            " WHERE slot_name = %s",
            [slot],
        )
        conn.execute(f"DROP PUBLICATION IF EXISTS {slot}")
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()
