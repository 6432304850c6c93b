"""The MQTT bridge: topic filters → Kinesis streams, like AWS IoT Core rules.

paho-mqtt's network thread receives messages; they are handed to the asyncio loop, turned
into records by every rule whose topic filter matches, and put through one
``Producer`` per stream. A QoS 1/2 message is acknowledged to the broker (manual acks) only
once every record made from it is durably written, in the order messages arrived, so a stop
or a crash of the bridge loses nothing: with a persistent session (``clean_session = false``)
the broker redelivers every message it has not seen acknowledged.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from headwater.client import KinesisClient, Producer, PutResult, RecordFailedError
from headwater.client.backoff import Backoff
from headwater.config_files import read_toml
from headwater.sources.common import (
    ConfigError,
    client_options,
    producer_config,
    utc_now_iso,
)
from headwater.sources.templates import KeyTemplate, TemplateError

log = logging.getLogger(__name__)

_json_decode = msgspec.json.Decoder().decode
_json_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Rule:
    """Messages on ``topic`` (an MQTT filter: ``+`` and ``#``) go to ``stream``."""

    topic: str
    stream: str
    partition_key: str = "${topic()}"
    enrich: bool = True
    source_type: str = "iot"
    qos: int = 1
    key: KeyTemplate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.qos not in (0, 1, 2):
            raise ConfigError(f"rule {self.topic!r}: qos must be 0, 1 or 2")
        try:
            object.__setattr__(self, "key", KeyTemplate(self.partition_key))
        except TemplateError as error:
            raise ConfigError(f"rule {self.topic!r}: {error}") from error

    def matches(self, topic: str) -> bool:
        return mqtt.topic_matches_sub(self.topic, topic)

    def record(self, topic: str, payload: bytes, received_at: str) -> tuple[bytes, str]:
        """The record's data and partition key for one message."""
        try:
            document: Any = _json_decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError):
            document = None
            parsed = False
        else:
            parsed = True
        key = self.key.render(topic, document)
        if not self.enrich:
            return payload, key
        meta = {"source_type": self.source_type, "topic": topic, "received_at": received_at}
        if parsed and isinstance(document, dict):
            body = {**document, **meta}
        elif parsed:
            body = {**meta, "payload": document}
        else:
            try:
                body = {**meta, "payload": payload.decode()}
            except UnicodeDecodeError:
                body = {**meta, "payload_base64": base64.b64encode(payload).decode()}
        return _json_encode(body), key


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""
    clean_session: bool = False
    keepalive: int = 30
    username: str | None = None
    password: str | None = None
    reconnect_min_delay: float = 0.5
    reconnect_max_delay: float = 30.0


@dataclass(frozen=True)
class BridgeConfig:
    mqtt: MqttSettings
    rules: list[Rule]
    client: dict[str, Any]
    producer: dict[str, Any]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> BridgeConfig:
        table = dict(document.get("mqtt", {}))
        rules = table.pop("rules", [])
        if not rules:
            raise ConfigError("the bridge needs at least one [[mqtt.rules]] entry")
        try:
            settings = MqttSettings(**table)
            parsed = [Rule(**rule) for rule in rules]
        except TypeError as error:
            raise ConfigError(f"bad [mqtt] configuration: {error}") from error
        if not settings.client_id:
            if not settings.clean_session:
                raise ConfigError("a persistent session (clean_session = false) needs client_id")
            settings = MqttSettings(**{**table, "client_id": f"headwater-{uuid.uuid4().hex}"})
        producer = document.get("kinesis", {}).get("producer", {})
        return cls(settings, parsed, client_options(document), producer)

    @classmethod
    def load(cls, path: str | Path) -> BridgeConfig:
        return cls.from_document(read_toml(path, ConfigError))


@dataclass
class _Message:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: str


