"""The data plane: putting records, shard iterators and reading records."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from headwater.errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    ProvisionedThroughputExceededException,
    ResourceNotFoundException,
)
from headwater.protocol.values import PutResults, Records
from headwater.service import sequence
from headwater.service.encryption import CODEC_AES_GCM, CODEC_PLAIN, KeyRing
from headwater.service.hashing import HASH_KEY_MAX
from headwater.service.iterators import ITERATOR_TTL_MS, IteratorCodec, IteratorState
from headwater.service.metrics import KinesisMetrics
from headwater.service.model import Shard, Stream, shard_id_for
from headwater.service.registry import StreamRegistry

MAX_RECORDS_PER_GET = 10_000
MAX_BYTES_PER_GET = 10 * 1024 * 1024
HOUR_MS = 3_600_000


def parse_explicit_hash_key(text: str | None) -> int | None:
    """The hash key a producer chose, checked against the 128-bit range."""
    if text is None:
        return None
    value = int(text)
    if value > HASH_KEY_MAX:
        raise InvalidArgumentException(
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
            f"[0, 2^128-1]. Specified value was {text}"
        )
    return value


class RecordPlane:
    def __init__(
        self,
        registry: StreamRegistry,
        iterators: IteratorCodec,
        keys: KeyRing,
        metrics: KinesisMetrics,
    ) -> None:
        self.registry = registry
        self.iterators = iterators
        self.keys = keys
        self.metrics = metrics

    @property
    def _account(self) -> str:
        return self.registry.config.account_id

    def _rate_exceeded(self, stream: Stream, shard: Shard) -> str:
        return (
            f"Rate exceeded for shard {shard.shard_id} in stream {stream.name} "
            f"under account {self._account}."
        )

    # -- writes --------------------------------------------------------------------------

    async def put(
        self,
        stream: Stream,
        keys: list[bytes],
        datas: list[bytes],
        hash_keys: list[int | None] | None,
        *,
        all_or_nothing: bool,
    ) -> PutResults:
        """Route, throttle and durably append records; the PutRecords result entries.

        This is the ingest hot path: records are handled as columns (routing, grouping,
        sizes), and each shard's sequence numbers are left for the codec to render at once.
        With ``all_or_nothing`` (PutRecord) a throttled record raises instead of failing alone.
        """
        started = time.perf_counter()
        registry = self.registry
        now = registry.clock.now_ms()
        results = PutResults(len(keys))
        slots = stream.route_slots(keys, hash_keys)
        table = stream.open_shards
        if registry.config.limits.enabled:
            shards = list(map(table.__getitem__, slots))
            self._admit(stream, shards, keys, datas, now, results, all_or_nothing)
        key = self.keys.resolve(stream.key_id) if stream.encryption_type == "KMS" else None
        batches: list[_ShardBatch] = []
        for slot, indexes in _group_by_slot(slots, results.errors):
            shard = table[slot]
            if isinstance(indexes, range):  # the whole request goes to this shard
                shard_keys, shard_datas = keys, datas
            else:
                shard_keys = list(map(keys.__getitem__, indexes))
                shard_datas = list(map(datas.__getitem__, indexes))
            size = sum(map(len, shard_keys)) + sum(map(len, shard_datas))
            codec = CODEC_PLAIN
            if key is not None:
                shard_datas = self._sealed(stream, shard, key, shard_keys, shard_datas)
                shard_keys, codec = [b""] * len(shard_datas), CODEC_AES_GCM
            batches.append(_ShardBatch(shard, indexes, shard_keys, shard_datas, codec, size))
        for batch in batches:
            registry.begin_write(stream, batch.shard)
            registry.usage(stream, batch.shard).add(len(batch.indexes), batch.size)
        await asyncio.gather(*(self._append(stream, batch, now, results) for batch in batches))
        for batch in batches:
            self.metrics.put(stream, batch.shard, len(batch.indexes), batch.size)
        operation = "PutRecord" if all_or_nothing else "PutRecords"
        self.metrics.call(stream, operation, (time.perf_counter() - started) * 1000)
        return results

    def _admit(
        self,
        stream: Stream,
        shards: list[Shard],
        keys: list[bytes],
        datas: list[bytes],
        now: int,
        results: PutResults,
        all_or_nothing: bool,
    ) -> None:
        """Take each record's write tokens in request order; a throttled record fails alone."""
        registry = self.registry
        for i, shard in enumerate(shards):
            if registry.throttle(stream, shard).try_write(len(datas[i]) + len(keys[i]), now):
                continue
            self.metrics.throttled_writes(stream, shard, 1)
            # Refused records are demand too: on-demand scaling sizes shards by what writers
            # want, not only by what the limit let through.
            registry.usage(stream, shard).add(1, len(datas[i]) + len(keys[i]))
            message = self._rate_exceeded(stream, shard)
            if all_or_nothing:
                raise ProvisionedThroughputExceededException(message)
            results.errors[i] = ("ProvisionedThroughputExceededException", message)

    def _sealed(
        self, stream: Stream, shard: Shard, key: bytes, keys: list[bytes], datas: list[bytes]
    ) -> list[bytes]:
        """Records of an encrypted stream: key and data sealed together (stored with an
        empty key)."""
        context = _encryption_context(stream, shard)
        return [self.keys.seal(key, k, d, context) for k, d in zip(keys, datas, strict=True)]

    async def _append(
        self, stream: Stream, batch: _ShardBatch, now: int, results: PutResults
    ) -> None:
        """Append one shard's batch and note where its records landed; ends the write that
        ``begin_write`` announced, whatever happens."""
        shard = batch.shard
        try:
            shard_log = await self.registry.shard_log(stream, shard)
            result = await shard_log.append(batch.keys, batch.datas, now, batch.codec)
        finally:
            self.registry.end_write(stream, shard)
        first = shard.sequence_base + 1 + result.first_position
        results.batches.append((shard.shard_id, first, batch.indexes))

    # -- iterators -----------------------------------------------------------------------

    def missing_shard(self, stream_name: str, shard_id: str) -> ResourceNotFoundException:
        """AWS' two wordings: an unparsable shard id, or a well-formed one that is absent."""
        index = parse_shard_id(shard_id)
        if index is None:
            return ResourceNotFoundException(
                f"Could not find shard {shard_id} in stream {stream_name} under account "
                f"{self._account}."
            )
        return ResourceNotFoundException(
            f"Shard {shard_id_for(index)} in stream {stream_name} under account "
            f"{self._account} does not exist"
        )

    def shard_or_fail(self, stream: Stream, shard_id: str) -> Shard:
        index = parse_shard_id(shard_id)
        shard = None if index is None else stream.shard_by_index(index)
        if shard is None:
            raise self.missing_shard(stream.name, shard_id)
        return shard

    async def trim_horizon(self, stream: Stream, shard: Shard) -> int:
        """The oldest position still inside the retention period."""
        shard_log = await self.registry.shard_log(stream, shard)
        cutoff = self.registry.clock.now_ms() - stream.retention_hours * HOUR_MS
        return await shard_log.position_at_time(cutoff)

    async def latest(self, stream: Stream, shard: Shard) -> int:
        if shard.end_position is not None:
            return shard.end_position
        return (await self.registry.shard_log(stream, shard)).end_position

    async def shard_iterator(
        self,
        stream: Stream,
        shard_id: str,
        iterator_type: str,
        starting_sequence_number: str | None,
        timestamp_s: float | None,
    ) -> str:
        shard = self.shard_or_fail(stream, shard_id)
        position = await self.start_position(
            stream, shard, iterator_type, starting_sequence_number, timestamp_s
        )
        return self.issue_iterator(stream, shard, position)

    async def start_position(
        self,
        stream: Stream,
        shard: Shard,
        kind: str,
        starting_sequence_number: str | None,
        timestamp_s: float | None,
    ) -> int:
        """Where a reader starting as ``kind`` begins (iterators and subscriptions alike)."""
        if kind == "TRIM_HORIZON":
            return await self.trim_horizon(stream, shard)
        if kind == "LATEST":
            return await self.latest(stream, shard)
        if kind == "AT_TIMESTAMP":
            return await self._position_at_time(stream, shard, timestamp_s)
        return await self._position_of_sequence(stream, shard, kind, starting_sequence_number)

    def issue_iterator(self, stream: Stream, shard: Shard, position: int) -> str:
        return self.iterators.encode(
            IteratorState(
                stream.name, stream.created_ms, shard.index, position, self.registry.clock.now_ms()
            )
        )

    async def _position_at_time(
        self, stream: Stream, shard: Shard, timestamp_s: float | None
    ) -> int:
        if timestamp_s is None:
            raise InvalidArgumentException(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                "Current request has no timestamp parameter."
            )
        now = self.registry.clock.now_ms()
        wanted = int(timestamp_s * 1000)
        if wanted > now:
            raise InvalidArgumentException(
                f"The timestampInMillis parameter cannot be greater than the "
                f"currentTimestampInMillis. timestampInMillis: {wanted}, "
                f"currentTimestampInMillis: {now}"
            )
        shard_log = await self.registry.shard_log(stream, shard)
        position = await shard_log.position_at_time(wanted)
        if shard.end_position is not None:
            position = min(position, shard.end_position)
        return max(position, await self.trim_horizon(stream, shard))

    async def _position_of_sequence(
        self, stream: Stream, shard: Shard, iterator_type: str, number: str | None
    ) -> int:
        if number is None:
            raise InvalidArgumentException(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                f"StartingSequenceNumber. Request specified {iterator_type} and no "
                "StartingSequenceNumber."
            )
        parts = sequence.decode(number)
        if parts is None or parts.epoch_ms != shard.epoch_ms:
            other = stream.shard_by_index(parts.shard_index) if parts else None
            if parts is not None and other is not None and other.epoch_ms == parts.epoch_ms:
                raise InvalidArgumentException(
                    f"Invalid StartingSequenceNumber. It encodes {other.shard_id}, while it "
                    f"was used in a call to a shard with {shard.shard_id}"
                )
            raise InvalidArgumentException(
                f"StartingSequenceNumber {number} used in GetShardIterator on shard "
                f"{shard.shard_id} in stream {stream.name} under account {self._account} "
                "is invalid."
            )
        if parts.shard_index != shard.index:
            raise InvalidArgumentException(
                f"Invalid StartingSequenceNumber. It encodes {shard_id_for(parts.shard_index)}, "
                f"while it was used in a call to a shard with {shard.shard_id}"
            )
        latest = await self.latest(stream, shard)
        position = shard.position_of(parts)
        if position >= latest:
            raise InvalidArgumentException(
                f"StartingSequenceNumber {number} used in GetShardIterator on shard "
                f"{shard.shard_id} in stream {stream.name} under account {self._account} "
                "is invalid because it did not come from this stream."
            )
        return max(position + (1 if iterator_type == "AFTER_SEQUENCE_NUMBER" else 0), 0)

    # -- reads ---------------------------------------------------------------------------

    def open_iterator(self, token: str) -> tuple[Stream, Shard, int]:
        state = self.iterators.decode(token)
        if state is None:
            raise InvalidArgumentException("Invalid ShardIterator.")
        now = self.registry.clock.now_ms()
        if now - state.issued_ms > ITERATOR_TTL_MS:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time {_java_date(state.issued_ms)} "
                f"while right now it is {_java_date(now)} which is further in the future than the "
                f"tolerated delay of {ITERATOR_TTL_MS} milliseconds."
            )
        stream = self.registry.streams.get(state.stream_name)
        shard = stream.shard_by_index(state.shard_index) if stream else None
        if stream is None or shard is None or stream.created_ms != state.stream_created_ms:
            raise ResourceNotFoundException(
                f"Shard {shard_id_for(state.shard_index)} in stream {state.stream_name} "
                f"under account {self._account} does not exist"
            )
        self.registry.get(stream.name)
        return stream, shard, state.position

    async def read_batch(
        self, stream: Stream, shard: Shard, position: int, limit: int, max_bytes: int
    ) -> ReadBatch:
        """Records from ``position`` (moved past expired ones), shaped for responses."""
        shard_log = await self.registry.shard_log(stream, shard)
        position = max(position, await self.trim_horizon(stream, shard))
        end = shard_log.end_position if shard.end_position is None else shard.end_position
        stored = await shard_log.read(position, min(limit, end - position), max_bytes)
        records = Records(
            shard.sequence_base + 1 + stored.first_position,
            stored.arrival_ms,
            stored.partition_keys,
            stored.datas,
        )
        size = stored.size
        if any(stored.codecs):
            records = self._open_sealed(stream, shard, records, stored.codecs)
            size = sum(map(len, records.partition_keys)) + sum(map(len, records.datas))
        next_position = stored.next_position
        now = self.registry.clock.now_ms()
        behind = 0 if next_position >= end or not stored else max(now - stored.arrival_ms[-1], 0)
        at_end = shard.end_position is not None and next_position >= shard.end_position
        return ReadBatch(records, size, next_position, behind, at_end)

    def _open_sealed(
        self, stream: Stream, shard: Shard, records: Records, codecs: list[int]
    ) -> Records:
        """The records with the keys and data of encrypted ones opened, and marked KMS."""
        context = _encryption_context(stream, shard)
        keys, datas = list(records.partition_keys), list(records.datas)
        encrypted = [codec == CODEC_AES_GCM for codec in codecs]
        for i, sealed in enumerate(encrypted):
            if sealed:
                keys[i], datas[i] = self.keys.open(datas[i], context)
        return Records(records.first_sequence_number, records.arrival_ms, keys, datas, encrypted)

    async def get_records(self, token: str, limit: int | None) -> dict:
        started = time.perf_counter()
        stream, shard, position = self.open_iterator(token)
        registry = self.registry
        throttle = registry.throttle(stream, shard) if registry.config.limits.enabled else None
        if throttle is not None and not throttle.try_read_call(registry.clock.now_ms()):
            self.metrics.throttled_read(stream)
            raise ProvisionedThroughputExceededException(self._rate_exceeded(stream, shard))
        batch = await self.read_batch(
            stream, shard, position, limit or MAX_RECORDS_PER_GET, MAX_BYTES_PER_GET
        )
        if throttle is not None:
            throttle.charge_read(batch.size)
        self.metrics.read(stream, shard, len(batch.records), batch.size, batch.millis_behind)
        self.metrics.call(stream, "GetRecords", (time.perf_counter() - started) * 1000)
        response: dict = {"Records": batch.records, "MillisBehindLatest": batch.millis_behind}
        if batch.at_end:
            response["ChildShards"] = child_shards(stream, shard)
        else:
            response["NextShardIterator"] = self.issue_iterator(stream, shard, batch.next_position)
        return response


