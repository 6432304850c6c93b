"""The producer for synchronous code: same behaviour, blocking calls, its own loop thread."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from typing import Any

from headwater.client.loop_thread import LoopThread, bridge
from headwater.client.producer.config import ProducerConfig
from headwater.client.producer.metrics import ProducerMetrics
from headwater.client.producer.producer import Producer
from headwater.client.records import PutResult, encode_json

Data = bytes | bytearray | memoryview | str


class SyncProducer:
    """``with SyncProducer("stream", endpoint_url=...) as producer: producer.put(b"x", "key")``."""

    def __init__(
        self, stream: str, *, config: ProducerConfig | None = None, **client_options: Any
    ) -> None:
        self._thread = LoopThread("headwater-producer")

        async def create() -> Producer:
            producer = Producer(stream, config=config, **client_options)
            await producer.start()
            return producer

        try:
            self._producer = self._thread.run(create())
        except BaseException:
            self._thread.stop()
            raise

    @property
    def metrics(self) -> ProducerMetrics:
        return self._producer.metrics

    def __enter__(self) -> SyncProducer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def put(
        self, data: Data, partition_key: str, *, explicit_hash_key: str | None = None
    ) -> concurrent.futures.Future[PutResult]:
        """Buffer a record, blocking while the buffer is full; a future of its result."""

        async def put() -> concurrent.futures.Future[PutResult]:
            future = await self._producer.put(
                data, partition_key, explicit_hash_key=explicit_hash_key
            )
            return bridge(future)

        return self._thread.run(put())

    def put_nowait(
        self, data: Data, partition_key: str, *, explicit_hash_key: str | None = None
    ) -> concurrent.futures.Future[PutResult]:
        """Buffer a record or raise ``BufferFullError`` at once."""

        async def put() -> concurrent.futures.Future[PutResult]:
            future = self._producer.put_nowait(
                data, partition_key, explicit_hash_key=explicit_hash_key
            )
            return bridge(future)

        return self._thread.run(put())

    def put_many(
        self, records: Iterable[tuple[Data, str]]
    ) -> list[concurrent.futures.Future[PutResult]]:
        """Buffer many ``(data, partition_key)`` records with one hop to the loop thread."""
        items = list(records)

        async def put_all() -> list[concurrent.futures.Future[PutResult]]:
            return [bridge(await self._producer.put(data, key)) for data, key in items]

        return self._thread.run(put_all())

    def put_json(self, value: Any, partition_key: str) -> concurrent.futures.Future[PutResult]:
        return self.put(encode_json(value), partition_key)

    def flush(self, timeout: float | None = None) -> None:
        self._thread.run(self._producer.flush(timeout))

    def close(self, timeout: float | None = None) -> None:
        """Flush, then stop the loop thread."""
        try:
            self._thread.run(self._producer.close(timeout))
        finally:
            self._thread.stop()
