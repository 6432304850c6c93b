"""A no-op Kinesis endpoint: the ceiling of HTTP + request parsing on this machine.

It reads and parses each request body like a real server, then answers PutRecords with a
well-formed response (fake sequence numbers) without storing anything; every other operation
gets ``{}``. It is served exactly as Headwater is: Hypercorn on uvloop, with the config
Headwater's runner builds.

Usage: python bench/noop_server.py --port PORT
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

import msgspec
import uvloop
from hypercorn.asyncio import serve as hypercorn_serve

# The very configuration Headwater serves with, so both pay the same HTTP cost.
from headwater.server.runner import ServerSettings, hypercorn_config

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON_TYPE = b"application/x-amz-json-1.1"
PUT_RECORDS = b"Kinesis_20131202.PutRecords"
FAKE_SEQUENCE = "4" * 56
FAKE_SHARD = "shardId-000000000000"


class PutRecordsEntry(msgspec.Struct):
    Data: bytes  # base64 in JSON: decoded, as any server must
    PartitionKey: str
    ExplicitHashKey: str | None = None


class PutRecordsRequest(msgspec.Struct):
    """The whole request, parsed; nothing is done with it."""

    StreamName: str | None = None
    StreamARN: str | None = None
    Records: list[PutRecordsEntry] = []


_decode_put = msgspec.json.Decoder(PutRecordsRequest).decode


@lru_cache(maxsize=512)
def put_records_answer(count: int) -> bytes:
    """A well-formed PutRecords response for ``count`` records (cached per count)."""
    entry = {"SequenceNumber": FAKE_SEQUENCE, "ShardId": FAKE_SHARD}
    return msgspec.json.encode({"FailedRecordCount": 0, "Records": [entry] * count})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", JSON_TYPE), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI application."""
    if scope["type"] == "lifespan":
        # startup → complete; then wait for shutdown.
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    body = await _read_body(receive)
    target = next((v for k, v in scope["headers"] if k == b"x-amz-target"), b"")
    if target != PUT_RECORDS:
        await _answer(send, 200, b"{}")
        return
    try:
        count = len(_decode_put(body).Records)
    except msgspec.DecodeError:
        await _answer(send, 400, b'{"__type": "SerializationException"}')
        return
    await _answer(send, 200, put_records_answer(count))


async def _serve(host: str, port: int) -> None:
    """Headwater's own server wiring (Hypercorn on uvloop, same config), this app instead."""
    settings = ServerSettings(host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=stop.wait)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
