"""The JetStream requests the NATS backend makes, with NATS failures turned into values.

Everything the shard logs need is here: idempotent stream creation, the optimistic publish,
direct gets (one, the last, or a batch in one request/multi-reply exchange), seal, purge.
Idempotent requests are retried until ``timeout_s`` runs out, so a leader election (a few
seconds) is ridden out instead of surfacing as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from headwater.storage.nats.errors import (
    ShardSealed,
    StorageUnavailableException,
    WrongLastSequence,
)
from headwater.storage.nats.frames import BATCH_HEADER, BatchMeta
from headwater.storage.nats.settings import NatsSettings

T = TypeVar("T")

log = logging.getLogger(__name__)

_WRONG_LAST_SEQUENCE = 10071
_SEALED = 10109
_STREAM_NAME_IN_USE = 10058
_EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
_MSG_ID = "Nats-Msg-Id"
_BACKOFF_S = (0.02, 0.05, 0.1, 0.2, 0.4)
# Failures worth retrying: no stream leader yet, a request lost with a dying server.
TRANSIENT = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServerError,
    asyncio.TimeoutError,
)


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """One stored message: where its batch sits, its packed records, and its dedupe id."""

    meta: BatchMeta
    body: bytes
    msg_id: str | None


def backoff_s(attempt: int) -> float:
    return _BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)]


async def retry_transient(what: str, call: Callable[[], Awaitable[T]], timeout_s: float) -> T:
    """Run an idempotent request until it succeeds or ``timeout_s`` has passed, riding out
    leader elections and dying servers; any other failure is refused at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    for attempt in range(1000):
        try:
            return await call()
        except TRANSIENT as exc:
            if loop.time() + backoff_s(attempt) > deadline:
                raise StorageUnavailableException(
                    f"Storage is unavailable ({what}: {type(exc).__name__}); retry."
                ) from exc
        except nats.errors.Error as exc:
            raise StorageUnavailableException(f"Storage refused {what}: {exc}") from exc
        await asyncio.sleep(backoff_s(attempt))
    raise StorageUnavailableException(f"Storage is unavailable ({what}); retry.")


