"""``headwater topology single|multi``: either of the mission's topologies, end to end.

One process creates the stream(s), runs the MQTT bridge, HTTP ingest and PostgreSQL CDC
(in-process, as asyncio tasks), and feeds them from the simulators through the real
transports: the IoT simulator publishes to MQTT, the social simulator POSTs to ingest and the
orders simulator changes a PostgreSQL table. Nothing is written straight to a stream.

- ``single``: one stream ``<prefix>-events``; every record has ``source_type`` (iot, social,
  db);
- ``multi``: ``<prefix>-iot-stream``, ``<prefix>-social-stream`` and ``<prefix>-db-stream``.

With ``count`` the run ends once every simulator has sent its records and every source has
written them; without, it runs until ``stop``. Nothing created is dropped unless ``cleanup``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from headwater.client import KinesisClient
from headwater.errors import ResourceInUseException, ResourceNotFoundException
from headwater.sources.cdc import CdcConfig, CdcSource
from headwater.sources.common import ConfigError
from headwater.sources.ingest import IngestConfig, Route, serve_ingest
from headwater.sources.mqtt import BridgeConfig, MqttBridge, MqttSettings, Rule
from headwater.sources.simulate_targets import ORDERS_TABLE, simulate_to_mqtt, simulate_to_postgres
from headwater.sources.simulators import run_simulator

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode
_PREFIX = re.compile(r"[a-z][a-z0-9-]{0,39}")
KINDS = ("single", "multi")
SOURCES = ("iot", "social", "db")


@dataclass(frozen=True)
class TopologySettings:
    kind: str
    endpoint_url: str = "http://127.0.0.1:4567"
    region: str = "us-east-1"
    mqtt: str = "127.0.0.1:1883"
    postgres: str = "postgresql://postgres@127.0.0.1:5432/test"
    ingest_port: int = 8080
    rate: float = 20.0
    count: int | None = None
    seed: int = 0
    prefix: str = "hw"
    shards: int = 1
    cleanup: bool = False
    drain_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"topology {self.kind!r}: choose single or multi")
        if not _PREFIX.fullmatch(self.prefix):
            raise ConfigError("--prefix: a lower-case letter, then letters, digits or -")
        if self.count is not None and self.count < 1:
            raise ConfigError("--count must be at least 1")

    @property
    def streams(self) -> dict[str, str]:
        """The stream each source (iot, social, db) writes."""
        if self.kind == "single":
            return dict.fromkeys(SOURCES, f"{self.prefix}-events")
        return {source: f"{self.prefix}-{source}-stream" for source in SOURCES}

    @property
    def identifier(self) -> str:
        return self.prefix.replace("-", "_")

    @property
    def table(self) -> str:
        return f"{self.identifier}_orders"

    @property
    def slot(self) -> str:
        """The CDC replication slot, also the publication's name."""
        return f"{self.identifier}_cdc"

    @property
    def topic_prefix(self) -> str:
        return f"{self.prefix}/sim"

    @property
    def client_id(self) -> str:
        return f"headwater-topology-{self.prefix}"

    @property
    def broker(self) -> tuple[str, int]:
        host, _, port = self.mqtt.rpartition(":")
        return (host, int(port)) if host else (self.mqtt, 1883)

    @property
    def client(self) -> dict[str, Any]:
        return {"endpoint_url": self.endpoint_url, "region": self.region}


async def ensure_streams(settings: TopologySettings, timeout: float = 60.0) -> list[str]:
    """Create the missing streams and wait until all are ACTIVE; the names created."""
    created: list[str] = []
    async with KinesisClient(**settings.client) as kinesis:
        for stream in sorted(set(settings.streams.values())):
            try:
                await kinesis.create_stream(stream, settings.shards)
                created.append(stream)
            except ResourceInUseException:
                pass
            deadline = time.monotonic() + timeout
            while (await kinesis.describe_stream_summary(stream)).StreamStatus != "ACTIVE":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"stream {stream} is not ACTIVE after {timeout} s")
                await asyncio.sleep(0.1)
    return created


