"""The set of streams: lookup by name or ARN, persistence, shard logs and throttles."""

from __future__ import annotations

import asyncio
import logging
import uuid

from headwater.errors import (
    InvalidArgumentException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from headwater.service.clock import Clock
from headwater.service.config import ServiceConfig
from headwater.service.limits import ShardThrottle, ShardUsage
from headwater.service.model import STATUS_ACTIVE, STATUS_UPDATING, Shard, Stream
from headwater.storage.base import ShardLog, Storage

log = logging.getLogger(__name__)

WRITABLE_STATES = (STATUS_ACTIVE, STATUS_UPDATING)


class StreamRegistry:
    """Owns every ``Stream`` and the per-shard runtime objects (logs, throttles)."""

    def __init__(self, storage: Storage, clock: Clock, config: ServiceConfig) -> None:
        self.storage = storage
        self.clock = clock
        self.config = config
        self.streams: dict[str, Stream] = {}
        self._throttles: dict[tuple[str, int], ShardThrottle] = {}
        self._logs: dict[tuple[str, int], ShardLog] = {}
        self._usage: dict[tuple[str, int], ShardUsage] = {}
        self._writers: dict[tuple[str, int], int] = {}
        self._writers_done: dict[tuple[str, int], asyncio.Event] = {}

    def load(self) -> None:
        for document in self.storage.metadata.load_streams():
            stream = Stream.from_document(document)
            self.streams[stream.name] = stream
        self.storage.metadata.watch(self.apply_change)

    def apply_change(self, stream_id: str, document: dict | None) -> None:
        """Adopt a stream document another node saved (None: it deleted the stream).

        Each node serves every stream, so a create, reshard or delete made elsewhere must show
        here; the node that made it also dropped or sealed the storage, so only the in-memory
        view changes.
        """
        current = next((s for s in self.streams.values() if s.stream_id == stream_id), None)
        if document is None:
            if current is not None:
                self._discard(current)
            return
        if current is not None and current.to_document() == document:
            return
        stream = Stream.from_document(document)
        if current is not None and current.name != stream.name:
            self._discard(current)
        self.streams[stream.name] = stream

    # -- lookup --------------------------------------------------------------------------

    def not_found(self, name: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(
            f"Stream {name} under account {self.config.account_id} not found."
        )

    def resolve_name(self, request: dict) -> str:
        """The stream a request names, by ``StreamName`` or ``StreamARN`` (which must agree)."""
        name = request.get("StreamName")
        arn = request.get("StreamARN")
        if arn is not None:
            arn_name = self.name_from_arn(arn)
            if name is not None and name != arn_name:
                raise InvalidArgumentException(
                    f"StreamARN {arn} and StreamName {name} do not refer to the same stream."
                )
            return arn_name
        if name is None:
            raise InvalidArgumentException("Either StreamName or StreamARN should be provided.")
        return name

    def name_from_arn(self, arn: str) -> str:
        prefix = f"arn:aws:kinesis:{self.config.region}:{self.config.account_id}:stream/"
        if not arn.startswith(prefix) or "/" in arn[len(prefix) :]:
            raise ResourceNotFoundException(
                f"Stream {arn.rsplit('/', 1)[-1]} under account {self.config.account_id} not found."
            )
        return arn[len(prefix) :]

    def get(self, name: str) -> Stream:
        """A stream in any state but gone; purges one whose deletion delay has passed."""
        stream = self.streams.get(name)
        if stream is None:
            raise self.not_found(name)
        if stream.deleting_at_ms is not None and self.clock.now_ms() >= stream.deleting_at_ms:
            self.forget(stream)
            raise self.not_found(name)
        return stream

    def find(self, request: dict) -> Stream:
        return self.get(self.resolve_name(request))

    def find_writable(self, request: dict) -> Stream:
        """A stream that accepts data and configuration changes (ACTIVE or UPDATING)."""
        stream = self.find(request)
        self.require_state(stream, WRITABLE_STATES)
        return stream

    def require_state(self, stream: Stream, states: tuple[str, ...]) -> None:
        status = stream.status(self.clock.now_ms())
        if status not in states:
            raise ResourceInUseException(
                f"Stream {stream.name} under account {self.config.account_id} "
                f"not ACTIVE, instead in state {status}"
            )

    # -- lifecycle -----------------------------------------------------------------------

    def add(self, stream: Stream) -> None:
        if stream.name in self.streams:
            raise ResourceInUseException(
                f"Stream {stream.name} under account {self.config.account_id} already exists."
            )
        self.streams[stream.name] = stream
        self.save(stream)

    def save(self, stream: Stream) -> None:
        self.storage.metadata.save_stream(stream.stream_id, stream.to_document())
        self._open_new_shards(stream)

    def _open_new_shards(self, stream: Stream) -> None:
        """Open the logs of a reshard's children in the background: a networked log sets up
        its storage then (tens of ms), not in the first put or in the next reshard's seal."""
        for shard in stream.shards:
            key = (stream.stream_id, shard.index)
            if shard.parent is not None and shard.is_open and key not in self._logs:
                task = asyncio.get_running_loop().create_task(self.shard_log(stream, shard))
                task.add_done_callback(_log_open_failure)

    def forget(self, stream: Stream) -> None:
        """Remove a stream whose deletion completed; its logs are dropped in the background."""
        self._discard(stream)
        self.storage.metadata.delete_stream(stream.stream_id)
        task = asyncio.get_running_loop().create_task(self.storage.drop_stream(stream.stream_id))
        task.add_done_callback(_log_failure)

    def _discard(self, stream: Stream) -> None:
        """Forget a stream's in-memory state (not its stored data)."""
        if self.streams.get(stream.name) is stream:
            del self.streams[stream.name]
        for table in (self._logs, self._throttles, self._usage):
            for key in [k for k in table if k[0] == stream.stream_id]:
                del table[key]

    @staticmethod
    def new_stream_id() -> str:
        return uuid.uuid4().hex

    # -- per-shard runtime ---------------------------------------------------------------

    def throttle(self, stream: Stream, shard: Shard) -> ShardThrottle:
        key = (stream.stream_id, shard.index)
        throttle = self._throttles.get(key)
        if throttle is None:
            throttle = ShardThrottle(self.config.limits, self.clock.now_ms())
            self._throttles[key] = throttle
        return throttle

    def usage(self, stream: Stream, shard: Shard) -> ShardUsage:
        key = (stream.stream_id, shard.index)
        usage = self._usage.get(key)
        if usage is None:
            usage = self._usage[key] = ShardUsage()
        return usage

    def begin_write(self, stream: Stream, shard: Shard) -> None:
        """Count a put routed to ``shard`` whose append has not finished yet."""
        key = (stream.stream_id, shard.index)
        self._writers[key] = self._writers.get(key, 0) + 1

    def end_write(self, stream: Stream, shard: Shard) -> None:
        key = (stream.stream_id, shard.index)
        left = self._writers[key] - 1
        if left:
            self._writers[key] = left
            return
        del self._writers[key]
        done = self._writers_done.pop(key, None)
        if done is not None:
            done.set()

    async def writes_drained(self, stream: Stream, shard: Shard) -> None:
        """Wait until every put already routed to ``shard`` has been appended, then seal it.

        Resharding closes a shard's routing first, then waits here, so the shard's final
        position covers every record that was sent to it; sealing stops writers on other
        nodes that have not heard of the reshard yet.
        """
        key = (stream.stream_id, shard.index)
        if key in self._writers:
            await self._writers_done.setdefault(key, asyncio.Event()).wait()
        await (await self.shard_log(stream, shard)).seal()

    async def drop_shard_data(self, stream: Stream, shard: Shard) -> None:
        """Forget a shard whose data aged out, and delete its log."""
        key = (stream.stream_id, shard.index)
        self._logs.pop(key, None)
        self._throttles.pop(key, None)
        self._usage.pop(key, None)
        await self.storage.drop_shard(stream.stream_id, shard.shard_id)

    async def shard_log(self, stream: Stream, shard: Shard) -> ShardLog:
        key = (stream.stream_id, shard.index)
        shard_log = self._logs.get(key)
        if shard_log is None:
            shard_log = await self.storage.open_shard(stream.stream_id, shard.shard_id)
            self._logs[key] = shard_log
        return shard_log


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("dropping a deleted stream's data failed", exc_info=task.exception())


def _log_open_failure(task: asyncio.Task[ShardLog]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("opening a new shard's log failed", exc_info=task.exception())
