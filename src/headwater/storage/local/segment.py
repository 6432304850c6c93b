"""One segment file of a shard log, with its sparse position/time index.

A segment holds consecutive positions, one frame per append (``frames``). The active (last)
segment is appended to; older segments are sealed, and their sparse index is saved beside
them so a restart does not have to rescan them. The index keeps the start of one frame per
``INDEX_INTERVAL`` bytes in compact arrays, so memory grows with data size / 32 KiB, not
with the record count.
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path

from crc32c import crc32c

from headwater.storage.base import StoredRecords
from headwater.storage.local.frames import decode_frames, frame_length_at, frames, skip_frames

INDEX_INTERVAL = 32 * 1024
READ_CHUNK = 256 * 1024
_INDEX_MAGIC = b"HWIDX001"
_INDEX_HEADER = struct.Struct("<8sQQQQQQI")  # magic, start, next, size, first, last, count, crc
_UNBOUNDED = sys.maxsize


class SparseIndex:
    """Every ~INDEX_INTERVAL bytes: (first position, byte offset, arrival ms) of a frame."""

    __slots__ = ("offsets", "positions", "times")

    def __init__(self) -> None:
        self.positions = array("Q")
        self.offsets = array("Q")
        self.times = array("Q")

    def add(self, position: int, offset: int, arrival_ms: int) -> None:
        self.positions.append(position)
        self.offsets.append(offset)
        self.times.append(arrival_ms)

    def add_frame(self, position: int, offset: int, arrival_ms: int) -> None:
        """Note the frame at ``offset`` if it is the segment's first or lies INDEX_INTERVAL
        past the last entry."""
        if not self.offsets or offset >= self.offsets[-1] + INDEX_INTERVAL:
            self.add(position, offset, arrival_ms)

    def floor_by_position(self, position: int) -> tuple[int, int]:
        """(position, offset) of the last entry at or before ``position``."""
        i = max(bisect_right(self.positions, position) - 1, 0)
        return self.positions[i], self.offsets[i]

    def floor_by_time(self, arrival_ms: int) -> tuple[int, int, int | None]:
        """(position, offset) of the last entry before the first one arriving at or after
        ``arrival_ms``, and that one's position (None if there is none): the first record
        arriving at or after ``arrival_ms`` lies between the two."""
        i = max(bisect_left(self.times, arrival_ms) - 1, 0)
        after = self.positions[i + 1] if i + 1 < len(self.positions) else None
        return self.positions[i], self.offsets[i], after

    def to_bytes(self) -> bytes:
        return self.positions.tobytes() + self.offsets.tobytes() + self.times.tobytes()

    @classmethod
    def from_bytes(cls, payload: bytes, count: int) -> SparseIndex:
        index = cls()
        width = count * 8
        index.positions.frombytes(payload[:width])
        index.offsets.frombytes(payload[width : 2 * width])
        index.times.frombytes(payload[2 * width : 3 * width])
        return index


class Segment:
    """A segment file: its extent, index and (while active) its open descriptor."""

    def __init__(self, path: Path, start_position: int) -> None:
        self.path = path
        self.start_position = start_position
        self.next_position = start_position
        self.size = 0
        self.durable_size = 0
        self.first_arrival_ms = 0
        self.last_arrival_ms = 0
        self.index = SparseIndex()
        self.sealed = False  # index saved: the file will not change again
        self._fd: int | None = None
        self._entry_durable = path.exists()

    @property
    def index_path(self) -> Path:
        return self.path.with_suffix(".idx")

    @property
    def fd(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- writing -----------------------------------------------------------------------

    def write(self, frame: bytes, count: int, arrival_ms: int) -> None:
        """Write an append's frame at the end (durable once ``sync`` has run)."""
        written = os.pwrite(self.fd, frame, self.size)
        if written != len(frame):
            raise OSError(f"short write to {self.path}: {written} of {len(frame)} bytes")
        self._add_frame(self.size, len(frame), count, arrival_ms)

    def _add_frame(self, offset: int, length: int, count: int, arrival_ms: int) -> None:
        """Index and extent of a frame written or found at ``offset`` (the next one)."""
        self.index.add_frame(self.next_position, offset, arrival_ms)
        if self.size == 0:
            self.first_arrival_ms = arrival_ms
        self.size = offset + length
        self.next_position += count
        self.last_arrival_ms = arrival_ms

    def sync(self) -> None:
        """Make everything written so far durable (called off the event loop).

        A new file's directory entries (segment, shard and stream directories) are synced
        once too, so the file itself survives a power loss, not only its contents.
        """
        if self._fd is not None:
            os.fdatasync(self._fd)
        if not self._entry_durable:
            for directory in list(self.path.parents)[:3]:
                _fsync_directory(directory)
            self._entry_durable = True

    def save_index(self) -> None:
        """Persist the sparse index of a sealed, durable segment, atomically."""
        payload = self.index.to_bytes()
        header = _INDEX_HEADER.pack(
            _INDEX_MAGIC,
            self.start_position,
            self.next_position,
            self.size,
            self.first_arrival_ms,
            self.last_arrival_ms,
            len(self.index.positions),
            crc32c(payload),
        )
        tmp = self.index_path.with_suffix(".idx.tmp")
        with open(tmp, "wb") as handle:
            handle.write(header + payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.index_path)
        self.sealed = True

    # -- recovery ----------------------------------------------------------------------

    def load_index(self) -> bool:
        """Load a saved index; False when missing or not matching the file (then rescan)."""
        try:
            raw = self.index_path.read_bytes()
            file_size = self.path.stat().st_size
        except FileNotFoundError:
            return False
        if len(raw) < _INDEX_HEADER.size:
            return False
        magic, start, next_pos, size, first, last, count, crc = _INDEX_HEADER.unpack_from(raw)
        payload = raw[_INDEX_HEADER.size :]
        valid = (
            magic == _INDEX_MAGIC
            and start == self.start_position
            and size == file_size
            and len(payload) == count * 24
            and crc32c(payload) == crc
        )
        if not valid:
            return False
        self.index = SparseIndex.from_bytes(payload, count)
        self.sealed = True
        self.next_position, self.size, self.durable_size = next_pos, size, size
        self.first_arrival_ms, self.last_arrival_ms = first, last
        return True

    def recover(self, expected_start: int) -> bool:
        """Rebuild the index by scanning; cut a torn tail. True if the file was intact."""
        self.index = SparseIndex()
        self.next_position = self.start_position
        self.size = 0
        file_size = self.path.stat().st_size
        offset = 0
        intact = self.start_position == expected_start
        while intact and offset < file_size:
            chunk = os.pread(self.fd, _chunk_length(self.fd, offset, file_size), offset)
            consumed = 0
            for frame in frames(chunk, 0, self.next_position):
                if not frame.columns_valid(chunk):
                    break
                self._add_frame(
                    offset + frame.offset, frame.end - frame.offset, frame.count, frame.arrival_ms
                )
                consumed = frame.end
            if not consumed:
                break
            offset += consumed
        self.size = self.durable_size = offset
        if offset < file_size:
            os.ftruncate(self.fd, offset)
            os.fsync(self.fd)
            return False
        return intact

    # -- reading -----------------------------------------------------------------------

    def read(self, out: StoredRecords, max_records: int, max_bytes: int) -> None:
        """Append this segment's durable records from ``out.next_position`` to ``out``,
        within the bounds ``decode_frames`` keeps."""
        position = out.next_position
        if position >= self.next_position or len(out) >= max_records:
            return
        _, offset = self.index.floor_by_position(position)
        self._decode(offset, out, max_records, max_bytes)

    def first_position_at_time(self, arrival_ms: int) -> int | None:
        """First durable position arriving at or after ``arrival_ms`` in this segment."""
        position, offset, bound = self.index.floor_by_time(arrival_ms)
        count = (self.next_position if bound is None else bound + 1) - position
        found = StoredRecords(position)
        self._decode(offset, found, count, _UNBOUNDED)
        i = bisect_left(found.arrival_ms, arrival_ms)
        return position + i if i < len(found) else None

    def _decode(self, offset: int, out: StoredRecords, max_records: int, max_bytes: int) -> None:
        """Decode durable records into ``out`` from the frame at ``offset`` on, stepping over
        the frames before ``out.next_position`` (the index is sparse: the records wanted may
        start a few frames later)."""
        fd = self._fd if self._fd is not None else os.open(self.path, os.O_RDONLY)
        try:
            while offset < self.durable_size and len(out) < max_records:
                chunk = os.pread(fd, _chunk_length(fd, offset, self.durable_size), offset)
                start = skip_frames(chunk, 0, out.next_position)
                if start >= len(chunk):
                    offset += start
                    continue
                end, more = decode_frames(chunk, start, out, max_records, max_bytes)
                if not more or end == 0:
                    return
                offset += end
        finally:
            if fd != self._fd:
                os.close(fd)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _chunk_length(fd: int, offset: int, limit: int) -> int:
    """How much to read at ``offset``: a chunk holding at least the whole frame there (when
    its length is sane), never past ``limit``."""
    frame_length = frame_length_at(os.pread(fd, 8, offset), 0) or 0
    return min(max(READ_CHUNK, frame_length), limit - offset)