def _mqtt_session(settings: TopologySettings, subscribe: bool) -> None:
    """Subscribe the bridge's persistent session before anything is published (so no early
    message is lost), or, with ``subscribe`` false, end that session."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        clean_session=not subscribe,
        protocol=mqtt.MQTTv311,
    )
    host, port = settings.broker
    client.connect(host, port)
    client.loop_start()
    try:
        deadline = time.monotonic() + 10
        while not client.is_connected():
            if time.monotonic() > deadline:
                raise ConnectionError(f"cannot connect to the MQTT broker at {settings.mqtt}")
            time.sleep(0.02)
        if subscribe:
            topic = f"{settings.topic_prefix}/#"
            client.subscribe(topic, qos=1)
            # a round trip after the subscribe: the broker has handled it once this returns
            client.publish(f"{settings.prefix}/ping", b"", qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


class _NotReady(RuntimeError):
    """A source ended (or a stop came) before the topology was running."""


async def _wait_for_slot(settings: TopologySettings, failed: Callable[[], bool]) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(settings.postgres, autocommit=True) as conn:
        while not await (
            await conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [settings.slot]
            )
        ).fetchone():
            if failed():
                raise _NotReady("the CDC source stopped before creating its slot")
            await asyncio.sleep(0.05)


async def _wait_for_ingest(url: str, failed: Callable[[], bool]) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            if failed():
                raise _NotReady("HTTP ingest stopped before it answered")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{url}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.05)


class Topology:
    """One run of a topology; ``run`` until ``stop`` (or until ``count`` records each)."""

    def __init__(self, settings: TopologySettings, out: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.out = out
        self.social_written = 0
        self.sent: dict[str, int] = {}
        self._stop = asyncio.Event()
        self.bridge: MqttBridge | None = None
        self.cdc: CdcSource | None = None
        self._simulators: dict[str, asyncio.Task[int]] = {}

    def stop(self) -> None:
        self._stop.set()

    def progress(self, elapsed: float) -> str:
        written = self.written()
        parts = [f"{source}={written[source]}" for source in SOURCES]
        return f"topology {self.settings.kind} {elapsed:.0f}s written " + " ".join(parts)

    def written(self) -> dict[str, int]:
        return {
            "iot": self.bridge.forwarded if self.bridge else 0,
            "social": self.social_written,
            "db": self.cdc.forwarded if self.cdc else 0,
        }

    def _bridge(self) -> MqttBridge:
        s = self.settings
        host, port = s.broker
        rule = Rule(
            topic=f"{s.topic_prefix}/#",
            stream=s.streams["iot"],
            partition_key="${machine_id}",
            source_type="iot",
        )
        mqtt = MqttSettings(host=host, port=port, client_id=s.client_id, clean_session=False)
        return MqttBridge(BridgeConfig(mqtt, [rule], s.client, {}))

    def _ingest(self) -> IngestConfig:
        s = self.settings
        route = Route(stream=s.streams["social"], partition_key="${user_id}", source_type="social")
        return IngestConfig({route.stream: route}, port=s.ingest_port, client=s.client)

    def _cdc(self) -> CdcSource:
        s = self.settings
        config = CdcConfig(
            dsn=s.postgres,
            stream=s.streams["db"],
            tables=[f"public.{s.table}"],
            slot=s.slot,
            publication=s.slot,
            poll_interval=0.05,
            source_type="db" if s.kind == "single" else None,
            client=s.client,
        )
        return CdcSource(config)

    async def _social(self, url: str, options: dict[str, Any]) -> int:
        """The social simulator POSTing to ingest (a 200 means the record is written)."""
        import httpx

        async with httpx.AsyncClient(timeout=30) as http:

            async def emit(key: str, record: dict[str, Any]) -> None:
                for attempt in range(20):
                    answer = await http.post(url, content=_encode(record))
                    if answer.status_code != 429:
                        answer.raise_for_status()
                        self.social_written += 1
                        return
                    await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
                answer.raise_for_status()

            return await run_simulator("social", emit, **options)

    async def _create_table(self) -> None:
        import psycopg
        from psycopg import sql

        async with await psycopg.AsyncConnection.connect(
            self.settings.postgres, autocommit=True
        ) as conn:
            await conn.execute(sql.SQL(ORDERS_TABLE).format(sql.Identifier(self.settings.table)))

    async def run(self) -> bool:
        """Run until stopped (or done); True when everything went as asked."""
        s = self.settings
        created = await ensure_streams(s)
        for stream in sorted(set(s.streams.values())):
            self.out(f"stream {stream} ({'created' if stream in created else 'exists'})")
        await self._create_table()
        await asyncio.to_thread(_mqtt_session, s, True)
        self.bridge, self.cdc = self._bridge(), self._cdc()
        ingest_stop = asyncio.Event()
        services = {
            "mqtt": asyncio.create_task(self.bridge.run(), name="topology-mqtt"),
            "ingest": asyncio.create_task(
                serve_ingest(self._ingest(), ingest_stop), name="topology-ingest"
            ),
            "cdc": asyncio.create_task(self.cdc.run(), name="topology-cdc"),
        }

        def failed() -> bool:  # a service ended, or a stop came, before all were ready
            return self._stop.is_set() or any(task.done() for task in services.values())

        simulators = self._simulators
        ok = True
        began = time.monotonic()
        try:
            base = f"http://127.0.0.1:{s.ingest_port}"
            try:
                await _wait_for_ingest(base, failed)
                await _wait_for_slot(s, failed)
                await asyncio.wait_for(self.bridge.connected.wait(), 30)
            except _NotReady:
                if not self._stop.is_set():
                    raise
            if not self._stop.is_set():  # else stopped while starting: shut down
                ok = await self._simulate(services, f"{base}/ingest/{s.streams['social']}", began)
        finally:
            self._stop.set()
            for task in simulators.values():
                if not task.done():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(task), 30)
                    task.cancel()
            self.bridge.stop()
            ingest_stop.set()
            self.cdc.stop()
            results = await asyncio.gather(*services.values(), return_exceptions=True)
            for (name, _), result in zip(services.items(), results, strict=True):
                if isinstance(result, BaseException):
                    log.error("topology %s failed: %r", name, result)
                    ok = False
            for name, task in simulators.items():
                if task.cancelled() or task.exception() is not None:
                    error = None if task.cancelled() else task.exception()
                    log.error("topology simulator %s failed: %r", name, error)
                    ok = False
                else:
                    self.sent[name] = task.result()
            self.out(self.progress(time.monotonic() - began) + " (stopped)")
            if s.cleanup:
                await self.clean_up()
        return ok

    async def _simulate(
        self, services: dict[str, asyncio.Task[Any]], url: str, began: float
    ) -> bool:
        """Start the simulators, then watch until done or stopped."""
        s = self.settings
        host, port = s.broker
        options: dict[str, Any] = {
            "seed": s.seed,
            "rate": s.rate or None,
            "count": s.count,
            "stop": self._stop,
        }
        self._simulators.update(
            iot=asyncio.create_task(simulate_to_mqtt("iot", host, port, s.topic_prefix, **options)),
            social=asyncio.create_task(self._social(url, options)),
            db=asyncio.create_task(
                simulate_to_postgres("orders", s.postgres, f"public.{s.table}", **options)
            ),
        )
        self.out(f"topology {s.kind} running (Ctrl-C stops)")
        return await self._watch(services, self._simulators, began)

    async def _watch(
        self,
        services: dict[str, asyncio.Task[Any]],
        simulators: dict[str, asyncio.Task[int]],
        began: float,
    ) -> bool:
        """Print progress each second until stopped, a service fails or (with ``count``)
        every record is written."""
        drain_deadline: float | None = None
        next_line = time.monotonic() + 1
        while not self._stop.is_set():
            for name, task in services.items():
                if task.done():
                    log.error("topology %s stopped unexpectedly", name)
                    return False
            for name, task in simulators.items():
                if task.done() and (task.cancelled() or task.exception() is not None):
                    log.error("topology simulator %s failed", name)
                    return False
            if all(task.done() for task in simulators.values()):
                if self.settings.count is None:
                    return True  # stopped meanwhile
                written = self.written()
                if all(written[source] >= self.settings.count for source in SOURCES):
                    return True
                if drain_deadline is None:
                    drain_deadline = time.monotonic() + self.settings.drain_timeout
                elif time.monotonic() > drain_deadline:
                    log.error("topology: not every record written written=%s", written)
                    return False
            now = time.monotonic()
            if now >= next_line:
                self.out(self.progress(now - began))
                next_line += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.05)
        return True

    async def clean_up(self) -> None:
        """Drop what a run creates: streams, slot, publication, table, MQTT session."""
        import psycopg
        from psycopg import sql

        s = self.settings
        async with await psycopg.AsyncConnection.connect(s.postgres, autocommit=True) as conn:
            await conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                " WHERE slot_name = %s AND NOT active",
                [s.slot],
            )
            await conn.execute(
                sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(s.slot))
            )
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(s.table)))
        async with KinesisClient(**s.client) as kinesis:
            for stream in sorted(set(s.streams.values())):
                with contextlib.suppress(ResourceNotFoundException):
                    await kinesis.delete_stream(stream)
        await asyncio.to_thread(_mqtt_session, s, False)
        self.out(f"topology {s.kind} cleaned up (prefix {s.prefix})")
