"""Point-in-time-correct training sets: labels as-of-joined to feature history, on DuckDB.

For each label event (entity, time) and each feature view, the feature values are those of
the view's latest row for the same entity at or before the label's time (strictly before with
``allow_exact_matches=False``) — never a later row, so no future value leaks into training —
and only while that row is younger than the view's TTL (older: null).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyarrow as pa


def as_arrow(frame: Any) -> pa.Table:
    """An Arrow table from an Arrow table, a pandas DataFrame or a Polars DataFrame."""
    if isinstance(frame, pa.Table):
        return frame
    if hasattr(frame, "to_arrow"):  # Polars (zero-copy)
        return frame.to_arrow()
    return pa.Table.from_pandas(frame, preserve_index=False)


@dataclass(frozen=True)
class FeatureView:
    """A feature history table: one row per (entity, time) observation of some features.

    ``ttl``: how long a value stays valid after its time (timedelta, or a number in the time
    column's units when it is numeric); ``None`` means forever. ``prefix`` is put before the
    feature column names in the result (to tell views with equal column names apart).
    """

    table: Any
    entity: str
    time: str
    features: Sequence[str]
    ttl: timedelta | float | None = None
    prefix: str = ""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ttl_literal(ttl: timedelta | float, time_type: pa.DataType) -> str:
    if pa.types.is_timestamp(time_type) or pa.types.is_date(time_type):
        seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
        return f"to_microseconds(CAST({round(seconds * 1_000_000)} AS BIGINT))"
    if isinstance(ttl, timedelta):
        raise TypeError("a timedelta TTL needs a timestamp time column; give a number instead")
    return repr(float(ttl))


def build_training_set(
    labels: Any,
    *,
    entity: str,
    time: str,
    views: Sequence[FeatureView],
    allow_exact_matches: bool = True,
) -> pa.Table:
    """Join each label row with its point-in-time feature values (DuckDB ``ASOF LEFT JOIN``).

    ``labels`` (Arrow, pandas or Polars) has an ``entity`` and a ``time`` column plus any
    others (the label itself); every label row is kept, in its original order. A view's time
    column must have the labels' time type (both timestamps, or both numbers).
    Returns an Arrow table: the label columns, then each view's features (with its prefix).
    """
    import duckdb

    con = duckdb.connect()
    try:
        label_table = as_arrow(labels)
        con.register("labels_in", label_table)
        con.execute(
            "CREATE TEMP VIEW labels AS SELECT *, row_number() OVER () AS __row FROM labels_in"
        )
        e, t = _quote(entity), _quote(time)
        op = ">=" if allow_exact_matches else ">"
        selects = [f"l.{_quote(c)}" for c in label_table.column_names]
        joins: list[str] = []
        for index, view in enumerate(views):
            alias = f"f{index}"
            view_table = as_arrow(view.table)
            con.register(f"view_{index}", view_table)
            ve, vt = _quote(view.entity), _quote(view.time)
            if view.ttl is None:
                valid = "TRUE"
            else:
                ttl = _ttl_literal(view.ttl, view_table.schema.field(view.time).type)
                valid = f"l.{t} - {alias}.{vt} <= {ttl}"
            for feature in view.features:
                name = _quote(view.prefix + feature)
                selects.append(f"CASE WHEN {valid} THEN {alias}.{_quote(feature)} END AS {name}")
            joins.append(
                f"ASOF LEFT JOIN view_{index} {alias} "
                f"ON l.{e} = {alias}.{ve} AND l.{t} {op} {alias}.{vt}"
            )
        sql = f"SELECT {', '.join(selects)} FROM labels l {' '.join(joins)} ORDER BY l.__row"
        relation = con.sql(sql)  # a relation hands Arrow its result with no extra copy
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        return fetch()
    finally:
        con.close()


__all__ = ["FeatureView", "as_arrow", "build_training_set"]
