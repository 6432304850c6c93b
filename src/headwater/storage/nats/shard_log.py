"""A shard's log on JetStream: one stream per shard, one message per appended batch.

Positions stay dense (the service numbers a read's records consecutively) although several
nodes append: each append names the stream's last sequence it saw (``Nats-Expected-Last-
Sequence``) and its first position follows that batch's last. JetStream refuses the append if
another node got there first; the node re-reads the tail and tries again. So a shard's
sequences are contiguous, positions dense, arrival times non-decreasing, and a batch's
position is final once acknowledged (by a quorum of replicas).

Readers find a position's batch through a ``BatchIndex`` of known batches (sequential reading
needs no lookup; a random position costs a few interpolation probes) and fetch whole reads
with one batched direct get.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Sequence

import nats.errors

from headwater.storage.base import AppendResult, StoredRecords
from headwater.storage.nats.client import TRANSIENT, JetStreamClient, StoredBatch, backoff_s
from headwater.storage.nats.errors import (
    ShardSealed,
    StorageUnavailableException,
    WrongLastSequence,
)
from headwater.storage.nats.frames import BatchMeta, decode_into, encode_body
from headwater.storage.nats.index import BatchIndex

log = logging.getLogger(__name__)

MAX_APPEND_ATTEMPTS = 200
MAX_PROBES = 64
SCAN_SPAN = 8  # read forward over at most this many batches rather than probe again
MAX_READ_ROUNDS = 8  # requests per read: a read spanning many batches may need a few
MAX_BATCHES_PER_READ = 10_000
TAIL_CHECK_INTERVAL_S = 1.0


class NatsShardLog:
    """The ``ShardLog`` of one shard, backed by the JetStream stream ``stream``."""

    def __init__(
        self,
        client: JetStreamClient,
        stream: str,
        subject: str,
        tail_subject: str,
        shard_id: str,
    ) -> None:
        self._client = client
        self._stream = stream
        self._subject = subject
        self._tail_subject = tail_subject
        self._shard_id = shard_id
        self._index = BatchIndex()
        self._head: BatchMeta | None = None
        self._tail: BatchMeta | None = None
        self._appending = asyncio.Lock()
        self._advanced = asyncio.Event()
        self._next_tail_check = 0.0

    async def open(self) -> None:
        """Create the stream if needed and learn its first and last batches."""
        await self._client.ensure_stream(self._stream, self._subject)
        await self.refresh_tail()
        first = await self._client.next_from(self._stream, self._subject, 1)
        if first is not None:
            self._head = first.meta
            self._index.add(first.meta)

    # -- tail ----------------------------------------------------------------------------

    def learn(self, meta: BatchMeta) -> None:
        """Note a committed batch (ours, announced by another node, or read back)."""
        self._index.add(meta)
        if self._head is None:
            self._head = meta
        if self._tail is None or meta.seq > self._tail.seq:
            self._tail = meta
            # Wake every waiter, then arm a fresh event.
            self._advanced.set()
            self._advanced = asyncio.Event()

    async def _announce(self, meta: BatchMeta) -> None:
        """Tell the other nodes (best effort: readers that caught up check the stream itself
        once a second, so a lost notice delays a record, never hides it)."""
        with contextlib.suppress(Exception):
            await self._client.nc.publish(
                self._tail_subject, f"{meta.seq} {meta.header()}".encode()
            )

    async def refresh_tail(self) -> StoredBatch | None:
        last = await self._client.last(self._stream, self._subject)
        if last is not None:
            self.learn(last.meta)
        return last

    # -- ShardLog interface ------------------------------------------------------------

    @property
    def start_position(self) -> int:
        return self._head.first_position if self._head else self.end_position

    @property
    def end_position(self) -> int:
        return self._tail.next_position if self._tail else 0

    @property
    def last_arrival_ms(self) -> int:
        return self._tail.arrival_ms if self._tail else 0

    async def append(
        self, keys: Sequence[bytes], datas: Sequence[bytes], arrival_ms: int, codec: int = 0
    ) -> AppendResult:
        body = encode_body(keys, datas)
        msg_id = uuid.uuid4().hex  # a retried publish that did land is deduplicated
        # Finish even if the caller goes away, so the tail this node knows stays exact.
        async with self._appending:
            stored = await asyncio.shield(self._append(body, len(keys), arrival_ms, codec, msg_id))
        await self._announce(stored)
        return AppendResult(stored.first_position, stored.arrival_ms)

    async def _append(
        self, body: bytes, count: int, arrival_ms: int, codec: int, msg_id: str
    ) -> BatchMeta:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._client.settings.timeout_s
        for attempt in range(MAX_APPEND_ATTEMPTS):
            tail = self._tail
            meta = BatchMeta(
                0,
                tail.next_position if tail else 0,
                count,
                max(arrival_ms, tail.arrival_ms if tail else 0),
                codec,
            )
            try:
                seq, duplicate = await self._client.publish(
                    self._subject, self._stream, body, meta, tail.seq if tail else 0, msg_id
                )
            except WrongLastSequence:
                last = await self.refresh_tail()
                if last is not None and last.msg_id == msg_id:
                    return last.meta  # an earlier attempt landed after all
                continue
            except ShardSealed:
                raise StorageUnavailableException(
                    f"Shard {self._shard_id} was closed by a reshard; retry the request."
                ) from None
            except TRANSIENT as exc:
                if loop.time() + backoff_s(attempt) > deadline:
                    raise StorageUnavailableException(
                        f"Storage is unavailable (append: {type(exc).__name__}); retry."
                    ) from exc
                await asyncio.sleep(backoff_s(attempt))
                continue
            except nats.errors.Error as exc:
                raise StorageUnavailableException(f"Storage refused the append: {exc}") from exc
            if duplicate:  # an earlier attempt landed: its batch, not this one, is stored
                stored = await self._client.next_from(self._stream, self._subject, seq)
                if stored is None or stored.msg_id != msg_id:
                    raise StorageUnavailableException("A retried append was lost; retry.")
                meta = stored.meta
            else:
                meta = dataclasses.replace(meta, seq=seq)
            self.learn(meta)
            return meta
        raise StorageUnavailableException("Too many concurrent appends to one shard; retry.")

    async def read(self, position: int, max_records: int, max_bytes: int) -> StoredRecords:
        out = StoredRecords(position)
        if position >= self.end_position:
            # A caught-up reader: make sure no announcement was lost, for its next read.
            with contextlib.suppress(StorageUnavailableException):
                await self._check_tail()
            return out
        seq = await self._locate(position) if max_records > 0 else None
        for _ in range(MAX_READ_ROUNDS):
            tail = self._tail
            if seq is None or tail is None or seq > tail.seq:
                break
            wanted = min(max_records - len(out) + SCAN_SPAN, MAX_BATCHES_PER_READ)
            batches = await self._client.batch_from(self._stream, seq, wanted, max_bytes)
            if not batches:  # a replica behind the leader answered: the leader has it
                stored = await self._client.from_leader(self._stream, seq)
                if stored is None:
                    break
                batches = [stored]
            for batch in batches:
                meta = batch.meta
                if meta.next_position <= out.next_position:
                    continue  # before the position asked for
                if not out.datas:
                    out.first_position = max(position, meta.first_position)
                elif meta.first_position != out.next_position:
                    return out
                skip = out.first_position - meta.first_position if not out.datas else 0
                decode_into(out, meta, batch.body, skip, max_records, max_bytes)
                self._index.add(meta)
                if out.next_position < meta.next_position:
                    return out  # bounded by count or bytes
            seq = batches[-1].meta.seq + 1
            if len(out) >= max_records:
                break
        return out

    async def wait_beyond(self, position: int, timeout_s: float) -> bool:
        if self.end_position > position:
            return True
        advanced = self._advanced
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(advanced.wait(), timeout_s)
        if self.end_position <= position:
            # A node that died between its append and its announcement: ask the stream.
            with contextlib.suppress(StorageUnavailableException):
                await self._check_tail()
        return self.end_position > position

    async def _check_tail(self) -> None:
        """Fetch the last batch if the stream moved on unannounced (once a second at most)."""
        now = asyncio.get_running_loop().time()
        if now < self._next_tail_check:
            return
        self._next_tail_check = now + TAIL_CHECK_INTERVAL_S
        known = self._tail.seq if self._tail else 0
        if await self._client.last_seq(self._stream) > known:
            await self.refresh_tail()

    async def position_at_time(self, arrival_ms: int) -> int:
        found = await self._first_at_or_after(arrival_ms)
        return self.end_position if found is None else found.first_position

    async def trim_before(self, arrival_ms: int) -> None:
        """Purge whole batches older than ``arrival_ms``; the newest batch always stays, so
        the shard's end position (and its sequence numbers) survive any idle time."""
        found = await self._first_at_or_after(arrival_ms)
        tail, head = self._tail, self._head
        if tail is None or head is None:
            return
        keep = min(found.seq if found else tail.seq, tail.seq)
        if keep <= head.seq:
            return
        try:
            await self._client.purge_before(self._stream, keep)
        except StorageUnavailableException:
            log.warning("retention purge of %s failed; next pass retries", self._stream)
            return
        self._index.forget_before(keep)
        self._head = found if found is not None and found.seq == keep else tail

    async def seal(self) -> None:
        """Seal the stream: JetStream refuses every later append from any node, so the tail
        read afterwards is the shard's final end."""
        async with self._appending:
            await self._client.seal(self._stream)
            await self.refresh_tail()

    # -- lookups -------------------------------------------------------------------------

    async def _locate(self, position: int) -> int | None:
        """The sequence to start reading ``position`` from (None: nothing at or after it)."""
        head, tail = self._head, self._tail
        if head is None or tail is None or position >= tail.next_position:
            return None
        if position < head.next_position:
            return head.seq
        low, high = self._index.around(position)
        low, high = low or head, high or tail
        for step in range(MAX_PROBES):
            if position < low.next_position:
                return low.seq
            if position == low.next_position:
                return low.seq + 1
            if high.seq - low.seq <= SCAN_SPAN:
                return low.seq
            span = high.first_position - low.first_position
            guess = (
                low.seq + (position - low.first_position) * (high.seq - low.seq) // span
                if step % 2 == 0
                else (low.seq + high.seq) // 2
            )
            probe = await self._probe(min(max(guess, low.seq + 1), high.seq - 1))
            if probe is None:
                return low.seq
            if probe.first_position <= position:
                low = probe
            else:
                high = probe
        return low.seq

    async def _first_at_or_after(self, arrival_ms: int) -> BatchMeta | None:
        """The first stored batch that arrived at or after ``arrival_ms``."""
        head, tail = self._head, self._tail
        if head is None or tail is None or arrival_ms > tail.arrival_ms:
            return None
        if arrival_ms <= head.arrival_ms:
            return head
        low, high = self._index.around_time(arrival_ms)
        low, high = low or head, high or tail
        for step in range(MAX_PROBES):
            if high.seq - low.seq <= 1:
                return high
            span = max(high.arrival_ms - low.arrival_ms, 1)
            guess = (
                low.seq + (arrival_ms - low.arrival_ms) * (high.seq - low.seq) // span
                if step % 2 == 0
                else (low.seq + high.seq) // 2
            )
            probe = await self._probe(min(max(guess, low.seq + 1), high.seq - 1))
            if probe is None:
                return high
            if probe.arrival_ms < arrival_ms:
                low = probe
            else:
                high = probe
        return high

    async def _probe(self, seq: int) -> BatchMeta | None:
        stored = await self._client.next_from(self._stream, self._subject, seq)
        if stored is None:
            return None
        self._index.add(stored.meta)
        return stored.meta
