"""One JetStream message per append: its records packed in a compact binary body.

Body: ``count`` (u32), then ``count`` key lengths (u16), ``count`` data lengths (u32), then
every key, then every data, all little-endian. Lengths first lets a reader slice the columns
without a per-record header walk; a 100-byte record costs 6 bytes of framing.

Where the batch sits in the shard travels in one ``Hw-Batch`` header (first position, count,
arrival ms, codec), so a tail notification or a probe needs no body parsing.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from headwater.storage.base import StoredRecords

BATCH_HEADER = "Hw-Batch"
_COUNT = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class BatchMeta:
    """Where one stored batch sits: its JetStream sequence and its first record position."""

    seq: int
    first_position: int
    count: int
    arrival_ms: int
    codec: int = 0

    @property
    def next_position(self) -> int:
        return self.first_position + self.count

    def header(self) -> str:
        return f"{self.first_position} {self.count} {self.arrival_ms} {self.codec}"

    @classmethod
    def parse(cls, seq: int, header: str) -> BatchMeta:
        first, count, arrival, codec = (int(part) for part in header.split())
        return cls(seq, first, count, arrival, codec)


def encode_body(records: Sequence[tuple[bytes, bytes]]) -> bytes:
    count = len(records)
    keys = [key for key, _ in records]
    datas = [data for _, data in records]
    return b"".join(
        (
            _COUNT.pack(count),
            struct.pack(f"<{count}H", *map(len, keys)),
            struct.pack(f"<{count}I", *map(len, datas)),
            *keys,
            *datas,
        )
    )


def decode_into(
    out: StoredRecords,
    meta: BatchMeta,
    body: bytes,
    skip: int,
    max_records: int,
    max_bytes: int,
) -> None:
    """Append the batch's records from index ``skip`` to ``out``, within both bounds.

    The first record of an empty ``out`` is taken whatever its size, so a read always moves on.
    """
    (count,) = _COUNT.unpack_from(body)
    key_lengths = struct.unpack_from(f"<{count}H", body, 4)
    data_lengths = struct.unpack_from(f"<{count}I", body, 4 + 2 * count)
    key_ends = list(accumulate(key_lengths, initial=4 + 6 * count))
    data_ends = list(accumulate(data_lengths, initial=key_ends[-1]))
    for i in range(skip, count):
        size = key_lengths[i] + data_lengths[i]
        if len(out) >= max_records or (out.datas and out.size + size > max_bytes):
            return
        out.partition_keys.append(body[key_ends[i] : key_ends[i + 1]])
        out.datas.append(body[data_ends[i] : data_ends[i + 1]])
        out.arrival_ms.append(meta.arrival_ms)
        out.codecs.append(meta.codec)
        out.size += size
