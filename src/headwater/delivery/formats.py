"""Encoding a batch of rows: JSON Lines (gzip) and Parquet (zstd) with an evolving schema.

Schema policy (Parquet): the schema is inferred from the first batch (the type of each
field's first non-null value) and stored beside the output. Later batches may bring new
fields: they are added as nullable columns and appear in new files (older files simply lack
them; ``pyarrow.dataset`` unifies the schemas). A value whose type does not match its column
(a string in an int64 column, ...) is a type conflict: the record goes to the error prefix.
Ints are accepted in float64 columns; nested objects and lists are stored as JSON text.
"""

from __future__ import annotations

import gzip
import io
import threading
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


class TypeConflict(ValueError):
    pass


def encode_jsonl(rows: list[dict[str, Any]]) -> bytes:
    body = b"".join(_encoder.encode(row) + b"\n" for row in rows)
    return gzip.compress(body, compresslevel=6, mtime=0)


def _type_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "json"


def _conform(kind: str, value: Any) -> Any:
    if value is None:
        return None
    actual = _type_of(value)
    if actual == kind:
        return _encoder.encode(value).decode() if kind == "json" else value
    if kind == "float64" and actual == "int64":
        return float(value)
    raise TypeConflict(f"type conflict: field is {kind}, got {actual}")


class Schema:
    """Column name → type (bool, int64, float64, string, json), in column order."""

    def __init__(self, columns: dict[str, str] | None = None) -> None:
        self.columns: dict[str, str] = dict(columns or {})
        self.lock = threading.Lock()

    def evolve(self, rows: list[dict[str, Any]]) -> bool:
        """Add columns for fields not seen before; True if the schema changed."""
        changed = False
        for row in rows:
            for name, value in row.items():
                if name not in self.columns:
                    kind = _type_of(value)
                    if kind is not None:
                        self.columns[name] = kind
                        changed = True
        return changed

    def conform(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, kind in self.columns.items():
            try:
                out[name] = _conform(kind, row.get(name))
            except TypeConflict as error:
                raise TypeConflict(f"{error} (field {name!r})") from None
        return out

    def arrow(self):
        import pyarrow as pa

        types = {
            "bool": pa.bool_(),
            "int64": pa.int64(),
            "float64": pa.float64(),
            "string": pa.string(),
            "json": pa.string(),
        }
        return pa.schema([pa.field(n, types[k], nullable=True) for n, k in self.columns.items()])


def encode_parquet(rows: list[dict[str, Any]], schema: Schema) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=schema.arrow())
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


EXTENSIONS = {"jsonl": "jsonl.gz", "parquet": "parquet"}
