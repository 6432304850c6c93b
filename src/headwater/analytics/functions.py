"""Flink scalar and aggregate functions that DuckDB names or behaves differently.

Everything sqlglot already translates (CASE, CAST, COALESCE, string and math functions,
COUNT(DISTINCT), ...) passes through; this module maps the rest on the syntax tree.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from headwater.analytics.errors import AnalyticsError

# Java (Flink) date patterns → strftime; longest tokens first.
_DATE_TOKENS = (
    ("yyyy", "%Y"),
    ("SSS", "%g"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
)


def strftime_pattern(java: str) -> str:
    out = java
    for token, replacement in _DATE_TOKENS:
        out = out.replace(token, replacement)
    return out


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _pattern(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Literal) or not node.is_string:
        raise AnalyticsError("date formats must be string literals")
    return exp.Literal.string(strftime_pattern(node.name))


def _to_timestamp(args: list[exp.Expression]) -> exp.Expression:
    if len(args) == 1:
        return exp.cast(args[0], "TIMESTAMP")
    return _call("strptime", args[0], _pattern(args[1]))


def _to_timestamp_ltz(args: list[exp.Expression]) -> exp.Expression:
    precision = int(args[1].name) if len(args) > 1 else 3
    scale = exp.Literal.number(10 ** (6 - precision))
    return _call("make_timestamp", exp.cast(exp.Mul(this=args[0], expression=scale), "BIGINT"))


def _percentile(args: list[exp.Expression]) -> exp.Expression:
    # Exact (the state keeps the values): the same answer in any order of arrival.
    return _call("quantile_cont", *args[:2])


_FUNCTIONS: dict[str, Callable[[list[exp.Expression]], exp.Expression]] = {
    "JSON_VALUE": lambda a: _call("json_extract_string", *a[:2]),
    "JSON_QUERY": lambda a: exp.cast(_call("json_extract", *a[:2]), "VARCHAR"),
    "TO_TIMESTAMP": _to_timestamp,
    "TO_TIMESTAMP_LTZ": _to_timestamp_ltz,
    "DATE_FORMAT": lambda a: _call("strftime", a[0], _pattern(a[1])),
    "APPROX_PERCENTILE": _percentile,
    "PERCENTILE_APPROX": _percentile,
    "PERCENTILE": _percentile,
    "SPLIT_INDEX": lambda a: _call(
        "split_part", a[0], a[1], exp.Add(this=a[2], expression=exp.Literal.number(1))
    ),
}


def _translate(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        handler = _FUNCTIONS.get(node.name.upper())
        if handler is not None:
            return handler(list(node.expressions))
    if isinstance(node, exp.TimestampDiff):
        raise AnalyticsError("TIMESTAMPDIFF is not supported; subtract epoch values instead")
    return node


def to_duckdb(node: exp.Expression) -> exp.Expression:
    """The tree with Flink functions replaced by their DuckDB equivalents (a copy)."""
    return node.copy().transform(_translate)
