"""Where ``headwater simulate`` sends its records: a stream, an MQTT broker or HTTP ingest."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from headwater.client import Producer, ProducerConfig
from headwater.sources.simulators import run_simulator

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode


async def simulate_to_stream(kind: str, stream: str, client: dict[str, Any], **options) -> int:
    async with Producer(stream, config=ProducerConfig(linger=0.02), **client) as producer:

        async def emit(key: str, record: dict[str, Any]) -> None:
            await producer.put(_encode(record), key)

        sent = await run_simulator(kind, emit, **options)
    failed = producer.metrics.snapshot().get("records_failed", 0)
    log.info("simulate done kind=%s stream=%s sent=%d failed=%s", kind, stream, sent, failed)
    return sent


async def simulate_to_mqtt(kind: str, host: str, port: int, topic_prefix: str, **options) -> int:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect(host, port)
    client.loop_start()
    pending: list[mqtt.MQTTMessageInfo] = []

    def emit(key: str, record: dict[str, Any]) -> None:
        pending.append(client.publish(f"{topic_prefix}/{kind}/{key}", _encode(record), qos=1))

    try:
        sent = await run_simulator(kind, emit, **options)
        for info in pending:
            await asyncio.to_thread(info.wait_for_publish, 30)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


async def simulate_to_http(kind: str, url: str, token: str | None, **options) -> int:
    import httpx

    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:

        async def emit(key: str, record: dict[str, Any]) -> None:
            for attempt in range(20):
                answer = await http.post(url, content=_encode(record))
                if answer.status_code != 429:
                    answer.raise_for_status()
                    return
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
            answer.raise_for_status()

        return await run_simulator(kind, emit, **options)


ORDERS_TABLE = """CREATE TABLE IF NOT EXISTS {} (
    order_id integer PRIMARY KEY, customer_id integer, product text, quantity integer,
    amount numeric(10, 2), status text, updated_at timestamptz)"""


async def simulate_to_postgres(kind: str, dsn: str, table: str, **options) -> int:
    """Apply the ``orders`` simulator's changes to a real table (one transaction each), so
    PostgreSQL CDC has something to capture."""
    import psycopg
    from psycopg import sql

    if kind != "orders":
        raise ValueError("only the orders simulator writes to PostgreSQL")
    options.pop("source_type", None)  # rows carry no source type; the CDC source adds it
    name = sql.Identifier(*table.split("."))
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(sql.SQL(ORDERS_TABLE).format(name))

        async def emit(key: str, record: dict[str, Any]) -> None:
            row = record["row"]
            if record["operation"] == "insert":
                columns = list(row)
                statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    name,
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                )
                await conn.execute(statement, [row[c] for c in columns])
            elif record["operation"] == "update":
                await conn.execute(
                    sql.SQL(
                        "UPDATE {} SET status = %s, updated_at = %s WHERE order_id = %s"
                    ).format(name),
                    [row["status"], row["updated_at"], row["order_id"]],
                )
            else:
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE order_id = %s").format(name), [row["order_id"]]
                )

        return await run_simulator(kind, emit, **options)
