"""JSON records → Arrow batches of a source table (typed columns, computed columns, rowtime).

Fields are taken from the record's top-level JSON object by column name; ``ROW<...>``
columns take nested objects, ``STRING`` columns take any JSON value (non-strings as JSON
text). TIMESTAMP fields are ISO 8601 strings or epoch **milliseconds**. A record that is not
a JSON object, has a value of the wrong type, or has no event time is *malformed*: dropped
and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from headwater.analytics.catalog import Table
from headwater.analytics.functions import to_duckdb
from headwater.analytics.planner import ROWTIME

_json = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class RecordMeta:
    """The Kinesis attributes a ``METADATA FROM`` column can read."""

    timestamp: datetime | None = None
    partition_key: str | None = None
    shard_id: str | None = None
    sequence_number: str | None = None

    def get(self, key: str) -> Any:
        return getattr(self, key.replace("-", "_"))


class Malformed(ValueError):
    """This record cannot be a row of the table."""


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 text (naive = UTC) or epoch milliseconds → a naive UTC datetime."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Malformed("a boolean is not a timestamp")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Malformed(f"not a timestamp: {value!r}") from None
    else:
        raise Malformed(f"not a timestamp: {value!r}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _encode.encode(value).decode()


def _converter(kind: pa.DataType) -> Callable[[Any], Any]:
    if pa.types.is_timestamp(kind):
        return parse_timestamp
    if pa.types.is_string(kind):
        return _text
    return lambda value: value  # Arrow checks the rest when the batch is built


class Decoder:
    """Decodes records of one source table; computed columns are evaluated by DuckDB."""

    def __init__(self, table: Table, connection: duckdb.DuckDBPyConnection) -> None:
        if table.watermark_column is None:
            raise ValueError(f"{table.name} has no event time")
        self.table = table
        self.schema = table.schema()
        self.connection = connection
        self.fields = [
            (c.name, c.metadata, _converter(c.type)) for c in table.physical if c.type is not None
        ]
        computed = [
            f"{to_duckdb(c.computed).sql('duckdb')} AS {_quoted(c.name)}"
            for c in table.columns
            if c.computed is not None
        ]
        ordered = ", ".join(_quoted(c.name) for c in table.columns)
        self.sql = (
            f"SELECT {ordered}, CAST({_quoted(table.watermark_column)} AS TIMESTAMP) AS {ROWTIME} "
            "FROM "
            f"(SELECT *{''.join(', ' + c for c in computed)} FROM __decode)"
        )
        self.output_schema = self._run(self.schema.empty_table()).schema

    def _row(self, payload: Any, meta: RecordMeta | None) -> dict[str, Any]:
        if isinstance(payload, bytes | bytearray | memoryview | str):
            try:
                payload = _json.decode(payload)
            except msgspec.DecodeError:
                raise Malformed("not JSON") from None
        if not isinstance(payload, dict):
            raise Malformed("not a JSON object")
        row = {}
        for name, key, convert in self.fields:
            if key is not None:
                row[name] = convert(meta.get(key) if meta is not None else None)
            else:
                row[name] = convert(payload.get(name))
        return row

    def _arrow(self, rows: list[dict[str, Any]]) -> pa.Table:
        try:
            return pa.Table.from_pylist(rows, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass
        good = []
        for row in rows:  # find the bad rows one by one (rare)
            try:
                pa.Table.from_pylist([row], schema=self.schema)
                good.append(row)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
                continue
        return pa.Table.from_pylist(good, schema=self.schema)

    def _run(self, table: pa.Table) -> pa.Table:
        self.connection.register("__decode", table)
        try:
            return self.connection.sql(self.sql).to_arrow_table()
        finally:
            self.connection.unregister("__decode")

    def decode(
        self, payloads: Sequence[Any], metas: Sequence[RecordMeta] | None = None
    ) -> tuple[pa.Table, int]:
        """The batch as rows of the table (with ``__rt``), and how many records were malformed."""
        rows = []
        for index, payload in enumerate(payloads):
            try:
                rows.append(self._row(payload, metas[index] if metas is not None else None))
            except Malformed:
                continue
        table = self._arrow(rows)
        decoded = self._run(table).cast(self.output_schema)
        mask = decoded.column(ROWTIME).is_valid()
        kept = decoded.filter(mask)
        return kept, len(payloads) - kept.num_rows


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
