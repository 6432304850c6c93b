"""One JetStream message per append: its records as a batch body (``storage.batch_body``).

Where the batch sits in the shard travels in one ``Hw-Batch`` header (first position, count,
arrival ms, codec), so a tail notification or a probe needs no body parsing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from headwater.storage import batch_body
from headwater.storage.base import StoredRecords

BATCH_HEADER = "Hw-Batch"


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


def encode_body(keys: Sequence[bytes], datas: Sequence[bytes]) -> bytes:
    return b"".join(batch_body.encode_body(keys, datas))


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
    A body that does not hold the ``meta.count`` records its header announced is refused.
    """
    batch_body.decode_into(
        out,
        body,
        0,
        len(body),
        skip,
        max_records,
        max_bytes,
        meta.arrival_ms,
        meta.codec,
        expected_count=meta.count,
    )