async def connect(settings: NatsSettings, name: str) -> NatsClient:
    """A connection that fails over between the cluster's servers for as long as it lives,
    logging one line per connection event instead of a traceback."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats %s: %s", name, exc)

    async def on_disconnected() -> None:
        if not (nc.is_closed or nc.is_draining):
            log.warning("nats %s: disconnected, reconnecting", name)

    async def on_reconnected() -> None:
        log.info("nats %s: reconnected", name)

    nc = await nats.connect(
        servers=list(settings.servers),
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        connect_timeout=settings.attempt_timeout_s,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )
    return nc


class JetStreamClient:
    """JetStream calls over one connection, for every shard stream a node opened."""

    def __init__(self, nc: NatsClient, settings: NatsSettings) -> None:
        self.nc = nc
        self.settings = settings
        self.js = nc.jetstream(timeout=settings.attempt_timeout_s)
        # Stream creation and updates go through the cluster's meta leader, which can take
        # seconds under load: a request retried early would only queue behind itself.
        self.admin = nc.jetstream(timeout=settings.timeout_s)

    async def retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_transient(what, call, self.settings.timeout_s)

    # -- streams -------------------------------------------------------------------------

    async def ensure_stream(self, name: str, subject: str) -> None:
        """Create the shard's stream unless it exists (sealed or not)."""
        config = StreamConfig(
            name=name,
            subjects=[subject],
            num_replicas=self.settings.replicas,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            allow_direct=True,
            duplicate_window=120.0,
        )

        async def create() -> None:
            try:
                await self.admin.add_stream(config)
            except nats.js.errors.BadRequestError as exc:
                if exc.err_code != _STREAM_NAME_IN_USE:
                    raise

        await self.retrying("create stream", create)

    async def seal(self, name: str) -> None:
        async def seal() -> None:
            config = (await self.admin.stream_info(name)).config
            if not config.sealed:
                await self.admin.update_stream(config.evolve(sealed=True))

        await self.retrying("seal stream", seal)

    async def purge_before(self, name: str, seq: int) -> None:
        await self.retrying("purge", lambda: self.admin.purge_stream(name, seq=seq))

    async def delete_stream(self, name: str) -> None:
        async def delete() -> None:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self.admin.delete_stream(name)

        await self.retrying("delete stream", delete)

    async def stream_names(self, subject_filter: str) -> list[str]:
        async def names() -> list[str]:
            request = json.dumps({"subject": subject_filter}).encode()
            reply = await self.nc.request(
                "$JS.API.STREAM.NAMES", request, timeout=self.settings.timeout_s
            )
            return json.loads(reply.data).get("streams") or []

        return await self.retrying("list streams", names)

    # -- messages ------------------------------------------------------------------------

    async def publish(
        self, subject: str, stream: str, body: bytes, meta: BatchMeta, last_seq: int, msg_id: str
    ) -> tuple[int, bool]:
        """Store a batch only if the stream's last sequence is ``last_seq``: (seq, duplicate).

        Raises WrongLastSequence or ShardSealed; transient NATS errors propagate as they are.
        """
        headers = {
            BATCH_HEADER: meta.header(),
            _EXPECTED_LAST_SEQUENCE: str(last_seq),
            _MSG_ID: msg_id,
        }
        try:
            ack = await self.js.publish(subject, body, stream=stream, headers=headers)
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code == _WRONG_LAST_SEQUENCE:
                raise WrongLastSequence from exc
            if exc.err_code == _SEALED:
                raise ShardSealed from exc
            raise
        return ack.seq, bool(ack.duplicate)

    async def last_seq(self, stream: str) -> int:
        """The stream's last sequence: a small reply, however large its last batch."""

        async def info() -> int:
            return (await self.js.stream_info(stream)).state.last_seq

        return await self.retrying("stream info", info)

    async def last(self, stream: str, subject: str) -> StoredBatch | None:
        """The shard's newest batch (None when the stream holds nothing)."""
        return await self.retrying(
            "read tail", lambda: self._get(f"$JS.API.DIRECT.GET.{stream}.{subject}", b"")
        )

    async def next_from(self, stream: str, subject: str, seq: int) -> StoredBatch | None:
        """The first stored batch at or after ``seq``."""
        request = json.dumps({"seq": seq, "next_by_subj": subject}).encode()
        return await self.retrying(
            "read batch", lambda: self._get(f"$JS.API.DIRECT.GET.{stream}", request)
        )

    async def from_leader(self, stream: str, seq: int) -> StoredBatch | None:
        """The batch at ``seq`` as the stream's leader has it (one message, base64 in JSON):
        for when a replica that is behind answered a direct get."""

        async def get() -> StoredBatch | None:
            try:
                msg = await self.js.get_msg(stream, seq=seq)
            except nats.js.errors.NotFoundError:
                return None
            headers = msg.headers or {}
            meta = BatchMeta.parse(msg.seq, headers[BATCH_HEADER])
            return StoredBatch(meta, msg.data or b"", headers.get(_MSG_ID))

        return await self.retrying("read from leader", get)

    async def batch_from(
        self, stream: str, seq: int, count: int, max_bytes: int
    ) -> list[StoredBatch]:
        """Up to ``count`` stored batches from ``seq`` on in one direct-get exchange."""
        request = json.dumps({"seq": seq, "batch": count, "max_bytes": max_bytes}).encode()
        return await self.retrying("read", lambda: self._get_batch(stream, request, count))

    async def _get(self, subject: str, request: bytes) -> StoredBatch | None:
        reply = await self.nc.request(subject, request, timeout=self.settings.attempt_timeout_s)
        return _stored(reply)

    async def _get_batch(self, stream: str, request: bytes, count: int) -> list[StoredBatch]:
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        out: list[StoredBatch] = []
        try:
            await self.nc.publish(f"$JS.API.DIRECT.GET.{stream}", request, reply=inbox)
            for _ in range(count + 1):  # the batch, then its end-of-batch marker
                stored = _stored(await sub.next_msg(timeout=self.settings.attempt_timeout_s))
                if stored is None:
                    break
                out.append(stored)
        finally:
            await sub.unsubscribe()
        return out


def _stored(msg: Msg) -> StoredBatch | None:
    """A direct-get reply as a batch; None for a status reply (not found, end of batch)."""
    headers = msg.headers or {}
    if headers.get("Status"):
        if headers["Status"] in ("404", "204"):
            return None
        raise nats.js.errors.ServiceUnavailableError(description=str(headers))
    seq = int(headers["Nats-Sequence"])
    return StoredBatch(BatchMeta.parse(seq, headers[BATCH_HEADER]), msg.data, headers.get(_MSG_ID))
