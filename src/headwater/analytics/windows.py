"""Window table functions (TUMBLE, HOP, CUMULATE, SESSION) as DuckDB SQL over a relation.

Each adds ``window_start``, ``window_end`` and ``window_time`` (= end - 1 ms) to the rows of
its input; HOP and CUMULATE repeat a row once per window that holds it. Times are TIMESTAMP;
window arithmetic is done on epoch microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlglot import exp

from headwater.analytics.catalog import interval_of
from headwater.analytics.dialect import PARTITION_MARKER
from headwater.analytics.errors import AnalyticsError

WINDOW_COLUMNS = ("window_start", "window_end", "window_time")


def micros(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1_000_000)


@dataclass(frozen=True)
class WindowSpec:
    """One window TVF: its kind, input relation, time column and sizes (µs)."""

    kind: str
    table: str
    time_column: str
    size: int  # TUMBLE size, HOP size, CUMULATE max size, SESSION gap
    step: int = 0  # HOP slide, CUMULATE step
    offset: int = 0
    keys: tuple[str, ...] = field(default=())

    @property
    def grid(self) -> int | None:
        """Every ``window_end`` is a multiple of this (µs); None for sessions and offsets."""
        if self.kind == "SESSION" or self.offset:
            return None
        return self.step or self.size

    @property
    def span(self) -> int:
        """How far back (µs) an open window can reach: state must be kept that long."""
        return self.size


def spec_of(kind: str, args: list[exp.Expression]) -> WindowSpec:
    """A ``WindowSpec`` from the arguments of a rewritten ``__WINDOW_<KIND>(...)`` call."""
    keys: tuple[str, ...] = ()
    if args and isinstance(args[-1], exp.Anonymous) and args[-1].name == PARTITION_MARKER:
        keys = tuple(key.name for key in args[-1].expressions)
        args = args[:-1]
    if len(args) < 3 or not isinstance(args[0], exp.Column) or not isinstance(args[1], exp.Column):
        raise AnalyticsError(f"{kind}(TABLE t, DESCRIPTOR(column), interval...)")
    table, column = args[0].name, args[1].name
    sizes = [micros(interval_of(arg)) for arg in args[2:]]
    if any(size <= 0 for size in sizes):
        raise AnalyticsError(f"{kind}: intervals must be positive")
    if keys and kind != "SESSION":
        raise AnalyticsError("PARTITION BY is for SESSION windows only")
    if kind in ("TUMBLE", "SESSION"):
        if len(sizes) > (2 if kind == "TUMBLE" else 1):
            raise AnalyticsError(f"{kind}: too many arguments")
        offset = sizes[1] if len(sizes) > 1 else 0
        return WindowSpec(kind, table, column, sizes[0], 0, offset, keys)
    if len(sizes) not in (2, 3):
        raise AnalyticsError(f"{kind}(TABLE t, DESCRIPTOR(column), step, size)")
    step, size = sizes[0], sizes[1]
    if size % step:
        raise AnalyticsError(f"{kind}: the size must be a multiple of the step")
    return WindowSpec(kind, table, column, size, step, sizes[2] if len(sizes) > 2 else 0)


def _floor(value: str, unit: int, offset: int) -> str:
    return f"({value} - ((({value} - {offset}) % {unit}) + {unit}) % {unit})"


def window_sql(spec: WindowSpec, source: str) -> str:
    """DuckDB SQL adding the window columns to the rows of ``source`` (a relation's SQL)."""
    ts = f"epoch_us({_quote(spec.time_column)})"
    bounds = (
        "make_timestamp(__ws) AS window_start, make_timestamp(__we) AS window_end, "
        "make_timestamp(__we - 1000) AS window_time"
    )
    if spec.kind == "TUMBLE":
        start = _floor(ts, spec.size, spec.offset)
        return (
            f"SELECT * EXCLUDE (__ws, __we), {bounds} FROM "
            f"(SELECT *, {start} AS __ws, {start} + {spec.size} AS __we FROM ({source}))"
        )
    if spec.kind == "HOP":
        last = _floor(ts, spec.step, spec.offset)
        count = spec.size // spec.step
        starts = f"unnest(range(__last - {(count - 1) * spec.step}, __last + 1, {spec.step}))"
        return (
            f"SELECT * EXCLUDE (__ws, __we, __last), {bounds} FROM "
            f"(SELECT *, __ws + {spec.size} AS __we FROM "
            f"(SELECT *, {starts} AS __ws FROM (SELECT *, {last} AS __last FROM ({source}))))"
            f" WHERE __we > {ts}"
        )
    if spec.kind == "CUMULATE":
        start = _floor(ts, spec.size, spec.offset)
        ends = f"unnest(range(__ws + {spec.step}, __ws + {spec.size} + 1, {spec.step}))"
        return (
            f"SELECT * EXCLUDE (__ws, __we), {bounds} FROM "
            f"(SELECT *, {ends} AS __we FROM (SELECT *, {start} AS __ws FROM ({source})))"
            f" WHERE __we > {ts}"
        )
    return session_sql(spec, source)


def session_sql(spec: WindowSpec, source: str) -> str:
    """Sessions per key: a gap of at least ``size`` µs between rows starts a new one."""
    ts = f"epoch_us({_quote(spec.time_column)})"
    keys = ", ".join(_quote(key) for key in spec.keys)
    by = f"PARTITION BY {keys} " if keys else ""
    order = f"{by}ORDER BY {_quote(spec.time_column)}"
    new = (
        f"CASE WHEN {ts} - epoch_us(lag({_quote(spec.time_column)}) OVER ({order})) "
        f"< {spec.size} THEN 0 ELSE 1 END"
    )
    session = f"PARTITION BY {keys + ', ' if keys else ''}__sid"
    return (
        "SELECT * EXCLUDE (__ws, __we, __sid, __new), make_timestamp(__ws) AS window_start, "
        "make_timestamp(__we) AS window_end, make_timestamp(__we - 1000) AS window_time FROM "
        f"(SELECT *, min({ts}) OVER (__s) AS __ws, max({ts}) OVER (__s) + {spec.size} AS __we "
        f"FROM (SELECT *, sum(__new) OVER ({order} ROWS UNBOUNDED PRECEDING) AS __sid "
        f"FROM (SELECT *, {new} AS __new FROM ({source}))) WINDOW __s AS ({session}))"
    )


def _quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")