class MqttBridge:
    """Forwards MQTT messages to streams; ``run`` until ``stop``."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.forwarded = 0
        self.connected = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[_Message] = asyncio.Queue()
        self._acks: collections.deque[tuple[_Message, list[asyncio.Future[PutResult]]]] = (
            collections.deque()
        )
        self._ack_ready = asyncio.Event()
        self._drained = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._client: mqtt.Client | None = None
        self._producers: dict[str, Producer] = {}
        self._kinesis: KinesisClient | None = None

    # -- paho's thread ------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("mqtt connect refused reason=%s", reason_code)
            return
        topics = [(rule.topic, rule.qos) for rule in self.config.rules]
        client.subscribe(topics)
        log.info(
            "mqtt connected host=%s session_present=%s",
            self.config.mqtt.host,
            flags.session_present,
        )
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        log.warning("mqtt disconnected reason=%s (reconnecting with back-off)", reason_code)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        item = _Message(message.mid, message.qos, message.topic, message.payload, utc_now_iso())
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)

    # -- the asyncio side ---------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        settings = self.config.mqtt
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=settings.clean_session,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        client.reconnect_delay_set(settings.reconnect_min_delay, settings.reconnect_max_delay)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    async def _producer(self, stream: str) -> Producer:
        producer = self._producers.get(stream)
        if producer is None:
            assert self._kinesis is not None
            config = producer_config({"kinesis": {"producer": self.config.producer}}, linger=0.01)
            producer = Producer(stream, client=self._kinesis, config=config)
            await producer.start()
            self._producers[stream] = producer
        return producer

    async def _forward(self, message: _Message) -> None:
        futures: list[asyncio.Future[PutResult]] = []
        for rule in self.config.rules:
            if rule.matches(message.topic):
                data, key = rule.record(message.topic, message.payload, message.received_at)
                producer = await self._producer(rule.stream)
                futures.append(await self._put(producer, data, key))
        self._acks.append((message, futures))
        self._ack_ready.set()

    async def _put(self, producer: Producer, data: bytes, key: str) -> asyncio.Future[PutResult]:
        """Buffer a record; its future is retried here until it is written."""
        done: asyncio.Future[PutResult] = asyncio.get_running_loop().create_future()

        async def until_written() -> None:
            backoff = Backoff(0.2, 10.0)
            attempt = 0
            while True:
                try:
                    done.set_result(await (await producer.put(data, key)))
                    return
                except RecordFailedError as error:
                    attempt += 1
                    log.error("put failed stream=%s error=%s (retrying)", producer.stream, error)
                    await asyncio.sleep(backoff.delay(attempt))

        task = asyncio.create_task(until_written())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return done

    async def _receive(self) -> None:
        while True:
            message = await self._inbox.get()
            await self._forward(message)

    async def _acknowledge(self) -> None:
        """Ack messages in arrival order once all their records are written."""
        while True:
            while not self._acks:
                self._drained.set()
                self._ack_ready.clear()
                await self._ack_ready.wait()
            self._drained.clear()
            message, futures = self._acks[0]
            for future in futures:
                await future
            self._acks.popleft()
            if message.qos > 0 and self._client is not None:
                self._client.ack(message.mid, message.qos)
            self.forwarded += 1

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._kinesis = KinesisClient(**self.config.client)
        for rule in self.config.rules:  # learn each stream's shards before messages come
            await self._producer(rule.stream)
        client = self._client = self._make_client()
        settings = self.config.mqtt
        client.connect_async(settings.host, settings.port, settings.keepalive)
        client.loop_start()
        receiver = asyncio.create_task(self._receive(), name="mqtt-receive")
        acker = asyncio.create_task(self._acknowledge(), name="mqtt-ack")
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({stopping, receiver, acker}, return_when=asyncio.FIRST_COMPLETED)
            for task in (receiver, acker):
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # a bug or an unusable stream: stop, ack nothing
        finally:
            stopping.cancel()
            # Stop taking messages; what was received but not written stays unacked and is
            # redelivered by the broker to the next session.
            receiver.cancel()
            for producer in self._producers.values():
                with contextlib.suppress(Exception):
                    await producer.flush(timeout=10)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), timeout=10)
            acker.cancel()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(receiver, acker, return_exceptions=True)
            client.disconnect()
            client.loop_stop()
            for producer in self._producers.values():
                with contextlib.suppress(Exception):
                    await producer.close(timeout=5)
            await self._kinesis.aclose()
            log.info("mqtt bridge stopped forwarded=%d", self.forwarded)

    def stop(self) -> None:
        self._stopping.set()
