"""A shard's log on local disk: a directory of segment files.

Writes go to the active (last) segment and are acknowledged after a group-committed
fdatasync; readers only see durable positions. A segment is sealed when it passes
``segment_bytes``; its index is saved once its data is durable. Retention deletes whole
sealed segments. Recovery loads saved indexes, rescans the rest and truncates a torn tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from headwater.storage.base import AppendResult, StoredRecords
from headwater.storage.local.frames import encode_frame
from headwater.storage.local.group_commit import GroupCommitter
from headwater.storage.local.segment import Segment

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".seg"
DEFAULT_SEGMENT_BYTES = 32 * 1024 * 1024


def _segment_path(directory: Path, start_position: int) -> Path:
    return directory / f"{start_position:020d}{SEGMENT_SUFFIX}"


class LocalShardLog:
    """The ``ShardLog`` of one shard, backed by segment files in ``directory``."""

    def __init__(
        self,
        directory: Path,
        committer: GroupCommitter,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.directory = directory
        self._committer = committer
        self._segment_bytes = segment_bytes
        self._segments: list[Segment] = []
        self._end_position = 0
        self._last_arrival_ms = 0
        self._background: set[asyncio.Task[None]] = set()
        self._advanced = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------

    def recover(self) -> None:
        """Load the directory: saved indexes for sealed segments, a scan for the rest."""
        self.directory.mkdir(parents=True, exist_ok=True)
        paths = sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}"))
        segments: list[Segment] = []
        expected: int | None = None
        for number, path in enumerate(paths):
            segment = Segment(path, int(path.stem))
            is_last = number == len(paths) - 1
            start = segment.start_position if expected is None else expected
            if not is_last and segment.load_index() and segment.start_position == start:
                segments.append(segment)
                expected = segment.next_position
                continue
            intact = segment.recover(start)
            if segment.start_position != start:
                log.warning("segment out of sequence, dropping it and later ones: %s", path)
                self._remove(paths[number:])
                segment.close()
                break
            segments.append(segment)
            expected = segment.next_position
            if not intact:
                log.warning("torn tail truncated in %s at %d bytes", path, segment.size)
                self._remove(paths[number + 1 :])
                break
            if not is_last:
                segment.save_index()
                segment.close()
        self._segments = segments
        if segments:
            self._end_position = segments[-1].next_position
            self._last_arrival_ms = max(s.last_arrival_ms for s in segments)

    @staticmethod
    def _remove(paths: Sequence[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
            path.with_suffix(".idx").unlink(missing_ok=True)

    async def close(self) -> None:
        """Finish background sealing and close descriptors."""
        await self._committer.drain()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        for segment in self._segments:
            segment.close()

    # -- ShardLog interface ------------------------------------------------------------

    @property
    def start_position(self) -> int:
        return self._segments[0].start_position if self._segments else self._end_position

    @property
    def end_position(self) -> int:
        return self._end_position

    @property
    def last_arrival_ms(self) -> int:
        return self._last_arrival_ms

    async def append(
        self, keys: Sequence[bytes], datas: Sequence[bytes], arrival_ms: int, codec: int = 0
    ) -> AppendResult:
        segment = self._active_segment()
        arrival_ms = max(arrival_ms, segment.last_arrival_ms, self._last_arrival_ms)
        first = segment.next_position
        segment.write(encode_frame(keys, datas, first, arrival_ms, codec), len(keys), arrival_ms)
        durable = self._committer.request(segment)
        # The write is in the page cache; it becomes visible when its sync ends, even if the
        # caller has gone away by then (a callback, not the caller, publishes it), so
        # positions become visible in order.
        durable.add_done_callback(
            partial(self._committed, segment, segment.size, segment.next_position, arrival_ms)
        )
        await asyncio.shield(durable)
        return AppendResult(first, arrival_ms)

    def _committed(
        self,
        segment: Segment,
        end_offset: int,
        end_position: int,
        arrival_ms: int,
        durable: asyncio.Future[None],
    ) -> None:
        if durable.cancelled() or durable.exception() is not None:
            return
        segment.durable_size = max(segment.durable_size, end_offset)
        if end_position > self._end_position:
            self._end_position = end_position
            self._last_arrival_ms = max(self._last_arrival_ms, arrival_ms)
            # Wake every subscriber waiting for new records, then arm a fresh event.
            self._advanced.set()
            self._advanced = asyncio.Event()

    async def wait_beyond(self, position: int, timeout_s: float) -> bool:
        if self._end_position > position:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._advanced.wait(), timeout_s)
        return self._end_position > position

    async def read(self, position: int, max_records: int, max_bytes: int) -> StoredRecords:
        out = StoredRecords(max(position, self.start_position))
        for segment in self._segments_from(out.first_position):
            segment.read(out, max_records, max_bytes)
            if len(out) >= max_records or out.next_position < segment.next_position:
                break
        return out

    async def position_at_time(self, arrival_ms: int) -> int:
        for segment in self._segments:
            if segment.size == 0 or segment.last_arrival_ms < arrival_ms:
                continue
            if segment.first_arrival_ms >= arrival_ms:
                return segment.start_position
            found = segment.first_position_at_time(arrival_ms)
            if found is not None:
                return min(found, self._end_position)
        return self._end_position

    async def seal(self) -> None:
        """Nothing to do: this process is the only writer, and its writes have drained."""

    async def trim_before(self, arrival_ms: int) -> None:
        while len(self._segments) > 1:
            oldest = self._segments[0]
            if not oldest.sealed or oldest.last_arrival_ms >= arrival_ms:
                break
            self._segments.pop(0)
            oldest.close()
            self._remove([oldest.path])

    # -- internals ---------------------------------------------------------------------

    def _segments_from(self, position: int) -> list[Segment]:
        for i, segment in enumerate(self._segments):
            if segment.next_position > position:
                return self._segments[i:]
        return []

    def _active_segment(self) -> Segment:
        if self._segments and self._segments[-1].size < self._segment_bytes:
            return self._segments[-1]
        start = self._segments[-1].next_position if self._segments else self._end_position
        if self._segments:
            self._seal_in_background(self._segments[-1])
        segment = Segment(_segment_path(self.directory, start), start)
        self._segments.append(segment)
        return segment

    def _seal_in_background(self, segment: Segment) -> None:
        task = asyncio.get_running_loop().create_task(self._seal(segment))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _seal(self, segment: Segment) -> None:
        await self._committer.sync(segment)
        segment.durable_size = segment.size
        await asyncio.to_thread(segment.save_index)
        segment.close()
