"""Control-plane metadata in a JetStream key-value bucket, shared by every API node.

The ``MetadataStore`` interface is synchronous (control-plane handlers save documents
inline), so this store runs its own NATS connection on a private event loop in a thread and
each call waits for the replicated write: an acknowledged CreateStream or reshard is in the
bucket before the client hears of it. Control-plane calls are rare, so the one round trip
they hold the serving loop for is cheap; the data plane never touches this store.

A watch reports documents other nodes save or delete; each document carries the id of the
process that wrote it, so a node's own writes are not echoed back to it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from headwater.storage.base import StreamChange
from headwater.storage.nats.client import backoff_s, connect, retry_transient
from headwater.storage.nats.errors import StorageUnavailableException
from headwater.storage.nats.settings import NatsSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

_STREAM_KEY = "stream."
_SETTING_KEY = "setting."
_DELETED = ("DEL", "PURGE")
MAX_WATCH_RESTARTS = 1_000_000  # a watch restarts after each NATS failure, with backoff


class _Envelope(msgspec.Struct):
    writer: str
    document: dict[str, Any]


class KvMetadataStore:
    """``MetadataStore`` over the bucket ``settings.metadata_bucket``."""

    def __init__(self, settings: NatsSettings) -> None:
        self._settings = settings
        self._writer = uuid.uuid4().hex
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="headwater-metadata", daemon=True
        )
        self._thread.start()
        self._watcher: asyncio.Task[None] | None = None  # on the store's loop
        self._nc = self._call(lambda: connect(settings, "headwater-metadata"))
        self._kv = self._call(self._bucket)

    async def _bucket(self) -> KeyValue:
        """The bucket, created by the first node to get here (through the meta leader, which
        may take seconds: the request waits ``timeout_s``)."""
        config = KeyValueConfig(
            bucket=self._settings.metadata_bucket,
            history=1,
            replicas=self._settings.replicas,
            storage=StorageType.FILE,
        )
        with contextlib.suppress(nats.js.errors.BadRequestError):  # made by another node
            await self._nc.jetstream(timeout=self._settings.timeout_s).create_key_value(config)
        js = self._nc.jetstream(timeout=self._settings.attempt_timeout_s)
        try:
            return await js.key_value(self._settings.metadata_bucket)
        except nats.js.errors.BucketNotFoundError as exc:
            # Just created through the meta leader: the server that answered may not know it
            # yet. Transient: ``retry_transient`` asks again after a back-off.
            raise nats.errors.TimeoutError from exc

    def _call(self, make: Callable[[], Awaitable[T]], timeout_s: float | None = None) -> T:
        """Run ``make()`` on the store's loop and wait for it, riding out leader elections."""
        deadline_s = timeout_s or self._settings.timeout_s
        future = asyncio.run_coroutine_threadsafe(
            retry_transient("metadata", make, deadline_s), self._loop
        )
        try:
            return future.result(deadline_s + 1)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise StorageUnavailableException("Metadata storage did not answer; retry.") from None

    # -- MetadataStore -------------------------------------------------------------------

    def load_streams(self) -> list[dict[str, Any]]:
        return [document for _, document in self._call(self._current_streams)]

    def save_stream(self, stream_id: str, document: dict[str, Any]) -> None:
        value = msgspec.json.encode(_Envelope(self._writer, document))
        self._call(lambda: self._kv.put(_STREAM_KEY + stream_id, value))

    def delete_stream(self, stream_id: str) -> None:
        self._call(lambda: self._kv.delete(_STREAM_KEY + stream_id))

    def load_setting(self, name: str) -> bytes | None:
        return self._call(lambda: self._get(_SETTING_KEY + name))

    def save_setting(self, name: str, value: bytes) -> None:
        self._call(lambda: self._kv.put(_SETTING_KEY + name, value))

    def watch(self, on_change: StreamChange) -> None:
        target = asyncio.get_running_loop()

        def report(stream_id: str, document: dict[str, Any] | None) -> None:
            target.call_soon_threadsafe(on_change, stream_id, document)

        self._call(lambda: self._start_watch(report))

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    # -- on the store's loop ---------------------------------------------------------------

    async def _start_watch(self, report: StreamChange) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch(report))

    async def _shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await self._nc.close()

    async def _get(self, key: str) -> bytes | None:
        try:
            entry = await self._kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return None
        return entry.value

    async def _current_streams(self) -> list[tuple[str, dict[str, Any]]]:
        watcher = await self._kv.watch(_STREAM_KEY + "*", ignore_deletes=True)
        found: list[tuple[str, dict[str, Any]]] = []
        try:
            async for entry in watcher:
                if entry is None:
                    break
                found.append((entry.key[len(_STREAM_KEY) :], _decode(entry.value).document))
        finally:
            await watcher.stop()
        return found

    async def _watch(self, report: StreamChange) -> None:
        """Report every change by another node, for as long as the store is open."""
        for attempt in range(MAX_WATCH_RESTARTS):
            try:
                watcher = await self._kv.watch(_STREAM_KEY + "*", include_history=False)
                try:
                    await self._follow(watcher, report)
                finally:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("metadata watch failed; restarting", exc_info=True)
            await asyncio.sleep(backoff_s(attempt))

    async def _follow(self, watcher: KeyValue.KeyWatcher, report: StreamChange) -> None:
        async for entry in watcher:
            if entry is None:
                continue  # end of the current values; updates follow
            stream_id = entry.key[len(_STREAM_KEY) :]
            if entry.operation in _DELETED:
                report(stream_id, None)
                continue
            envelope = _decode(entry.value)
            if envelope.writer != self._writer:
                report(stream_id, envelope.document)


def _decode(value: bytes | None) -> _Envelope:
    return msgspec.json.decode(value or b"{}", type=_Envelope)
