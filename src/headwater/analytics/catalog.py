"""Tables of an application: columns, types, watermark, connector options.

A table is a *stream* (``'connector' = 'headwater'``: a Kinesis stream read as a source or
written as a sink), a *reference* table (``'connector' = 'filesystem'`` CSV/Parquet, or
``'jdbc'`` a PostgreSQL table: loaded once, joined as a static table), or a sink only
(``'blackhole'``, ``'print'``, ``'online-store'``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pyarrow as pa
from sqlglot import exp

from headwater.analytics.dialect import CreateTable
from headwater.analytics.errors import AnalyticsError

STREAM = "headwater"
REFERENCE_CONNECTORS = ("filesystem", "jdbc", "postgres")
SINK_CONNECTORS = ("blackhole", "print", "online-store")
METADATA_KEYS = ("timestamp", "partition-key", "shard-id", "sequence-number")
_SCALARS: dict[exp.DataType.Type, pa.DataType] = {
    exp.DataType.Type.BIGINT: pa.int64(),
    exp.DataType.Type.INT: pa.int32(),
    exp.DataType.Type.SMALLINT: pa.int16(),
    exp.DataType.Type.TINYINT: pa.int8(),
    exp.DataType.Type.DOUBLE: pa.float64(),
    exp.DataType.Type.FLOAT: pa.float32(),
    exp.DataType.Type.DECIMAL: pa.float64(),
    exp.DataType.Type.BOOLEAN: pa.bool_(),
    exp.DataType.Type.TEXT: pa.string(),
    exp.DataType.Type.VARCHAR: pa.string(),
    exp.DataType.Type.CHAR: pa.string(),
    exp.DataType.Type.TIMESTAMP: pa.timestamp("us"),
    exp.DataType.Type.TIMESTAMPLTZ: pa.timestamp("us"),
    exp.DataType.Type.TIMESTAMPTZ: pa.timestamp("us"),
    exp.DataType.Type.DATE: pa.date32(),
}


def arrow_type(kind: exp.DataType) -> pa.DataType:
    """The Arrow type a column of this SQL type is decoded into."""
    if kind.this == exp.DataType.Type.STRUCT:
        fields = []
        for member in kind.expressions:
            fields.append(pa.field(member.name, arrow_type(member.args["kind"])))
        return pa.struct(fields)
    if kind.this == exp.DataType.Type.ARRAY:
        return pa.list_(arrow_type(kind.expressions[0]))
    if kind.this in _SCALARS:
        return _SCALARS[kind.this]
    raise AnalyticsError(f"unsupported column type {kind.sql()}")


def interval_of(node: exp.Expression) -> timedelta:
    """An ``INTERVAL '5' SECOND`` literal as a timedelta."""
    if not isinstance(node, exp.Interval):
        raise AnalyticsError(f"expected an INTERVAL literal, got {node.sql()}")
    unit = (node.text("unit") or "SECOND").upper().rstrip("S")
    value = float(node.this.name)
    units = {
        "MILLISECOND": timedelta(milliseconds=1),
        "SECOND": timedelta(seconds=1),
        "MINUTE": timedelta(minutes=1),
        "HOUR": timedelta(hours=1),
        "DAY": timedelta(days=1),
    }
    if unit not in units:
        raise AnalyticsError(f"unsupported interval unit {unit}")
    return value * units[unit]


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType | None  # None: a computed column (its type is its expression's)
    computed: exp.Expression | None = None
    metadata: str | None = None  # a Kinesis record attribute instead of a JSON field


@dataclass
class Table:
    name: str
    columns: list[Column]
    options: dict[str, str]
    watermark_column: str | None = None
    watermark: exp.Expression | None = None
    primary_key: list[str] = field(default_factory=list)

    @property
    def connector(self) -> str:
        return self.options.get("connector", STREAM)

    @property
    def is_stream(self) -> bool:
        return self.connector == STREAM

    @property
    def is_reference(self) -> bool:
        return self.connector in REFERENCE_CONNECTORS

    @property
    def stream(self) -> str:
        if "stream" not in self.options:
            raise AnalyticsError(f"table {self.name}: 'stream' option missing")
        return self.options["stream"]

    @property
    def physical(self) -> list[Column]:
        return [c for c in self.columns if c.computed is None]

    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type) for c in self.physical])


def table_from(statement: CreateTable) -> Table:
    """A ``Table`` from a parsed CREATE TABLE (checking what can be checked early)."""
    schema = statement.node.this
    items = schema.expressions if isinstance(schema, exp.Schema) else []
    name = schema.this.name if isinstance(schema, exp.Schema) else schema.name
    columns: list[Column] = []
    primary_key: list[str] = []
    for item in items:
        if isinstance(item, exp.PrimaryKey):
            primary_key = [key.name for key in item.expressions]
            continue
        if not isinstance(item, exp.ColumnDef):
            raise AnalyticsError(f"table {name}: unsupported clause {item.sql()}")
        computed = next(
            (
                c.kind.this
                for c in item.constraints
                if isinstance(c.kind, exp.ComputedColumnConstraint)
            ),
            None,
        )
        if computed is not None:
            columns.append(Column(item.name, None, computed))
            continue
        key = statement.metadata.get(item.name)
        if key is not None and key not in METADATA_KEYS:
            raise AnalyticsError(f"table {name}: metadata key {key!r} not in {METADATA_KEYS}")
        columns.append(Column(item.name, arrow_type(item.args["kind"]), None, key))
    options = {}
    properties = statement.node.args.get("properties")
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.Property):
            value = prop.args.get("value")
            if value is None:
                raise AnalyticsError(f"table {name}: WITH options are 'key' = 'value' pairs")
            options[prop.this.name if prop.this else prop.name] = value.name
    table = Table(name, columns, options, primary_key=primary_key)
    if statement.watermark:
        column, expression = statement.watermark
        if column not in {c.name for c in columns}:
            raise AnalyticsError(f"table {name}: watermark column {column} is not a column")
        table.watermark_column, table.watermark = column, expression
    known = (STREAM, *REFERENCE_CONNECTORS, *SINK_CONNECTORS)
    if table.connector not in known:
        raise AnalyticsError(f"table {name}: connector {table.connector!r} not in {known}")
    if table.options.get("format", "json") not in ("json", "csv", "parquet"):
        raise AnalyticsError(f"table {name}: format {table.options['format']!r}")
    return table
