"""HTTP ingest: ``POST /ingest/<stream>`` with a JSON object, a JSON array or NDJSON.

A small ASGI app of its own (served by Hypercorn, ``headwater ingest CONFIG``), writing through
one ``Producer`` per route. A request is all or nothing at the edge: the body is read (within
the route's size limit) and every record parsed and checked before any is buffered, and the
answer (200) is sent only once every record is durably written. 401 for a missing or wrong
token, 404 for an unknown route, 400 for a bad body, 413 for a body over the limit, 429 with
``Retry-After`` when the producer's buffer has no room for the request (back-pressure).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from headwater.asgi import accept_lifespan, send_json
from headwater.client import (
    BufferFullError,
    KinesisClient,
    Producer,
    PutResult,
    RecordFailedError,
)
from headwater.config_files import read_toml
from headwater.sources.common import (
    ConfigError,
    client_options,
    producer_config,
    utc_now_iso,
)
from headwater.sources.templates import KeyTemplate, TemplateError

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

DEFAULT_MAX_BODY = 1024 * 1024
MAX_RECORDS_PER_REQUEST = 10_000


@dataclass(frozen=True)
class Route:
    stream: str
    token: str | None = None
    partition_key: str = "${newuuid()}"
    enrich: bool = True
    source_type: str = "http"
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_records: int = 1000
    key: KeyTemplate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "key", KeyTemplate(self.partition_key))
        except TemplateError as error:
            raise ConfigError(f"route {self.stream!r}: {error}") from error
        if self.max_body_bytes < 1 or not 1 <= self.max_records <= MAX_RECORDS_PER_REQUEST:
            raise ConfigError(f"route {self.stream!r}: limits out of range")


@dataclass(frozen=True)
class IngestConfig:
    routes: dict[str, Route]
    host: str = "127.0.0.1"
    port: int = 8080
    client: dict[str, Any] = field(default_factory=dict)
    producer: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> IngestConfig:
        table = dict(document.get("ingest", {}))
        routes = table.pop("routes", [])
        if not routes:
            raise ConfigError("ingest needs at least one [[ingest.routes]] entry")
        try:
            parsed = [Route(**route) for route in routes]
            config = cls(
                {route.stream: route for route in parsed},
                **table,
                client=client_options(document),
                producer=document.get("kinesis", {}).get("producer", {}),
            )
        except TypeError as error:
            raise ConfigError(f"bad [ingest] configuration: {error}") from error
        if len(config.routes) != len(parsed):
            raise ConfigError("two routes name the same stream")
        return config

    @classmethod
    def load(cls, path: str | Path) -> IngestConfig:
        return cls.from_document(read_toml(path, ConfigError))


class RecordSink(Protocol):
    """What a route writes to: a ``Producer`` (or a stand-in in tests)."""

    config: Any

    @property
    def buffered(self) -> tuple[int, int]: ...

    def put_nowait(self, data: bytes, partition_key: str) -> asyncio.Future[PutResult]: ...


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


def parse_body(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """A JSON object, a JSON array of objects, or NDJSON (one object per line)."""
    if not body.strip():
        raise HttpError(400, "empty body")
    documents: list[Any]
    try:
        whole = _decode(body)
    except msgspec.DecodeError:
        whole = msgspec.UNSET
    if whole is not msgspec.UNSET and "ndjson" not in content_type:
        documents = whole if isinstance(whole, list) else [whole]
    else:
        documents = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(_decode(line))
            except msgspec.DecodeError as error:
                raise HttpError(400, f"line {number} is not valid JSON: {error}") from None
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise HttpError(400, f"record {index} is not a JSON object")
    if not documents:
        raise HttpError(400, "no records in the body")
    return documents


class IngestApp:
    """The ASGI app. ``sinks`` maps a route's stream to its producer."""

    def __init__(self, config: IngestConfig, sinks: dict[str, RecordSink]) -> None:
        self.config = config
        self.sinks = sinks

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await accept_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, answer = await self._handle(scope, receive)
            headers: list[tuple[bytes, bytes]] = []
        except HttpError as error:
            status, answer, headers = error.status, {"error": error.message}, error.headers
        await send_json(send, status, answer, headers)

    async def _handle(self, scope, receive) -> tuple[int, Any]:
        path: str = scope["path"]
        if path == "/health":
            return 200, {"status": "ok"}
        if not path.startswith("/ingest/"):
            raise HttpError(404, "not found")
        route = self.config.routes.get(path.removeprefix("/ingest/"))
        if route is None:
            raise HttpError(404, f"no route for {path}")
        if scope["method"] != "POST":
            raise HttpError(405, "use POST", [(b"allow", b"POST")])
        headers = {name.lower(): value for name, value in scope["headers"]}
        self._authorize(route, headers)
        body = await self._read_body(route, headers, receive)
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        documents = parse_body(body, content_type)
        if len(documents) > route.max_records:
            raise HttpError(413, f"at most {route.max_records} records per request")
        received_at = utc_now_iso()
        records = []
        for document in documents:
            key = route.key.render(route.stream, document)
            if route.enrich:
                document = {**document, "source_type": route.source_type}
                document.setdefault("received_at", received_at)
            records.append((_encode(document), key))
        results = await self._write(route, records)
        return 200, {
            "accepted": len(results),
            "records": [
                {"shard_id": r.shard_id, "sequence_number": r.sequence_number} for r in results
            ],
        }

    @staticmethod
    def _authorize(route: Route, headers: dict[bytes, bytes]) -> None:
        if route.token is None:
            return
        given = headers.get(b"authorization", b"")
        if given.lower().startswith(b"bearer "):
            given = given[7:].strip()
        else:
            given = headers.get(b"x-headwater-token", b"")
        if not given or not hmac.compare_digest(given, route.token.encode()):
            raise HttpError(401, "missing or wrong token", [(b"www-authenticate", b"Bearer")])

    @staticmethod
    async def _read_body(route: Route, headers: dict[bytes, bytes], receive) -> bytes:
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > route.max_body_bytes:
            raise HttpError(413, f"body larger than {route.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HttpError(400, "client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > route.max_body_bytes:
                raise HttpError(413, f"body larger than {route.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _write(self, route: Route, records: list[tuple[bytes, str]]) -> list[PutResult]:
        sink = self.sinks[route.stream]
        buffered_records, buffered_bytes = sink.buffered
        size = sum(len(data) + len(key.encode()) for data, key in records)
        limits = sink.config
        if (
            buffered_records + len(records) > limits.max_buffered_records
            or buffered_bytes + size > limits.max_buffered_bytes
        ):
            raise HttpError(
                429, "too many records in flight, retry later", [(b"retry-after", b"1")]
            )
        try:
            futures = [sink.put_nowait(data, key) for data, key in records]
        except BufferFullError:  # a race with another request: rare, never silent
            raise HttpError(429, "buffer full, retry later", [(b"retry-after", b"1")]) from None
        try:
            return list(await asyncio.gather(*futures))
        except RecordFailedError as error:
            log.error("ingest write failed stream=%s error=%s", route.stream, error)
            raise HttpError(503, f"the stream did not accept the records: {error.code}") from None


async def serve_ingest(config: IngestConfig, stop: asyncio.Event) -> None:
    """Start one producer per route, serve until ``stop`` is set, flush and close."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HypercornConfig

    kinesis = KinesisClient(**config.client)
    producers: dict[str, Producer] = {}
    try:
        for stream in config.routes:
            settings = producer_config({"kinesis": {"producer": config.producer}}, linger=0.01)
            producers[stream] = Producer(stream, client=kinesis, config=settings)
            await producers[stream].start()
        hypercorn = HypercornConfig()
        host = f"[{config.host}]" if ":" in config.host else config.host
        hypercorn.bind = [f"{host}:{config.port}"]
        hypercorn.accesslog = None
        hypercorn.errorlog = logging.getLogger("hypercorn.error")
        log.info("ingest listening on %s:%d routes=%s", config.host, config.port, list(producers))
        app = IngestApp(config, dict(producers))
        await hypercorn_serve(app, hypercorn, shutdown_trigger=stop.wait)
    finally:
        for producer in producers.values():
            await producer.close(timeout=10)
        await kinesis.aclose()
