"""One segment file of a shard log, with its sparse position/time index.

A segment holds consecutive positions. The active (last) segment is appended to; older
segments are sealed, and their sparse index is saved beside them so a restart does not have
to rescan them. The index keeps one entry per ``INDEX_INTERVAL`` bytes in compact arrays,
so memory grows with data size / 32 KiB, not with the record count.
"""

from __future__ import annotations

import os
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from pathlib import Path

from crc32c import crc32c

from headwater.storage.base import StoredRecord
from headwater.storage.local.frames import decode_frames, frame_length_at

INDEX_INTERVAL = 32 * 1024
READ_CHUNK = 256 * 1024
_INDEX_MAGIC = b"HWIDX001"
_INDEX_HEADER = struct.Struct("<8sQQQQQQI")  # magic, start, next, size, first, last, count, crc


class SparseIndex:
    """Every ~INDEX_INTERVAL bytes: (position, byte offset, arrival ms) of a frame."""

    __slots__ = ("offsets", "positions", "times")

    def __init__(self) -> None:
        self.positions = array("Q")
        self.offsets = array("Q")
        self.times = array("Q")

    def add(self, position: int, offset: int, arrival_ms: int) -> None:
        self.positions.append(position)
        self.offsets.append(offset)
        self.times.append(arrival_ms)

    def wants_entry(self, offset: int) -> bool:
        return not self.offsets or offset - self.offsets[-1] >= INDEX_INTERVAL

    def floor_by_position(self, position: int) -> tuple[int, int]:
        """(position, offset) of the last entry at or before ``position``."""
        i = max(bisect_right(self.positions, position) - 1, 0)
        return self.positions[i], self.offsets[i]

    def floor_by_time(self, arrival_ms: int) -> tuple[int, int]:
        """(position, offset) of an entry at or before the first arrival at ``arrival_ms``."""
        i = max(bisect_left(self.times, arrival_ms) - 1, 0)
        return self.positions[i], self.offsets[i]

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

    def write(self, frames: bytes, offsets: list[int], count: int, arrival_ms: int) -> None:
        """Write a batch's frames at the end (not yet durable: see ``mark_durable``)."""
        base = self.size
        written = os.pwrite(self.fd, frames, base)
        if written != len(frames):
            raise OSError(f"short write to {self.path}: {written} of {len(frames)} bytes")
        position = self.next_position
        for i, offset in enumerate(offsets):
            if self.index.wants_entry(base + offset):
                self.index.add(position + i, base + offset, arrival_ms)
        if self.size == 0:
            self.first_arrival_ms = arrival_ms
        self.size += len(frames)
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
            chunk = os.pread(self.fd, max(READ_CHUNK, _needed(self.fd, offset)), offset)
            consumed = 0
            for next_offset, record in decode_frames(chunk):
                if record.position != self.next_position:
                    intact = False
                    break
                frame_start = offset + consumed
                if self.index.wants_entry(frame_start):
                    self.index.add(record.position, frame_start, record.arrival_ms)
                if self.next_position == self.start_position:
                    self.first_arrival_ms = record.arrival_ms
                self.last_arrival_ms = record.arrival_ms
                self.next_position += 1
                consumed = next_offset
            if consumed == 0:
                break
            offset += consumed
        self.size = self.durable_size = offset
        if offset < file_size:
            os.ftruncate(self.fd, offset)
            os.fsync(self.fd)
            return False
        return intact

    # -- reading -----------------------------------------------------------------------

    def read(
        self, position: int, max_records: int, max_bytes: int, allow_oversize: bool = True
    ) -> list[StoredRecord]:
        """Durable records of this segment from ``position``, within the given bounds.

        With ``allow_oversize`` the first record is returned even if it alone passes
        ``max_bytes``, so a reader always makes progress.
        """
        if position >= self.next_position or max_records <= 0:
            return []
        _, offset = self.index.floor_by_position(position)
        return self._scan(
            offset, max_records, max_bytes, lambda r: r.position >= position, allow_oversize
        )

    def first_position_at_time(self, arrival_ms: int) -> int | None:
        """First durable position arriving at or after ``arrival_ms`` in this segment."""
        _, offset = self.index.floor_by_time(arrival_ms)
        found = self._scan(offset, 1, 1, lambda r: r.arrival_ms >= arrival_ms, True)
        return found[0].position if found else None

    def _scan(
        self,
        offset: int,
        max_records: int,
        max_bytes: int,
        accept: Callable[[StoredRecord], bool],
        allow_oversize: bool,
    ) -> list[StoredRecord]:
        out: list[StoredRecord] = []
        total = 0
        fd = self._fd if self._fd is not None else os.open(self.path, os.O_RDONLY)
        try:
            while offset < self.durable_size:
                want = min(max(READ_CHUNK, _needed(fd, offset)), self.durable_size - offset)
                chunk = os.pread(fd, want, offset)
                consumed = 0
                for next_offset, record in decode_frames(chunk):
                    consumed = next_offset
                    if not accept(record):
                        continue
                    size = len(record.data) + len(record.partition_key)
                    if total + size > max_bytes and (out or not allow_oversize):
                        return out
                    out.append(record)
                    total += size
                    if len(out) >= max_records:
                        return out
                if consumed == 0:
                    return out
                offset += consumed
        finally:
            if fd != self._fd:
                os.close(fd)
        return out


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _needed(fd: int, offset: int) -> int:
    """Length of the frame at ``offset`` (so a chunk always holds at least one whole frame)."""
    prefix = os.pread(fd, 8, offset)
    return frame_length_at(prefix, 0) or 0
