"""The typed values applications see: a consumed record and the outcome of a put."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

_json_decoder = msgspec.json.Decoder()
_json_encoder = msgspec.json.Encoder()


def to_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    """Record data as bytes; text is UTF-8 encoded."""
    if isinstance(data, str):
        return data.encode()
    return bytes(data)


def encode_json(value: Any) -> bytes:
    """``value`` as compact JSON (msgspec: dataclasses, Structs, datetimes all work)."""
    return _json_encoder.encode(value)


@dataclass(frozen=True, slots=True)
class Record:
    """One user record read from a shard (de-aggregated when the producer used KPL aggregation).

    ``(sequence_number, sub_sequence_number)`` is the record's position: the sub-sequence
    numbers the user records inside one aggregated Kinesis record, and is 0 otherwise.
    """

    data: bytes
    partition_key: str
    sequence_number: str
    sub_sequence_number: int = 0
    shard_id: str = ""
    arrival_time: datetime | None = None
    explicit_hash_key: str | None = None
    aggregated: bool = False

    def text(self, encoding: str = "utf-8") -> str:
        return self.data.decode(encoding)

    def json(self) -> Any:
        return _json_decoder.decode(self.data)

    @property
    def position(self) -> tuple[int, int]:
        """A key that orders records of one shard."""
        return int(self.sequence_number), self.sub_sequence_number

    @property
    def arrival_millis(self) -> int:
        return 0 if self.arrival_time is None else int(self.arrival_time.timestamp() * 1000)


def arrival(epoch_seconds: float | None) -> datetime | None:
    return None if epoch_seconds is None else datetime.fromtimestamp(epoch_seconds, UTC)


@dataclass(frozen=True, slots=True)
class PutResult:
    """Where a produced record landed; ``sub_sequence_number`` is its index in an aggregate."""

    shard_id: str
    sequence_number: str
    sub_sequence_number: int = 0
    attempts: int = 1
