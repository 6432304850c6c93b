"""Reading scripts: Flink-only syntax is understood, and bad input is refused with an
``AnalyticsError`` (never another exception)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.analytics import AnalyticsError, Application
from headwater.analytics.dialect import CreateTable, Insert, parse_script

GOOD = """
-- a comment; with a semicolon
CREATE TABLE t (a BIGINT, r ROW<x STRING, y ARRAY<INT>>, ts TIMESTAMP(3),
  c AS a * 2, m STRING METADATA FROM 'partition-key' VIRTUAL,
  PRIMARY KEY (a) NOT ENFORCED, WATERMARK FOR ts AS ts - INTERVAL '3' SECOND)
  WITH ('connector' = 'headwater', 'stream' = 's');
CREATE TABLE o WITH ('connector' = 'print');
INSERT INTO o
SELECT a, window_start, COUNT(*) FROM TABLE(
  SESSION(TABLE t PARTITION BY a, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY a, window_start, window_end;
"""


def test_flink_syntax_is_read() -> None:
    statements = parse_script(GOOD)
    table = statements[0]
    assert isinstance(table, CreateTable)
    assert table.metadata == {"m": "partition-key"}
    assert table.watermark is not None and table.watermark[0] == "ts"
    assert isinstance(statements[2], Insert) and statements[2].sink == "o"
    app = Application.from_sql(GOOD)
    assert app.tables["t"].primary_key == ["a"]
    assert [c.name for c in app.tables["t"].columns] == ["a", "r", "ts", "c", "m"]
    assert "open sessions of t (gap 60 s)" in app.explain()


FRAGMENTS = [
    "CREATE",
    "TABLE",
    "VIEW",
    "INSERT INTO",
    "SELECT",
    "FROM",
    "t",
    "(",
    ")",
    ",",
    ";",
    "WATERMARK FOR",
    "AS",
    "TABLE(TUMBLE(",
    "DESCRIPTOR(ts)",
    "INTERVAL '5' SECOND",
    "WITH ('connector' = 'headwater')",
    "GROUP BY",
    "window_end",
    "JOIN",
    "ON",
    "'",
    "*",
    "ROW<",
    ">",
    "METADATA FROM",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25) | st.text(max_size=80).map(lambda s: [s]))
def test_bad_scripts_are_refused_with_a_reason(parts: list[str]) -> None:
    text = " ".join(parts)
    try:
        Application.from_sql(text)
    except AnalyticsError:
        return
    pytest.fail(f"accepted {text!r}")
