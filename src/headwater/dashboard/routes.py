"""The dashboard's HTTP surface: the page at ``GET /`` and everything else under /_dashboard/.

``GET /`` is the page only for a browser (it asks for text/html); any other GET of ``/`` is
still the Kinesis endpoint's, which answers it as AWS does. All routes are read-only GETs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from urllib.parse import parse_qs

import msgspec

from headwater.dashboard.auth import CHALLENGE, BasicAuth, addressed_by_ip_or_localhost
from headwater.dashboard.events import EventHub, sse_message
from headwater.dashboard.records import (
    MAX_FILTER_CHARS,
    MAX_LIMIT,
    MAX_STREAMS,
    RecordBrowser,
    RecordQuery,
)
from headwater.dashboard.sampler import RATE_FIELDS, RateSampler
from headwater.dashboard.static_files import StaticFiles
from headwater.dashboard.topology import topology
from headwater.server.kinesis_endpoint import Response, StreamingResponse
from headwater.service.service import StreamService

log = logging.getLogger(__name__)

PREFIX = "/_dashboard/"
STATIC_PREFIX = PREFIX + "static/"
MAX_QUERY_CHARS = 4096
SAMPLE_INTERVAL_S = 1.0
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_PAGE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (b"cache-control", b"no-cache"),
]


class BadRequest(ValueError):
    """A query parameter out of its bounds; the message says which."""


def _json(status: int, value: object) -> Response:
    headers = [
        (b"content-type", b"application/json"),
        (b"cache-control", b"no-store"),
        *_SECURITY_HEADERS,
    ]
    return Response(status, headers, msgspec.json.encode(value))


class Dashboard:
    """Samples the service once a second and serves the page, its data and live updates."""

    def __init__(
        self,
        service: StreamService,
        credentials: Mapping[str, str] | None = None,
        sample_interval_s: float = SAMPLE_INTERVAL_S,
    ) -> None:
        self.service = service
        self.auth = BasicAuth(credentials)
        self.static = StaticFiles()
        self.sampler = RateSampler(service.metrics)
        self.hub = EventHub()
        self.browser = RecordBrowser(service.records)
        self.sample_interval_s = sample_interval_s
        self._topology_message = b""
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample_loop())

    async def close(self) -> None:
        self.hub.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sample_loop(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("dashboard sampling failed")
            await asyncio.sleep(self.sample_interval_s)

    def tick(self) -> None:
        """One sample; pages get the rates, and the topology when it changed."""
        sampled_at = self.sampler.sample(self.service.registry.streams)
        if not self.hub.clients:
            return
        message = sse_message("topology", topology(self.service))
        if message != self._topology_message:
            self._topology_message = message
            self.hub.publish(message)
        self.hub.publish(sse_message("rates", self._rates(sampled_at)))

    def _rates(self, sampled_at: float) -> dict:
        lags = self.sampler.lags()
        return {
            "t": sampled_at,
            "fields": RATE_FIELDS,
            "streams": {
                name: {
                    "rates": rates,
                    "iterator_age_ms": lags.iterator_age_ms.get(name),
                    "consumers_behind_ms": lags.consumers_ms.get(name, {}),
                    "applications_behind_ms": lags.applications_ms.get(name, {}),
                }
                for name, rates in self.sampler.latest.items()
            },
        }

    # -- HTTP -----------------------------------------------------------------------------

    @staticmethod
    def serves(method: str, path: str, headers: Mapping[str, str]) -> bool:
        if path.startswith(PREFIX):
            return True
        return path == "/" and method == "GET" and "text/html" in headers.get("accept", "")

    async def handle(
        self, method: str, path: str, query_string: str, headers: Mapping[str, str]
    ) -> Response | StreamingResponse:
        if self.auth.open and not addressed_by_ip_or_localhost(headers.get("host")):
            return _json(403, {"error": "open dashboard: address it by IP or localhost"})
        if not self.auth.allows(headers.get("authorization")):
            return Response(
                401,
                [(b"www-authenticate", CHALLENGE), *_SECURITY_HEADERS],
                b"authentication required\n",
            )
        if method != "GET":
            return _json(405, {"error": "the dashboard is read-only: GET only"})
        if len(query_string) > MAX_QUERY_CHARS:
            return _json(414, {"error": f"query longer than {MAX_QUERY_CHARS} characters"})
        try:
            return await self._route(path, _parse_query(query_string))
        except BadRequest as error:
            return _json(400, {"error": str(error)})

    async def _route(self, path: str, query: dict[str, list[str]]) -> Response | StreamingResponse:
        if path == "/":
            return self._file("index.html", _PAGE_HEADERS)
        if path.startswith(STATIC_PREFIX):
            return self._file(path[len(STATIC_PREFIX) :], [(b"cache-control", b"no-cache")])
        route = path[len(PREFIX) :]
        if route == "api/topology":
            return _json(200, topology(self.service))
        if route == "api/history":
            name = _one(query, "stream", "")
            return _json(200, {"fields": RATE_FIELDS, "points": self.sampler.history(name)})
        if route == "api/records":
            return _json(200, await self.browser.query(_record_query(query)))
        if route == "api/events":
            return self._events()
        return _json(404, {"error": "not found"})

    def _file(self, name: str, extra: list[tuple[bytes, bytes]]) -> Response:
        found = self.static.get(name)
        if found is None:
            return _json(404, {"error": "not found"})
        content_type, body = found
        headers = [(b"content-type", content_type.encode()), *extra, *_SECURITY_HEADERS]
        return Response(200, headers, body)

    def _events(self) -> Response | StreamingResponse:
        stream = self.hub.subscribe([sse_message("topology", topology(self.service))])
        if stream is None:
            return _json(503, {"error": "too many dashboard pages open; close one"})
        headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
            *_SECURITY_HEADERS,
        ]
        return StreamingResponse(headers, stream)


def _parse_query(query_string: str) -> dict[str, list[str]]:
    try:
        return parse_qs(query_string, max_num_fields=32)
    except ValueError as error:  # too many fields
        raise BadRequest(str(error)) from None


def _one(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise BadRequest(f"give {name} once")
    if len(values[0]) > MAX_FILTER_CHARS:
        raise BadRequest(f"{name} is longer than {MAX_FILTER_CHARS} characters")
    return values[0]


def _bounded_int(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    return int(text)


def _record_query(query: dict[str, list[str]]) -> RecordQuery:
    streams = tuple(dict.fromkeys(query.get("stream", [])))
    if not 1 <= len(streams) <= MAX_STREAMS:
        raise BadRequest(f"name 1 to {MAX_STREAMS} streams (stream=NAME, repeated)")
    since = _one(query, "since_ms", "")
    return RecordQuery(
        streams=streams,
        limit=_bounded_int(_one(query, "limit", "100"), "limit", 1, MAX_LIMIT),
        key=_one(query, "key", ""),
        text=_one(query, "text", ""),
        shard=_one(query, "shard", ""),
        since_ms=_bounded_int(since, "since_ms", 0, 2**53) if since else None,
    )
