"""The consumer for synchronous code: blocking ``run`` and ``for record in consumer``.

The async consumer runs on its own loop thread. Handlers run on a worker thread
(``asyncio.to_thread``), so a slow handler never delays lease renewals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from headwater.client.consumer.consumer import Consumer
from headwater.client.loop_thread import LoopThread
from headwater.client.records import Record

_END = object()


class SyncConsumer:
    """``SyncConsumer("stream", "app", endpoint_url=...)``; same arguments as ``Consumer``."""

    def __init__(self, stream: str, application: str, **options: Any) -> None:
        self._thread = LoopThread("headwater-consumer")

        async def create() -> Consumer:
            return Consumer(stream, application, **options)

        self._consumer = self._thread.run(create())
        self._stop: asyncio.Event = self._thread.run(self._make_event())

    @staticmethod
    async def _make_event() -> asyncio.Event:
        return asyncio.Event()

    @property
    def consumer(self) -> Consumer:
        return self._consumer

    def on_batch(self, handler: Callable[[list[Record]], None]) -> Callable[[list[Record]], None]:
        async def in_thread(records: list[Record]) -> None:
            await asyncio.to_thread(handler, records)

        self._consumer.on_batch(in_thread)
        return handler

    def on_record(self, handler: Callable[[Record], None]) -> Callable[[Record], None]:
        def per_batch(records: list[Record]) -> None:
            for record in records:
                handler(record)

        self.on_batch(per_batch)
        return handler

    def run(self) -> None:
        """Process until ``stop()`` is called from another thread (or Ctrl-C)."""

        async def main() -> None:
            await self._consumer.start()
            await self._stop.wait()

        try:
            self._thread.run(main())
        finally:
            self.close()

    def stop(self) -> None:
        self._thread.loop.call_soon_threadsafe(self._stop.set)

    def __iter__(self) -> Iterator[Record]:
        records = self._consumer.__aiter__()

        async def step() -> object:
            return await anext(records, _END)

        while True:
            item = self._thread.run(step())
            if item is _END:
                return
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop gracefully (checkpoints, lease release), then end the loop thread."""
        if self._thread.loop.is_closed():
            return
        try:
            self._thread.run(self._consumer.stop())
        finally:
            self._thread.stop()

    def __enter__(self) -> SyncConsumer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
