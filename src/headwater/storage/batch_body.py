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
from itertools import accumulate, islice, pairwise, repeat
from operator import add

from headwater.storage.base import StoredRecords

_COUNT = struct.Struct("<I")
COUNT_SIZE = _COUNT.size
_PER_RECORD = 6  # a u16 key length and a u32 data length


class CorruptBatch(ValueError):
    """A batch body whose lengths do not add up to its size."""


def encode_body(keys: Sequence[bytes], datas: Sequence[bytes]) -> list[bytes]:
    """The parts of a batch body, in order (the caller joins them with its own header)."""
    count = len(keys)
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
    return _Columns(buffer, start, end).count


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
    expected_count: int | None = None,
) -> int:
    """Append the records of the body at ``buffer[start:end]`` from index ``skip`` to ``out``
    within both bounds; returns the count taken.

    Stops before ``out`` holds ``max_records``, and before a record that would take
    ``out.size`` past ``max_bytes`` — except that an empty ``out`` always takes one record,
    so a reader moves on whatever the record's size. A body holding other than
    ``expected_count`` records (when given: what its header announced) is refused.
    """
    columns = _Columns(buffer, start, end)
    if expected_count is not None and columns.count != expected_count:
        raise CorruptBatch(f"batch of {columns.count} records announced as {expected_count}")
    count, key_lengths, data_lengths = columns.count, columns.key_lengths, columns.data_lengths
    wanted = min(count - skip, max_records - len(out))
    if wanted <= 0:
        return 0
    if skip == 0 and wanted == count and out.size + columns.record_bytes <= max_bytes:
        taken, size = count, columns.record_bytes  # the common case: the whole batch fits
    else:
        last = skip + wanted
        sizes = list(accumulate(map(add, key_lengths[skip:last], data_lengths[skip:last])))
        taken = bisect_right(sizes, max_bytes - out.size) or (0 if out.datas else 1)
        if not taken:
            return 0
        size = sizes[taken - 1]
    keys = pairwise(accumulate(key_lengths, initial=columns.keys_start))
    datas = pairwise(accumulate(data_lengths, initial=columns.datas_start))
    if taken != count:
        keys, datas = islice(keys, skip, skip + taken), islice(datas, skip, skip + taken)
    # Comprehensions slice faster than map(getitem, map(slice, ...)): no slice objects.
    out.partition_keys += [buffer[a:b] for a, b in keys]
    out.datas += [buffer[a:b] for a, b in datas]
    out.arrival_ms += repeat(arrival_ms, taken)
    out.codecs += repeat(codec, taken)
    out.size += size
    return taken


class _Columns:
    """The count and length columns of a body, checked against its extent before anything
    is allocated from them."""

    __slots__ = (
        "count",
        "data_lengths",
        "datas_start",
        "key_lengths",
        "keys_start",
        "record_bytes",
    )

    def __init__(self, buffer: bytes, start: int, end: int) -> None:
        if end - start < COUNT_SIZE:
            raise CorruptBatch("batch body shorter than its count")
        (count,) = _COUNT.unpack_from(buffer, start)
        keys_start = start + COUNT_SIZE + _PER_RECORD * count
        if keys_start > end:
            raise CorruptBatch(f"batch of {count} records longer than its body")
        self.count = count
        self.key_lengths = struct.unpack_from(f"<{count}H", buffer, start + COUNT_SIZE)
        self.data_lengths = struct.unpack_from(f"<{count}I", buffer, start + COUNT_SIZE + 2 * count)
        self.keys_start = keys_start
        self.datas_start = keys_start + sum(self.key_lengths)
        if self.datas_start + sum(self.data_lengths) != end:
            raise CorruptBatch("batch lengths do not add up to its body")
        self.record_bytes = end - keys_start
