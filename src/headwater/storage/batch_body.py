"""The records of one append, packed as columns: the unit both storage backends keep.

Layout (little endian): ``count`` (u32), ``count`` key lengths (u16), ``count`` data lengths
(u32), then every key, then every data. A 100-byte record costs 6 bytes of framing, and a
reader slices whole columns with C-level maps over the length arrays instead of walking a
header per record — reading a batch costs a few calls, not a few calls per record.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate, repeat
from operator import add

from headwater.storage.base import StoredRecords

_COUNT = struct.Struct("<I")
COUNT_SIZE = _COUNT.size
_PER_RECORD = 6  # a u16 key length and a u32 data length


class CorruptBatch(ValueError):
    """A batch body whose lengths do not add up to its size."""


def encode_body(records: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
    """The parts of a batch body, in order (the caller joins them with its own header)."""
    count = len(records)
    keys, datas = zip(*records, strict=True) if count else ((), ())
    return [
        _COUNT.pack(count),
        struct.pack(f"<{count}H", *map(len, keys)),
        struct.pack(f"<{count}I", *map(len, datas)),
        *keys,
        *datas,
    ]


def batch_count(buffer: bytes, start: int, end: int) -> int:
    """The record count of the body at ``buffer[start:end]``, once its lengths are checked
    to add up to its size (so slicing it cannot go astray)."""
    count, _, _ = _lengths(buffer, start, end)
    return count


def decode_into(
    out: StoredRecords,
    buffer: bytes,
    start: int,
    end: int,
    skip: int,
    max_records: int,
    max_bytes: int,
    arrival_ms: int,
    codec: int,
) -> int:
    """Append the records of the body at ``buffer[start:end]`` from index ``skip`` to ``out``
    within both bounds; returns the count taken.

    Stops before ``out`` holds ``max_records``, and before a record that would take
    ``out.size`` past ``max_bytes`` — except that an empty ``out`` always takes one record,
    so a reader moves on whatever the record's size.
    """
    count, key_lengths, data_lengths = _lengths(buffer, start, end)
    wanted = min(count - skip, max_records - len(out))
    if wanted <= 0:
        return 0
    last = skip + wanted
    sizes = list(accumulate(map(add, key_lengths[skip:last], data_lengths[skip:last])))
    taken = bisect_right(sizes, max_bytes - out.size) or (0 if out.datas else 1)
    if not taken:
        return 0
    last = skip + taken
    key_ends = list(accumulate(key_lengths, initial=start + COUNT_SIZE + _PER_RECORD * count))
    data_ends = list(accumulate(data_lengths, initial=key_ends[-1]))
    cut = buffer.__getitem__
    out.partition_keys.extend(map(cut, map(slice, key_ends[skip:last], key_ends[skip + 1 :])))
    out.datas.extend(map(cut, map(slice, data_ends[skip:last], data_ends[skip + 1 :])))
    out.arrival_ms.extend(repeat(arrival_ms, taken))
    out.codecs.extend(repeat(codec, taken))
    out.size += sizes[taken - 1]
    return taken


def _lengths(buffer: bytes, start: int, end: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """Count, key lengths and data lengths of a body, checked against its extent before
    anything is allocated from them."""
    if end - start < COUNT_SIZE:
        raise CorruptBatch("batch body shorter than its count")
    (count,) = _COUNT.unpack_from(buffer, start)
    columns = start + COUNT_SIZE + _PER_RECORD * count
    if columns > end:
        raise CorruptBatch(f"batch of {count} records longer than its body")
    key_lengths = struct.unpack_from(f"<{count}H", buffer, start + COUNT_SIZE)
    data_lengths = struct.unpack_from(f"<{count}I", buffer, start + COUNT_SIZE + 2 * count)
    if columns + sum(key_lengths) + sum(data_lengths) != end:
        raise CorruptBatch("batch lengths do not add up to its body")
    return count, key_lengths, data_lengths