class _ShardBatch(NamedTuple):
    """The records of one put going to one shard."""

    shard: Shard
    indexes: Sequence[int]  # in the request
    keys: list[bytes]  # as stored
    datas: list[bytes]
    codec: int
    size: int  # bytes of keys and data, before sealing


def _group_by_slot(slots: list[int], failed: Collection[int]) -> list[tuple[int, Sequence[int]]]:
    """Request indexes per routing slot, each in request order, leaving out failed records.

    A stable sort by slot and a count per slot group them in C instead of a loop per record.
    """
    count = len(slots)
    if not failed and slots and slots.count(slots[0]) == count:
        return [(slots[0], range(count))]
    order = sorted(range(count), key=slots.__getitem__)
    groups: list[tuple[int, Sequence[int]]] = []
    start = 0
    for slot, size in sorted(Counter(slots).items()):
        indexes = order[start : start + size]
        start += size
        if failed:
            indexes = [i for i in indexes if i not in failed]
        if indexes:
            groups.append((slot, indexes))
    return groups


@dataclass(frozen=True, slots=True)
class ReadBatch:
    records: Records
    size: int
    next_position: int
    millis_behind: int
    at_end: bool


def child_shards(stream: Stream, shard: Shard) -> list[dict]:
    """The ChildShards entries of a closed shard."""
    children = [s for s in stream.shards if shard.shard_id in (s.parent, s.adjacent_parent)]
    return [
        {
            "ShardId": child.shard_id,
            "ParentShards": [p for p in (child.parent, child.adjacent_parent) if p],
            "HashKeyRange": {
                "StartingHashKey": child.hash_start,
                "EndingHashKey": child.hash_end,
            },
        }
        for child in children
    ]


def _encryption_context(stream: Stream, shard: Shard) -> bytes:
    """Associated data binding a sealed record to its stream and shard."""
    return f"{stream.stream_id}/{shard.shard_id}".encode()


def parse_shard_id(text: str) -> int | None:
    """The index a shard id names; AWS reads the digits after the first '-' (or all of them)."""
    digits = text.split("-", 1)[1] if "-" in text else text
    if not digits.isdigit() or not digits.isascii() or int(digits) >= 2**31:
        return None
    return int(digits)


def _java_date(epoch_ms: int) -> str:
    """Java's Date.toString() form, which AWS uses in iterator-expiry messages."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%a %b %d %H:%M:%S UTC %Y")
