"""The async producer: ``put`` buffers, one sender task batches, paces, sends and retries.

Lifecycle is explicit (``async with Producer(...)`` or ``start``/``close``); ``close``
flushes. Memory is bounded: ``put`` waits while the buffer is full and ``put_nowait``
raises ``BufferFullError`` instead. Each record's future resolves to a ``PutResult`` or
fails with ``RecordFailedError`` (permanent error) / ``RecordExpiredError`` (TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from headwater.client.api import KinesisClient
from headwater.client.backoff import Backoff
from headwater.client.errors import (
    BufferFullError,
    ProducerClosedError,
    RecordFailedError,
    ServiceError,
    error_code,
    is_retryable,
)
from headwater.client.hashing import ShardMap, hash_key_of, parse_hash_key
from headwater.client.producer.batcher import Batch, Batcher, Unit
from headwater.client.producer.buffer import KeyedBuffer, Pending
from headwater.client.producer.config import MAX_RECORD_BYTES, ProducerConfig
from headwater.client.producer.limiter import ShardLimiter
from headwater.client.producer.metrics import ProducerMetrics
from headwater.client.records import PutResult, encode_json, to_bytes
from headwater.client.shapes import PutRecordsResultEntry
from headwater.errors import KinesisError

log = logging.getLogger(__name__)

#: When nothing else bounds a wait, look again after this long (a safety net, not a poll).
IDLE_RECHECK = 0.5
FAR_FUTURE = float("inf")


def _retrieve(future: asyncio.Future[PutResult]) -> None:
    """Mark a failed record's exception as seen: it is counted and logged already."""
    if not future.cancelled():
        future.exception()


