"""``GET /features/<table>/<key>``: a small ASGI app over an online store, on Hypercorn."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

from headwater.asgi import accept_lifespan, send_json
from headwater.delivery.online.store import OnlineStore


def features_app(store: OnlineStore):
    async def app(scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            await accept_lifespan(receive, send)
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
        await send_json(send, status, body)

    return app


async def serve_features(store: OnlineStore, host: str, port: int, stop: asyncio.Event) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    await serve(features_app(store), config, shutdown_trigger=stop.wait)
