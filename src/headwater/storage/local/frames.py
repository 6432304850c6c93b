"""The on-disk record frame of a segment file.

Layout (little endian)::

    u32 body_length   bytes after the CRC field
    u32 crc32c        of the body
    body: u64 position, u64 arrival_ms, u16 key_length, u8 codec, key, data

``codec`` tells how the service encoded key and data (0: as given, 1: encrypted); storage
keeps it without interpreting it.

A frame is valid only if its length is sane and its CRC matches, so a torn or garbled tail
is recognised on recovery and cut off.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from crc32c import crc32c

from headwater.storage.base import StoredRecord

PREFIX = struct.Struct("<II")
BODY_HEADER = struct.Struct("<QQHB")
FRAME_OVERHEAD = PREFIX.size + BODY_HEADER.size
# A record is at most a few MiB (Kinesis allows 1 MiB, up to 10 MiB with a raised limit);
# anything longer in a length field is corruption, not data, and is never allocated.
MAX_BODY = 16 * 1024 * 1024

_crc = crc32c
_pack_prefix = PREFIX.pack
_pack_body_header = BODY_HEADER.pack
_unpack_prefix = PREFIX.unpack_from
_unpack_body_header = BODY_HEADER.unpack_from


def encode_batch(
    records: list[tuple[bytes, bytes]], first_position: int, arrival_ms: int, codec: int = 0
) -> tuple[bytes, list[int]]:
    """Frames for a batch, plus the byte offset of each frame within the returned buffer."""
    parts: list[bytes] = []
    offsets: list[int] = []
    offset = 0
    position = first_position
    for key, data in records:
        body = b"".join((_pack_body_header(position, arrival_ms, len(key), codec), key, data))
        parts.append(_pack_prefix(len(body), _crc(body)))
        parts.append(body)
        offsets.append(offset)
        offset += PREFIX.size + len(body)
        position += 1
    return b"".join(parts), offsets


def decode_frames(buffer: bytes | memoryview, start: int = 0) -> Iterator[tuple[int, StoredRecord]]:
    """Yield (offset of the next frame, record) for each valid frame from ``start``.

    Stops at the first incomplete or invalid frame; the caller compares the last offset with
    the buffer length to tell a clean end from a torn one.
    """
    view = memoryview(buffer)
    end = len(view)
    offset = start
    while offset + PREFIX.size <= end:
        body_length, crc = _unpack_prefix(view, offset)
        if body_length < BODY_HEADER.size or body_length > MAX_BODY:
            return
        body_start = offset + PREFIX.size
        body_end = body_start + body_length
        if body_end > end:
            return
        body = view[body_start:body_end]
        if _crc(body) != crc:
            return
        position, arrival_ms, key_length, codec = _unpack_body_header(body)
        key_end = BODY_HEADER.size + key_length
        if key_end > body_length:
            return
        record = StoredRecord(
            position,
            arrival_ms,
            bytes(body[BODY_HEADER.size : key_end]),
            bytes(body[key_end:]),
            codec,
        )
        offset = body_end
        yield offset, record


def frame_length_at(buffer: bytes | memoryview, offset: int) -> int | None:
    """Total length of the frame starting at ``offset`` if its prefix is readable and sane."""
    if offset + PREFIX.size > len(buffer):
        return None
    body_length, _ = _unpack_prefix(buffer, offset)
    if body_length < BODY_HEADER.size or body_length > MAX_BODY:
        return None
    return PREFIX.size + body_length
