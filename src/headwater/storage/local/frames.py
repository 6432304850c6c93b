"""The on-disk frame of a segment file: one frame per append (a batch of records).

Layout (little endian)::

    u32 body_length   bytes after the CRC field
    u32 crc32c        of the body
    body: u64 first_position, u64 arrival_ms, u8 codec, then the batch body
          (``headwater.storage.batch_body``: count, key lengths, data lengths, keys, datas)

``codec`` tells how the service encoded keys and data (0: as given, 1: encrypted); storage
keeps it without interpreting it.

A frame is valid only if its length is sane, its CRC matches, its lengths add up and it
starts at the position expected next, so a torn or garbled tail is recognised on recovery
and cut off, and a read never returns a record that is not exactly what was written. One
CRC per append instead of one per record, and columns sliced in C, make reading a 500-record
batch cost about what one record used to.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from crc32c import crc32c

from headwater.storage import batch_body
from headwater.storage.base import StoredRecords

PREFIX = struct.Struct("<II")
BODY_HEADER = struct.Struct("<QQB")
_FRAME_HEAD = struct.Struct("<IIQQBI")  # prefix, body header and the batch's record count
# The largest append is a PutRecords request (at most 14 MiB on the wire, less once decoded);
# anything longer in a length field is corruption, not data, and is never allocated.
MAX_BODY = 16 * 1024 * 1024
_MIN_BODY = BODY_HEADER.size + batch_body.COUNT_SIZE


class Frame(NamedTuple):
    """Where a valid frame sits and what it holds."""

    offset: int
    end: int
    first_position: int
    count: int
    arrival_ms: int
    codec: int

    @property
    def body_start(self) -> int:
        """Where the frame's batch body starts in the buffer it was read from."""
        return self.offset + PREFIX.size + BODY_HEADER.size

    def columns_valid(self, buffer: bytes) -> bool:
        """Whether the body's lengths add up to its size (``decode_frames`` finds out as it
        reads; a scan that does not read the records asks this)."""
        try:
            batch_body.batch_count(buffer, self.body_start, self.end)
        except batch_body.CorruptBatch:
            return False
        return True


def encode_frame(
    keys: Sequence[bytes], datas: Sequence[bytes], first_position: int, arrival_ms: int, codec: int
) -> bytes:
    """The frame of one append."""
    body = b"".join(
        [BODY_HEADER.pack(first_position, arrival_ms, codec), *batch_body.encode_body(keys, datas)]
    )
    if len(body) > MAX_BODY:  # requests are bounded far below; never write what reads refuse
        raise ValueError(f"an append of {len(body)} bytes exceeds the frame limit of {MAX_BODY}")
    return PREFIX.pack(len(body), crc32c(body)) + body


def frames(
    buffer: bytes, offset: int, next_position: int, *, may_start_inside: bool = False
) -> Iterator[Frame]:
    """The valid frames of ``buffer`` from ``offset``, each starting where the one before
    ended: the first at ``next_position`` (or, if ``may_start_inside``, holding it). Stops at
    an incomplete, corrupt or out-of-sequence frame, or at the end. The body's columns are
    left to the reader to check (see ``Frame.columns_valid``), so a read checks them once."""
    end = len(buffer)
    while offset + _FRAME_HEAD.size <= end:
        body_length, crc, first, arrival_ms, codec, count = _FRAME_HEAD.unpack_from(buffer, offset)
        body_start = offset + PREFIX.size
        frame_end = body_start + body_length
        in_sequence = first == next_position or (
            may_start_inside and first < next_position < first + count
        )
        if (
            body_length < _MIN_BODY
            or frame_end > end
            or not in_sequence
            or crc32c(memoryview(buffer)[body_start:frame_end]) != crc
        ):
            return
        yield Frame(offset, frame_end, first, count, arrival_ms, codec)
        offset = frame_end
        next_position = first + count
        may_start_inside = False


def decode_frames(
    buffer: bytes, offset: int, out: StoredRecords, max_records: int, max_bytes: int
) -> tuple[int, bool]:
    """Append the records of ``buffer``'s valid frames from ``offset`` to ``out``, starting
    at ``out.next_position`` (which may lie inside the first frame).

    Returns the offset after the last frame wholly taken, and whether reading may go on from
    there: False once ``max_records`` or ``max_bytes`` stopped it (see
    ``batch_body.decode_into``) or a frame was corrupt or out of sequence. A clean end of
    ``buffer``, or a frame it holds only part of, leaves it True.
    """
    end = len(buffer)
    for frame in frames(buffer, offset, out.next_position, may_start_inside=True):
        skip = out.next_position - frame.first_position
        try:
            taken = batch_body.decode_into(
                out,
                buffer,
                frame.body_start,
                frame.end,
                skip,
                max_records,
                max_bytes,
                frame.arrival_ms,
                frame.codec,
            )
        except batch_body.CorruptBatch:
            return offset, False
        if skip + taken < frame.count:
            return offset, False
        offset = frame.end
    return offset, offset == end or _incomplete(buffer, offset)


def skip_frames(buffer: bytes, offset: int, position: int) -> int:
    """Step over the frames that end at or before ``position``, by their headers alone
    (their records are not wanted, so neither their CRC nor their bodies are read).

    Stops at a frame holding ``position``, at a header beyond ``buffer`` or with an insane
    length; the offset returned may lie past the end of ``buffer`` when the last frame
    stepped over does.
    """
    end = len(buffer)
    while offset + _FRAME_HEAD.size <= end:
        body_length, _, first, _, _, count = _FRAME_HEAD.unpack_from(buffer, offset)
        if body_length < _MIN_BODY or body_length > MAX_BODY or first + count > position:
            break
        offset += PREFIX.size + body_length
    return offset


def frame_length_at(buffer: bytes | memoryview, offset: int) -> int | None:
    """Total length of the frame starting at ``offset`` if its prefix is readable and sane."""
    if offset + PREFIX.size > len(buffer):
        return None
    body_length, _ = PREFIX.unpack_from(buffer, offset)
    if body_length < _MIN_BODY or body_length > MAX_BODY:
        return None
    return PREFIX.size + body_length


def _incomplete(buffer: bytes, offset: int) -> bool:
    """Whether the bytes at ``offset`` are the start of a sane frame ``buffer`` cuts short."""
    length = frame_length_at(buffer, offset)
    return offset + _FRAME_HEAD.size > len(buffer) or (
        length is not None and offset + length > len(buffer)
    )
