"""Server-Sent Events: every connected page gets each update the sampler publishes.

A bounded number of clients, each with a small queue: a page that falls that far behind is
disconnected rather than slowing the others or growing memory; its browser reconnects
(EventSource does by itself) and starts again from the current state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec

MAX_CLIENTS = 16
QUEUE_UPDATES = 8
RETRY_MS = 2000  # how soon a browser reconnects after losing the stream


def sse_message(event: str, value: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + msgspec.json.encode(value) + b"\n\n"


class EventHub:
    def __init__(self, max_clients: int = MAX_CLIENTS) -> None:
        self.max_clients = max_clients
        self._queues: set[asyncio.Queue[bytes | None]] = set()

    @property
    def clients(self) -> int:
        return len(self._queues)

    def publish(self, message: bytes) -> None:
        for queue in self._queues:
            if queue.full():
                _end(queue)
            else:
                queue.put_nowait(message)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        for queue in self._queues:
            _end(queue)

    def subscribe(self, first: list[bytes]) -> AsyncIterator[bytes] | None:
        """A client's stream of messages, starting with ``first``; None when full."""
        if len(self._queues) >= self.max_clients:
            return None
        return self._stream(first)

    async def _stream(self, first: list[bytes]) -> AsyncIterator[bytes]:
        # Registered only once the response really starts, so a client gone before that
        # holds no slot; clients that raced past ``subscribe`` together end at once.
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_UPDATES)
        self._queues.add(queue)
        try:
            if len(self._queues) > self.max_clients:
                return
            yield f"retry: {RETRY_MS}\n\n".encode() + b"".join(first)
            while (message := await queue.get()) is not None:
                yield message
        finally:
            self._queues.discard(queue)


def _end(queue: asyncio.Queue[bytes | None]) -> None:
    """Drop what the page has not read yet and end its stream."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)
