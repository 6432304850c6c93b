"""Reference tables: a CSV/Parquet file or a PostgreSQL table, loaded once into Arrow.

A reference table is a snapshot taken when the application starts (and again at every
restart); it does not follow later changes. A dimension that changes while the application
runs belongs in a stream (CDC) joined with ``FOR SYSTEM_TIME AS OF`` instead.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from headwater.analytics.catalog import Table
from headwater.analytics.errors import AnalyticsError


def _file(table: Table, base_dir: Path, connection: duckdb.DuckDBPyConnection) -> pa.Table:
    if "path" not in table.options:
        raise AnalyticsError(f"table {table.name}: 'path' option missing")
    path = Path(table.options["path"])
    path = path if path.is_absolute() else base_dir / path
    fmt = table.options.get("format", "csv")
    reader = {"csv": "read_csv", "parquet": "read_parquet"}.get(fmt)
    if reader is None:
        raise AnalyticsError(f"table {table.name}: format {fmt!r} (csv or parquet)")
    if not path.exists():
        raise AnalyticsError(f"table {table.name}: {path} does not exist")
    columns = ", ".join(f'"{c.name}"' for c in table.physical)
    literal = "'" + str(path).replace("'", "''") + "'"
    return connection.sql(f"SELECT {columns} FROM {reader}({literal})").to_arrow_table()


def _postgres(table: Table) -> pa.Table:
    import psycopg
    from psycopg import sql

    url = table.options.get("url", "")
    url = url.removeprefix("jdbc:")
    if not url.startswith(("postgresql://", "postgres://")):
        raise AnalyticsError(f"table {table.name}: 'url' must be postgresql://...")
    name = table.options.get("table-name", table.name)
    columns = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.physical)
    relation = sql.Identifier(*name.split("."))
    options = {
        k: table.options[o]
        for k, o in (("user", "username"), ("password", "password"))
        if o in table.options
    }
    with psycopg.connect(url, **options) as connection:
        rows = connection.execute(sql.SQL("SELECT {} FROM {}").format(columns, relation)).fetchall()
    names = [c.name for c in table.physical]
    return pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in rows])


def load_reference(table: Table, base_dir: Path, connection: duckdb.DuckDBPyConnection) -> pa.Table:
    """The table's rows, cast to its declared column types."""
    loaded = (
        _postgres(table)
        if table.connector in ("jdbc", "postgres")
        else _file(table, base_dir, connection)
    )
    try:
        return loaded.cast(table.schema()) if loaded.num_rows else table.schema().empty_table()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise AnalyticsError(f"table {table.name}: {error}") from None
