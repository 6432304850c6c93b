"""The KPL aggregated-record format: many user records in one Kinesis record.

Layout: 4 magic bytes ``F3 89 9A C2``, a protobuf ``AggregatedRecord`` body, and the
16-byte MD5 of that body. The body's schema is the KPL's ``messages.proto``::

    message AggregatedRecord {
      repeated string partition_key_table = 1;
      repeated string explicit_hash_key_table = 2;
      repeated Record records = 3;
    }
    message Record {
      required uint64 partition_key_index = 1;
      optional uint64 explicit_hash_key_index = 2;
      required bytes data = 3;
      repeated Tag tags = 4;
    }
    message Tag { required string key = 1; optional string value = 2; }

The message classes are built from that schema with protobuf's descriptor API in a private
pool (no generated module, no clash with other copies of the schema in the process). Any
record that is not a valid aggregate (wrong magic, bad MD5, unparsable body) is a plain
record, as the KCL treats it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_SIZE = 16
#: Kinesis counts a record's data plus its partition key against the 1 MiB limit.
MAX_RECORD_SIZE = 1024 * 1024
#: The KPL's default ``AggregationMaxSize``: small aggregates keep retries cheap.
DEFAULT_AGGREGATE_SIZE = 51200

_F = descriptor_pb2.FieldDescriptorProto


def _schema() -> descriptor_pb2.FileDescriptorProto:
    schema = descriptor_pb2.FileDescriptorProto(
        name="headwater/client/kpl_messages.proto", package="headwater.kpl", syntax="proto2"
    )

    def message(name: str, *fields: tuple[str, int, int, int, str | None]) -> None:
        proto = schema.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            field = proto.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name

    message(
        "Tag",
        ("key", 1, _F.TYPE_STRING, _F.LABEL_REQUIRED, None),
        ("value", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
    )
    message(
        "Record",
        ("partition_key_index", 1, _F.TYPE_UINT64, _F.LABEL_REQUIRED, None),
        ("explicit_hash_key_index", 2, _F.TYPE_UINT64, _F.LABEL_OPTIONAL, None),
        ("data", 3, _F.TYPE_BYTES, _F.LABEL_REQUIRED, None),
        ("tags", 4, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".headwater.kpl.Tag"),
    )
    message(
        "AggregatedRecord",
        ("partition_key_table", 1, _F.TYPE_STRING, _F.LABEL_REPEATED, None),
        ("explicit_hash_key_table", 2, _F.TYPE_STRING, _F.LABEL_REPEATED, None),
        ("records", 3, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".headwater.kpl.Record"),
    )
    return schema


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_schema())
AggregatedRecord = message_factory.GetMessageClass(
    _pool.FindMessageTypeByName("headwater.kpl.AggregatedRecord")
)


def _varint_size(value: int) -> int:
    """Bytes protobuf spends on ``value`` as a varint (for size accounting only)."""
    return max(1, (value.bit_length() + 6) // 7)


def _field_size(payload: int) -> int:
    """A length-delimited field: tag byte, length varint, payload."""
    return 1 + _varint_size(payload) + payload


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One record inside an aggregate; ``index`` is its sub-sequence number."""

    partition_key: str
    data: bytes
    explicit_hash_key: str | None
    index: int


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A finished aggregated Kinesis record and the key it is put with."""

    data: bytes
    partition_key: str
    explicit_hash_key: str | None
    count: int


class AggregateBuilder:
    """Accumulates user records while the finished Kinesis record stays under ``max_size``."""

    def __init__(self, max_size: int = DEFAULT_AGGREGATE_SIZE) -> None:
        if not 0 < max_size <= MAX_RECORD_SIZE:
            raise ValueError("aggregate size must be in (0, 1 MiB]")
        self.max_size = max_size
        self._message = AggregatedRecord()
        self._keys: dict[str, int] = {}
        self._hash_keys: dict[str, int] = {}
        self._body_size = 0
        self._first_key: str | None = None
        self._first_hash_key: str | None = None

    @property
    def count(self) -> int:
        return len(self._message.records)

    @property
    def size(self) -> int:
        """The Kinesis record size so far: magic, body, digest and the outer partition key."""
        key = self._first_key or ""
        return len(MAGIC) + self._body_size + DIGEST_SIZE + len(key.encode())

    def _growth(self, partition_key: str, data: bytes, explicit_hash_key: str | None) -> int:
        grow = 0
        key_index = self._keys.get(partition_key)
        if key_index is None:
            key_index = len(self._keys)
            grow += _field_size(len(partition_key.encode()))
        inner = 1 + _varint_size(key_index) + _field_size(len(data))
        if explicit_hash_key is not None:
            hash_index = self._hash_keys.get(explicit_hash_key)
            if hash_index is None:
                hash_index = len(self._hash_keys)
                grow += _field_size(len(explicit_hash_key.encode()))
            inner += 1 + _varint_size(hash_index)
        grow += _field_size(inner)
        if self._first_key is None:
            grow += len(partition_key.encode())
        return grow

    def fits(self, partition_key: str, data: bytes, explicit_hash_key: str | None = None) -> bool:
        return self.size + self._growth(partition_key, data, explicit_hash_key) <= self.max_size

    def add(self, partition_key: str, data: bytes, explicit_hash_key: str | None = None) -> bool:
        """Add a record if it fits; False (nothing added) when it would overflow."""
        growth = self._growth(partition_key, data, explicit_hash_key)
        if self.size + growth > self.max_size:
            return False
        if self._first_key is None:
            self._first_key = partition_key
            self._first_hash_key = explicit_hash_key
            growth -= len(partition_key.encode())
        entry = self._message.records.add(data=data)
        entry.partition_key_index = self._index(self._keys, partition_key, "partition_key_table")
        if explicit_hash_key is not None:
            entry.explicit_hash_key_index = self._index(
                self._hash_keys, explicit_hash_key, "explicit_hash_key_table"
            )
        self._body_size += growth
        return True

    def _index(self, table: dict[str, int], key: str, field: str) -> int:
        index = table.get(key)
        if index is None:
            index = table[key] = len(table)
            getattr(self._message, field).append(key)
        return index

    def build(self) -> Aggregate:
        if self._first_key is None:
            raise ValueError("an aggregate needs at least one record")
        body = self._message.SerializeToString()
        data = MAGIC + body + hashlib.md5(body).digest()
        return Aggregate(data, self._first_key, self._first_hash_key, self.count)


def aggregate(
    records: list[tuple[str, bytes]], max_size: int = DEFAULT_AGGREGATE_SIZE
) -> list[Aggregate]:
    """``(partition_key, data)`` pairs packed into as few aggregates as fit ``max_size``."""
    out: list[Aggregate] = []
    builder = AggregateBuilder(max_size)
    for key, data in records:
        if not builder.add(key, data):
            if builder.count == 0:
                raise ValueError("record larger than the aggregate size")
            out.append(builder.build())
            builder = AggregateBuilder(max_size)
            if not builder.add(key, data):
                raise ValueError("record larger than the aggregate size")
    if builder.count:
        out.append(builder.build())
    return out


def is_aggregated(data: bytes) -> bool:
    return len(data) > len(MAGIC) + DIGEST_SIZE and data[: len(MAGIC)] == MAGIC


def deaggregate(data: bytes) -> list[UserRecord] | None:
    """The user records of an aggregate, or None when ``data`` is a plain record."""
    if not is_aggregated(data):
        return None
    body = data[len(MAGIC) : -DIGEST_SIZE]
    if hashlib.md5(body).digest() != data[-DIGEST_SIZE:]:
        return None
    message = AggregatedRecord()
    try:
        message.ParseFromString(body)
    except DecodeError:
        return None
    keys = list(message.partition_key_table)
    hash_keys = list(message.explicit_hash_key_table)
    out: list[UserRecord] = []
    for index, entry in enumerate(message.records):
        if entry.partition_key_index >= len(keys):
            return None
        hash_key = None
        if entry.HasField("explicit_hash_key_index"):
            if entry.explicit_hash_key_index >= len(hash_keys):
                return None
            hash_key = hash_keys[entry.explicit_hash_key_index]
        out.append(UserRecord(keys[entry.partition_key_index], entry.data, hash_key, index))
    return out
