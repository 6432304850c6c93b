"""Benchmark records: deterministic contents, so what was sent can be checked on read-back.

Record ``(worker, body, index)`` of size N is an 8-byte identity header followed by filler
derived from it: every record is distinct and its whole content is known in advance.
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from collections.abc import Iterable

import msgspec

_HEADER = struct.Struct(">HHHH")  # magic, worker, body, index
_MAGIC = 0x4857  # "HW"


def record_data(worker: int, body: int, index: int, size: int) -> bytes:
    """The data of one record: identity header + filler, exactly ``size`` bytes."""
    header = _HEADER.pack(_MAGIC, worker, body, index)
    block = hashlib.blake2b(header, digest_size=64).digest()
    filler_len = max(size - len(header), 0)
    filler = block * (filler_len // len(block) + 1)
    return (header + filler[:filler_len])[:size]


def partition_key(worker: int, body: int, index: int) -> str:
    return f"pk-{worker}-{body}-{index}"


def body_records(worker: int, body: int, count: int, size: int) -> list[bytes]:
    return [record_data(worker, body, i, size) for i in range(count)]


def put_records_payload(stream: str, worker: int, body: int, datas: list[bytes]) -> bytes:
    """A PutRecords JSON body (msgspec writes ``bytes`` as base64, as the API wants)."""
    records = [
        {"Data": data, "PartitionKey": partition_key(worker, body, i)}
        for i, data in enumerate(datas)
    ]
    return msgspec.json.encode({"StreamName": stream, "Records": records})


def expected_records(
    full_acks: dict[tuple[int, int], int],
    partial_acks: Iterable[tuple[int, int, list[int]]],
    count: int,
    size: int,
) -> Counter[bytes]:
    """Every acknowledged record's data, with multiplicity.

    ``full_acks`` maps (worker, body) to how many times all its records were acknowledged;
    ``partial_acks`` lists (worker, body, acknowledged indexes) of partly failed calls.
    """
    expected: Counter[bytes] = Counter()
    for (worker, body), times in full_acks.items():
        for data in body_records(worker, body, count, size):
            expected[data] += times
    for worker, body, indexes in partial_acks:
        for i in indexes:
            expected[record_data(worker, body, i, size)] += 1
    return expected
