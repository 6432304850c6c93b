"""A decoder for PostgreSQL's built-in ``pgoutput`` logical decoding messages (protocol 1).

Only what the CDC source needs: Begin, Commit, Relation, Insert, Update, Delete, Truncate and
logical Message (heartbeats); Type and Origin messages are skipped. Column values arrive as
text and are turned into JSON values by type OID (integers, floats, booleans, JSON); every
other type stays the text PostgreSQL printed.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from dataclasses import dataclass, field
from typing import Any

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
INT_TYPES = {20, 21, 23, 26}  # int8, int2, int4, oid
FLOAT_TYPES = {700, 701}  # float4, float8
NUMERIC = 1700
BOOL = 16
JSON_TYPES = {114, 3802}  # json, jsonb


@dataclass
class Column:
    name: str
    type_oid: int
    key: bool


@dataclass
class Relation:
    oid: int
    schema: str
    table: str
    columns: list[Column]

    @property
    def key_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.key]


@dataclass
class Begin:
    final_lsn: int
    commit_time: dt.datetime
    xid: int


@dataclass
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_time: dt.datetime


@dataclass
class Change:
    operation: str  # insert, update, delete
    relation: Relation
    row: dict[str, Any]
    old: dict[str, Any] | None = None


@dataclass
class Truncate:
    relations: list[Relation]


@dataclass
class LogicalMessage:
    prefix: str
    content: bytes


@dataclass
class Decoder:
    """Keeps the relations announced so far (a Relation precedes a table's first change)."""

    relations: dict[int, Relation] = field(default_factory=dict)

    def decode(self, data: bytes) -> Begin | Commit | Change | Truncate | LogicalMessage | None:
        kind = data[:1]
        reader = _Reader(data, 1)
        if kind == b"B":
            return Begin(reader.int64(), _timestamp(reader.int64()), reader.uint32())
        if kind == b"C":
            reader.byte()  # flags
            return Commit(reader.int64(), reader.int64(), _timestamp(reader.int64()))
        if kind == b"R":
            oid = reader.int32()
            schema, table = reader.string(), reader.string()
            reader.byte()  # replica identity setting
            columns = []
            for _ in range(reader.int16()):
                flags = reader.byte()[0]
                name = reader.string()
                type_oid = reader.int32()
                reader.int32()  # type modifier
                columns.append(Column(name, type_oid, bool(flags & 1)))
            self.relations[oid] = Relation(oid, schema, table, columns)
            return None
        if kind == b"I":
            relation = self.relations[reader.int32()]
            reader.byte()  # 'N'
            return Change("insert", relation, _plain(_tuple(reader, relation)))
        if kind == b"U":
            relation = self.relations[reader.int32()]
            marker = reader.byte()
            old = None
            if marker in (b"K", b"O"):
                old = _tuple(reader, relation)
                reader.byte()  # 'N'
            row = _tuple(reader, relation)
            if old is not None:  # unchanged TOASTed values come only with the old image
                row = {
                    name: old.get(name) if value is _UNCHANGED else value
                    for name, value in row.items()
                }
            return Change("update", relation, _plain(row), old and _plain(old))
        if kind == b"D":
            relation = self.relations[reader.int32()]
            reader.byte()  # 'K' or 'O'
            return Change("delete", relation, _plain(_tuple(reader, relation)))
        if kind == b"T":
            count = reader.int32()
            reader.byte()  # options
            return Truncate([self.relations[reader.int32()] for _ in range(count)])
        if kind == b"M":
            reader.byte()  # transactional flag
            reader.int64()  # lsn
            prefix = reader.string()
            return LogicalMessage(prefix, reader.bytes(reader.int32()))
        return None  # Type, Origin


_UNCHANGED = object()


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {name: None if value is _UNCHANGED else value for name, value in row.items()}


def _timestamp(microseconds: int) -> dt.datetime:
    return PG_EPOCH + dt.timedelta(microseconds=microseconds)


def _tuple(reader: _Reader, relation: Relation) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for index in range(reader.int16()):
        column = relation.columns[index]
        kind = reader.byte()
        if kind == b"n":
            row[column.name] = None
        elif kind == b"u":
            row[column.name] = _UNCHANGED
        else:  # 't' (text) or 'b' (binary, not requested)
            row[column.name] = convert(column.type_oid, reader.bytes(reader.int32()).decode())
    return row


def convert(type_oid: int, text: str) -> Any:
    """A column's text form as a JSON value."""
    if type_oid in INT_TYPES:
        return int(text)
    if type_oid in FLOAT_TYPES:
        return float(text)
    if type_oid == BOOL:
        return text == "t"
    if type_oid in JSON_TYPES:
        return json.loads(text)
    return text


class _Reader:
    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position

    def _take(self, size: int) -> bytes:
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk

    def byte(self) -> bytes:
        return self._take(1)

    def int16(self) -> int:
        return struct.unpack(">h", self._take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def uint32(self) -> int:
        return struct.unpack(">I", self._take(4))[0]

    def int64(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def bytes(self, size: int) -> bytes:
        return self._take(size)

    def string(self) -> str:
        end = self.data.index(b"\0", self.position)
        text = self.data[self.position : end].decode()
        self.position = end + 1
        return text
