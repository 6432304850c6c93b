"""``GET /features/<table>/<key>``: a small ASGI app over an online store, on Hypercorn."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import msgspec

from headwater.delivery.online.store import OnlineStore

_encoder = msgspec.json.Encoder()


def features_app(store: OnlineStore):
    async def app(scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        parts = scope["path"].strip("/").split("/")
        status, body = 404, {"message": "not found"}
        if scope["method"] != "GET":
            status, body = 405, {"message": "method not allowed"}
        elif len(parts) == 3 and parts[0] == "features":
            table, key = unquote(parts[1]), unquote(parts[2])
            feature = await asyncio.to_thread(store.get, table, key)
            if feature is not None:
                status, body = 200, feature.as_dict()
            else:
                body = {"message": f"no live value for {key!r} in {table!r}"}
        data = _encoder.encode(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    return app


async def serve_features(store: OnlineStore, host: str, port: int, stop: asyncio.Event) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    await serve(features_app(store), config, shutdown_trigger=stop.wait)
