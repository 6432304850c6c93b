"""The ASGI application: routes, bounded body reading, and the service's lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from headwater.dashboard import Dashboard
from headwater.dashboard.routes import PREFIX as DASHBOARD_PREFIX
from headwater.server.kinesis_endpoint import (
    MAX_BODY_BYTES,
    KinesisEndpoint,
    Response,
    StreamingResponse,
)
from headwater.service.clock import AdjustableClock
from headwater.service.service import StreamService

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ADMIN_PREFIX = "/_headwater/"


async def _read_body(receive: Receive, declared: int | None, limit: int) -> bytes | None:
    """The request body, or None once it is known to exceed ``limit`` (nothing more kept)."""
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, response: Response, *, close: bool = False) -> None:
    headers = [*response.headers, (b"content-length", str(len(response.body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def _stream(receive: Receive, send: Send, response: StreamingResponse) -> None:
    """Send chunks as they come; stop producing them as soon as the client goes away."""

    async def pump() -> None:
        await send({"type": "http.response.start", "status": 200, "headers": response.headers})
        try:
            async for chunk in response.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await response.chunks.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    producer = asyncio.ensure_future(pump())
    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (producer, watcher):
            task.cancel()
        await asyncio.gather(producer, watcher, return_exceptions=True)
    if producer.done() and not producer.cancelled() and producer.exception() is not None:
        log.warning("event stream ended early: %s", producer.exception())


def _json(status: int, value: object) -> Response:
    return Response(status, [(b"content-type", b"application/json")], msgspec.json.encode(value))


class HeadwaterApp:
    """Serves the Kinesis API at any path, plus a few admin routes under /_headwater/ and,
    unless disabled, the dashboard (``GET /`` from a browser and /_dashboard/)."""

    def __init__(
        self,
        service: StreamService,
        endpoint: KinesisEndpoint,
        dev_clock: AdjustableClock | None = None,
        *,
        dashboard: bool = True,
        credentials: Mapping[str, str] | None = None,
        background: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self.dev_clock = dev_clock
        self.dashboard = Dashboard(service, credentials) if dashboard else None
        self.background = background  # run from startup until shutdown (lag watcher, ...)
        self._tasks: list[asyncio.Task[None]] = []

    def end_event_streams(self) -> None:
        """Call as shutdown begins: open dashboard pages would otherwise hold the drain of
        connections for the whole graceful timeout."""
        if self.dashboard is not None:
            self.dashboard.hub.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.service.start()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if self.dashboard is not None:
                    self.dashboard.start()
                self._tasks = [asyncio.create_task(run()) for run in self.background]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                if self.dashboard is not None:
                    await self.dashboard.close()
                await self.service.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/metrics" and method == "GET":
            body = generate_latest(self.service.metrics.registry)
            await _send(
                send, Response(200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], body)
            )
            return
        if path.startswith(ADMIN_PREFIX):
            await _send(send, await self._admin(method, path, scope))
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        # Kinesis calls are POSTs to "/": they skip the dashboard without a header lookup.
        if self.dashboard is not None and (method == "GET" or path.startswith(DASHBOARD_PREFIX)):
            by_name = dict(headers)
            if self.dashboard.serves(method, path, by_name):
                await self._dashboard(self.dashboard, scope, receive, send, by_name)
                return
        declared = _declared_length(headers)
        body = await _read_body(receive, declared, MAX_BODY_BYTES)
        raw_path = scope.get("raw_path") or path.encode()
        response = await self.endpoint.handle(
            method,
            raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            body,
        )
        if isinstance(response, StreamingResponse):
            await _stream(receive, send, response)
            return
        # An oversized body was not read to its end: the connection cannot be reused.
        await _send(send, response, close=body is None)

    @staticmethod
    async def _dashboard(
        dashboard: Dashboard, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        response = await dashboard.handle(scope["method"], scope["path"], query, headers)
        if isinstance(response, StreamingResponse):
            await _stream(receive, send, response)
        else:
            await _send(send, response)

    async def _admin(self, method: str, path: str, scope: Scope) -> Response:
        route = path[len(ADMIN_PREFIX) :]
        if route == "health" and method == "GET":
            return _json(200, {"status": "ok", "streams": len(self.service.registry.streams)})
        if route == "clock/advance" and method == "POST" and self.dev_clock is not None:
            query = dict(
                part.split("=", 1)
                for part in scope.get("query_string", b"").decode().split("&")
                if "=" in part
            )
            try:
                self.dev_clock.advance(int(query.get("ms", "0")))
            except ValueError as exc:
                return _json(400, {"error": str(exc)})
            return _json(200, {"now_ms": self.dev_clock.now_ms()})
        return _json(404, {"error": "not found"})


def _declared_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name == "content-length":
            return int(value) if value.isdigit() else None
    return None