class Producer:
    """Writes user records to one stream through PutRecords calls."""

    def __init__(
        self,
        stream: str,
        *,
        client: KinesisClient | None = None,
        config: ProducerConfig | None = None,
        **client_options: Any,
    ) -> None:
        self.stream = stream
        self.config = config or ProducerConfig()
        self._owns_client = client is None
        self.client = client or KinesisClient(**client_options)
        self.metrics = ProducerMetrics()
        self._shards = ShardMap()
        self._buffer = KeyedBuffer(self._shard_of)
        self._limiter = ShardLimiter(self.config.shard_rate)
        self._batcher = Batcher(self._buffer, self._limiter, self.config, self._expire)
        self._backoff = Backoff(self.config.backoff_base, self.config.backoff_cap)
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._last_refresh = -FAR_FUTURE
        self._linger_from: float | None = None
        self._flushing = 0
        self._closing = False
        self._stopped = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def buffered(self) -> tuple[int, int]:
        """Records and bytes not yet settled (queued or in flight)."""
        return self._buffer.records, self._buffer.bytes

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Producer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Learn the shard map (for pacing) and start the sender."""
        if self._sender is not None:
            return
        await self._refresh_shards()
        self._sender = asyncio.create_task(self._run(), name=f"producer-{self.stream}")

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything buffered now, without lingering; wait until all is settled."""
        self._flushing += 1
        self._wake.set()
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        finally:
            self._flushing -= 1

    async def close(self, timeout: float | None = None) -> None:
        """Flush, stop the sender and close the HTTP client (if the producer made it)."""
        if self._sender is None:
            if self._owns_client:
                await self.client.aclose()
            return
        self._closing = True
        try:
            await self.flush(timeout)
        finally:
            self._stopped = True
            self._wake.set()
            await self._sender
            if self._refresher is not None:
                self._refresher.cancel()
            self._sender = None
            if self._owns_client:
                await self.client.aclose()

    # -- putting records -----------------------------------------------------------------

    def _admit(
        self, data: bytes | bytearray | memoryview | str, partition_key: str, explicit_hash_key
    ) -> Pending:
        if self._closing:
            raise ProducerClosedError("producer is closing")
        if self._sender is None:
            raise ProducerClosedError("producer not started (use 'async with' or start())")
        payload = to_bytes(data)
        if not 1 <= len(partition_key) <= 256:
            raise ValueError("partition key must have 1 to 256 characters")
        if len(payload) + len(partition_key.encode()) > MAX_RECORD_BYTES:
            raise ValueError("record data plus partition key exceed 1 MiB")
        if explicit_hash_key is not None:
            hash_key = parse_hash_key(explicit_hash_key)
        else:
            hash_key = hash_key_of(partition_key)
        now = time.monotonic()
        ttl = self.config.record_ttl
        future: asyncio.Future[PutResult] = asyncio.get_running_loop().create_future()
        deadline = now + ttl if ttl is not None else FAR_FUTURE
        return Pending(payload, partition_key, explicit_hash_key, hash_key, future, now, deadline)

    def _has_room(self, size: int) -> bool:
        buffer = self._buffer
        return (
            buffer.records < self.config.max_buffered_records
            and buffer.bytes + size <= self.config.max_buffered_bytes
        )

    def _enqueue(self, pending: Pending) -> asyncio.Future[PutResult]:
        self._buffer.add(pending)
        self._idle.clear()
        if self._linger_from is None:
            self._linger_from = pending.enqueued
        self._wake.set()
        return pending.future

    async def put(
        self,
        data: bytes | bytearray | memoryview | str,
        partition_key: str,
        *,
        explicit_hash_key: str | None = None,
    ) -> asyncio.Future[PutResult]:
        """Buffer a record, waiting for room; the future settles when it is written or fails."""
        pending = self._admit(data, partition_key, explicit_hash_key)
        while not self._has_room(pending.size):
            self._space.clear()
            await self._space.wait()
            if self._closing:
                raise ProducerClosedError("producer closed while waiting for buffer room")
        return self._enqueue(pending)

    def put_nowait(
        self,
        data: bytes | bytearray | memoryview | str,
        partition_key: str,
        *,
        explicit_hash_key: str | None = None,
    ) -> asyncio.Future[PutResult]:
        """Buffer a record or raise ``BufferFullError`` at once (non-blocking back-pressure)."""
        pending = self._admit(data, partition_key, explicit_hash_key)
        if not self._has_room(pending.size):
            raise BufferFullError(
                f"buffer full ({self._buffer.records} records, {self._buffer.bytes} bytes)"
            )
        return self._enqueue(pending)

    async def put_and_wait(
        self,
        data: bytes | bytearray | memoryview | str,
        partition_key: str,
        *,
        explicit_hash_key: str | None = None,
    ) -> PutResult:
        """Buffer a record and wait until it is written."""
        return await (await self.put(data, partition_key, explicit_hash_key=explicit_hash_key))

    async def put_json(
        self, value: Any, partition_key: str, *, explicit_hash_key: str | None = None
    ) -> asyncio.Future[PutResult]:
        """Buffer ``value`` encoded as JSON."""
        return await self.put(
            encode_json(value), partition_key, explicit_hash_key=explicit_hash_key
        )

    # -- shard map -----------------------------------------------------------------------

    def _shard_of(self, pending: Pending) -> str | None:
        return self._shards.shard_for(pending.hash_key)

    async def _refresh_shards(self) -> None:
        self._last_refresh = time.monotonic()
        try:
            self._shards = ShardMap(await self.client.list_shards(self.stream))
        except KinesisError as exc:
            log.warning("producer: cannot list shards of %s (%s); pacing off", self.stream, exc)
            return
        self._buffer.regroup()
        self._wake.set()

    def _shard_map_stale(self) -> None:
        if self._refresher is not None and not self._refresher.done():
            return
        if time.monotonic() - self._last_refresh < self.config.shard_map_refresh_interval:
            return
        self._refresher = asyncio.create_task(self._refresh_shards())

    # -- the sender ----------------------------------------------------------------------

    def _linger_left(self, now: float) -> float:
        if self._flushing or self._closing or self._linger_from is None:
            return 0.0
        if self._buffer.ready_keys >= self.config.max_batch_records:
            return 0.0
        if not self.config.ordered and self._buffer.queued >= self.config.max_batch_records:
            return 0.0
        return self.config.linger - (now - self._linger_from)

    async def _run(self) -> None:
        while not self._stopped:
            self._wake.clear()
            try:
                timeout = self._step(time.monotonic())
            except Exception:  # keep sending: a dead sender would hang every flush
                log.exception("producer: sender step failed")
                timeout = IDLE_RECHECK
            if timeout is None:
                continue
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()

    def _step(self, now: float) -> float | None:
        """Send one call if possible (None: look again at once), else how long to wait."""
        next_retry = self._buffer.promote(now)
        wait = IDLE_RECHECK
        if next_retry is not None:
            wait = min(wait, next_retry - now)
        if len(self._in_flight) >= self.config.max_in_flight_calls or not self._buffer.ready:
            return max(wait, 0.0)
        linger = self._linger_left(now)
        if linger > 0:
            return min(wait, linger)
        batch, paced = self._batcher.assemble(now)
        if batch.units:
            self._linger_from = None
            self._launch(batch)
            return None
        if paced is not None:
            wait = min(wait, max(paced, 0.001))
        return max(wait, 0.0)

    def _launch(self, batch: Batch) -> None:
        task = asyncio.create_task(self._send(batch.units))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _send(self, units: list[Unit]) -> None:
        entries = [unit.entry for unit in units]
        self.metrics.put_calls += 1
        try:
            output = await self.client.put_records(self.stream, entries)
        except KinesisError as exc:
            code = error_code(exc)
            self.metrics.errors[code] += len(units)
            for unit in units:
                self._unit_failed(unit, exc, code, str(exc))
        except Exception as exc:  # a bug or an unexpected answer: fail loudly, not silently
            log.exception("producer: PutRecords failed unexpectedly")
            for unit in units:
                self._unit_failed(unit, exc, type(exc).__name__, str(exc))
        else:
            self._settle(units, output.Records)
        finally:
            self._after_call()

    def _settle(self, units: list[Unit], results: list[PutRecordsResultEntry]) -> None:
        now = time.monotonic()
        for unit, result in zip(units, results, strict=True):
            if result.ErrorCode:
                self.metrics.errors[result.ErrorCode] += 1
                error = ServiceError(result.ErrorCode, 400, result.ErrorMessage)
                self._unit_failed(unit, error, result.ErrorCode, result.ErrorMessage or "")
                continue
            if unit.shard_id is not None and result.ShardId != unit.shard_id:
                self._shard_map_stale()
            self.metrics.kinesis_records_put += 1
            for index, pending in enumerate(unit.records):
                pending.attempts += 1
                if not pending.future.done():
                    pending.future.set_result(
                        PutResult(
                            result.ShardId or "",
                            result.SequenceNumber or "",
                            index if unit.aggregated else 0,
                            pending.attempts,
                        )
                    )
                self.metrics.record_done(now - pending.enqueued)
                self._finished(pending)
            for key in unit.keys:
                self._buffer.release(key, None, self.config.ordered)

    def _unit_failed(self, unit: Unit, error: BaseException, code: str, message: str) -> None:
        if is_retryable(error):
            attempts = max(p.attempts for p in unit.records) + 1
            for pending in unit.records:
                pending.attempts += 1
            self.metrics.retries += len(unit.records)
            self._buffer.requeue(unit.records)
            not_before = time.monotonic() + self._backoff.delay(attempts - 1)
            for key in unit.keys:
                self._buffer.release(key, not_before, self.config.ordered)
            return
        log.warning("producer: %d record(s) failed: %s: %s", len(unit.records), code, message)
        for pending in unit.records:
            self._fail(pending, RecordFailedError(code, message))
        for key in unit.keys:
            self._buffer.release(key, None, self.config.ordered)

    def _expire(self, pending: Pending, error: RecordFailedError) -> None:
        self.metrics.errors[error.code] += 1
        self._fail(pending, error)

    def _fail(self, pending: Pending, error: RecordFailedError) -> None:
        self.metrics.records_failed += 1
        if not pending.future.done():
            pending.future.add_done_callback(_retrieve)
            pending.future.set_exception(error)
        self._finished(pending)

    def _finished(self, pending: Pending) -> None:
        self._buffer.finished(pending)
        self._space.set()
        if self._buffer.records == 0:
            self._idle.set()

    def _after_call(self) -> None:
        self._wake.set()
