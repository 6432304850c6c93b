"""The on-disk record frame of a segment file.

Layout (little endian)::

    u32 body_length   bytes after the CRC field
    u32 crc32c        of the body
    body: u64 position, u64 arrival_ms, u16 key_length, u8 codec, key, data

``codec`` tells how the service encoded key and data (0: as given, 1: encrypted); storage
keeps it without interpreting it.

A frame is valid only if its length is sane, its CRC matches and it holds the position
expected next, so a torn or garbled tail is recognised on recovery and cut off, and a read
never returns a record that is not exactly what was written.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from crc32c import crc32c

from headwater.storage.base import StoredRecords

PREFIX = struct.Struct("<II")
BODY_HEADER = struct.Struct("<QQHB")
FRAME_OVERHEAD = PREFIX.size + BODY_HEADER.size
# A record is at most a few MiB (Kinesis allows 1 MiB, up to 10 MiB with a raised limit);
# anything longer in a length field is corruption, not data, and is never allocated.
MAX_BODY = 16 * 1024 * 1024

_FRAME_HEAD = struct.Struct("<IIQQHB")  # PREFIX then BODY_HEADER, unpacked in one call
# Plain ints for the per-frame loop (a Struct's .size is an attribute lookup every time).
_PREFIX_SIZE = PREFIX.size
_BODY_HEADER_SIZE = BODY_HEADER.size
_BODY_LENGTH = struct.Struct("<I")
_crc = crc32c
_pack_prefix = PREFIX.pack
_pack_body_header = BODY_HEADER.pack
_unpack_frame_head = _FRAME_HEAD.unpack_from
_unpack_body_length = _BODY_LENGTH.unpack_from


def encode_batch(
    records: Iterable[tuple[bytes, bytes]], first_position: int, arrival_ms: int, codec: int = 0
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


def decode_frames(
    buffer: bytes, offset: int, out: StoredRecords, max_records: int, max_bytes: int
) -> int:
    """Append the valid frames of ``buffer`` from ``offset`` to ``out``; return the offset
    after the last one taken.

    The first frame must hold ``out.next_position``. Stops at an incomplete, corrupt or
    out-of-sequence frame, when ``out`` holds ``max_records``, or before a record that would
    take ``out.size`` past ``max_bytes`` (unless ``out`` is empty: a reader always progresses).
    The caller compares the returned offset with the buffer length to tell a clean end from a
    torn one. Records go straight into columns: no object per record beyond its fields.
    """
    end = len(buffer)
    size = out.size
    keys, datas, times, codecs = out.partition_keys, out.datas, out.arrival_ms, out.codecs
    add_key, add_data, add_time, add_codec = keys.append, datas.append, times.append, codecs.append
    first = out.next_position
    for position in range(first, first + max_records - len(keys)):
        if offset + FRAME_OVERHEAD > end:
            break
        body_length, crc, stored_position, arrival_ms, key_length, codec = _unpack_frame_head(
            buffer, offset
        )
        body_start = offset + _PREFIX_SIZE
        frame_end = body_start + body_length
        if (
            frame_end > end
            or body_length < _BODY_HEADER_SIZE
            or stored_position != position
            or _crc(buffer[body_start:frame_end]) != crc
        ):
            break
        record_size = body_length - _BODY_HEADER_SIZE
        if size + record_size > max_bytes and keys:
            break
        size += record_size
        key_start = body_start + _BODY_HEADER_SIZE
        key_end = key_start + key_length
        add_key(buffer[key_start:key_end])
        add_data(buffer[key_end:frame_end])
        add_time(arrival_ms)
        add_codec(codec)
        offset = frame_end
    out.size = size
    return offset


def skip_frames(buffer: bytes, offset: int, count: int) -> tuple[int, int]:
    """Step over up to ``count`` frames by their length prefixes alone (their records are not
    wanted, so neither their CRC nor their fields are read); returns (offset, frames left).

    Stops early at a prefix beyond ``buffer`` or with an insane length; the offset returned
    may lie past the end of ``buffer`` when the last frame stepped over does.
    """
    end = len(buffer)
    while count > 0 and offset + _PREFIX_SIZE <= end:
        (body_length,) = _unpack_body_length(buffer, offset)
        if body_length < _BODY_HEADER_SIZE or body_length > MAX_BODY:
            break
        offset += _PREFIX_SIZE + body_length
        count -= 1
    return offset, count


def frame_length_at(buffer: bytes | memoryview, offset: int) -> int | None:
    """Total length of the frame starting at ``offset`` if its prefix is readable and sane."""
    if offset + PREFIX.size > len(buffer):
        return None
    (body_length,) = _unpack_body_length(buffer, offset)
    if body_length < BODY_HEADER.size or body_length > MAX_BODY:
        return None
    return PREFIX.size + body_length
