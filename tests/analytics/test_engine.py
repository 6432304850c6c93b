"""The engine's behaviour beyond the oracle: hand-computed windows, the late-event policy,
bounded state, reference tables, metadata columns, plan errors, checkpointed state."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from headwater.analytics import AnalyticsError, Application
from headwater.analytics.decode import RecordMeta
from headwater.cli.main import app as cli

BASE = datetime(2026, 1, 1)
SOURCE = """
CREATE TABLE clicks (user_id STRING, page STRING, ms BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'headwater', 'stream' = 'clicks', 'late-events' = 'late_clicks');
CREATE TABLE late_clicks (user_id STRING, page STRING, ms BIGINT, ts TIMESTAMP(3))
  WITH ('connector' = 'blackhole');
CREATE TABLE out WITH ('connector' = 'blackhole');
"""
PER_PAGE = """
INSERT INTO out
SELECT page, window_start, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY page, window_start, window_end;
"""


def click(second: float, page: str = "home", user: str = "u1") -> dict:
    moment = BASE + timedelta(seconds=second)
    return {"user_id": user, "page": page, "ms": 5, "ts": moment.isoformat()}


def test_tumbling_window_fires_once_the_watermark_passes_its_end() -> None:
    engine = Application.from_sql(SOURCE + PER_PAGE).engine()
    assert engine.process("clicks", [click(1), click(3), click(9.5, "cart")]) == {}
    assert engine.process("clicks", [click(11)]) == {}  # watermark 9 s: window [0, 10) open
    out = engine.process("clicks", [click(12.5)])  # watermark 10.5 s: it fires
    assert sorted((r["page"], r["n"]) for r in out["out"]) == [
        ("cart", 1),
        ("home", 2),
    ]
    ten = BASE + timedelta(seconds=10)
    assert engine.finish() == {"out": [{"page": "home", "window_start": ten, "n": 2}]}


def test_late_events_are_dropped_counted_and_sent_to_the_side_output() -> None:
    engine = Application.from_sql(SOURCE + PER_PAGE).engine()
    engine.process("clicks", [click(20)])  # watermark 18 s
    out = engine.process("clicks", [click(5, "late"), click(19, "ok")])
    assert [row["page"] for row in out["late_clicks"]] == ["late"]
    metrics = engine.metrics()
    assert metrics["sources"]["clicks"]["late"] == 1
    final = engine.finish()["out"]
    assert {(r["page"], r["n"]) for r in final} == {("home", 1), ("ok", 1)}


def test_state_is_trimmed_by_the_watermark() -> None:
    engine = Application.from_sql(SOURCE + PER_PAGE).engine()
    for second in range(0, 300, 3):
        engine.process("clicks", [click(second + i * 0.5) for i in range(6)])
        state = engine.metrics()["queries"][0]["state_rows"]
        # at most: the open window, the delay, the last batch and (since the buffer is only
        # trimmed when a window ends) one more window: 10 + 2 + 3 + 10 s at 2 clicks/s
        assert state <= 2 * 25
    query = engine.metrics()["queries"][0]
    assert query["rows_out"] == 29


def test_checkpointed_state_resumes_where_it_stopped() -> None:
    app = Application.from_sql(SOURCE + PER_PAGE)
    first = app.engine()
    first.process("clicks", [click(1), click(4, "cart")])
    blobs = first.snapshot()
    second = app.engine()
    second.restore(blobs)
    assert (
        second.process("clicks", [click(13)])["out"] == first.process("clicks", [click(13)])["out"]
    )
    assert second.metrics() == first.metrics()


def test_malformed_records_are_counted_and_skipped() -> None:
    app = Application.from_sql(SOURCE + "INSERT INTO out SELECT page FROM clicks;")
    engine = app.engine()
    out = engine.process(
        "clicks", [b"not json", b"[1]", json.dumps(click(1)).encode(), {"page": "no time"}]
    )
    assert out == {"out": [{"page": "home"}]}
    assert engine.metrics()["sources"]["clicks"]["malformed"] == 3


def test_metadata_columns_read_the_kinesis_record() -> None:
    app = Application.from_sql(
        """
        CREATE TABLE raw (v BIGINT, arrived TIMESTAMP(3) METADATA FROM 'timestamp' VIRTUAL,
          key STRING METADATA FROM 'partition-key', shard STRING METADATA FROM 'shard-id',
          WATERMARK FOR arrived AS arrived)
          WITH ('connector' = 'headwater', 'stream' = 'raw');
        CREATE TABLE out (v BIGINT, key STRING, shard STRING, arrived TIMESTAMP(3))
          WITH ('connector' = 'print');
        INSERT INTO out SELECT v, key, shard, arrived FROM raw;
        """
    )
    meta = RecordMeta(BASE, "k-1", "shardId-000000000001", "49")
    rows = app.engine().process_batch("raw", [b'{"v": 7}'], "s", [meta])["out"][0].to_pylist()
    assert rows == [{"v": 7, "key": "k-1", "shard": "shardId-000000000001", "arrived": BASE}]


def reference_app(connector: str) -> Application:
    return Application.from_sql(
        SOURCE
        + f"""
        CREATE TABLE pages (page STRING, section STRING, weight BIGINT) WITH ({connector});
        INSERT INTO out
        SELECT c.user_id, p.section, p.weight * c.ms AS score
        FROM clicks AS c JOIN pages AS p ON c.page = p.page;
        """
    )


def expect_reference_join(app: Application) -> None:
    out = app.engine().process("clicks", [click(1), click(2, "cart"), click(3, "unknown")])
    assert sorted(out["out"], key=lambda r: r["section"]) == [
        {"user_id": "u1", "section": "front", "score": 5},
        {"user_id": "u1", "section": "shop", "score": 10},
    ]


PAGES = [("home", "front", 1), ("cart", "shop", 2)]


def test_reference_table_from_csv(tmp_path) -> None:
    path = tmp_path / "pages.csv"
    path.write_text("page,section,weight\n" + "\n".join(",".join(map(str, p)) for p in PAGES))
    expect_reference_join(reference_app(f"'connector' = 'filesystem', 'path' = '{path}'"))


def test_reference_table_from_parquet(tmp_path) -> None:
    path = tmp_path / "pages.parquet"
    columns = list(zip(*PAGES, strict=True))
    pq.write_table(
        pa.table({"page": columns[0], "section": columns[1], "weight": columns[2]}), path
    )
    options = f"'connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet'"
    expect_reference_join(reference_app(options))


def test_reference_table_from_postgresql() -> None:
    dsn = "postgresql://postgres@127.0.0.1:5432/test"
    table = f"pages_{uuid.uuid4().hex[:8]}"
    try:
        connection = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable ({error}): run scripts/services")
    with connection:
        connection.execute(f"CREATE TABLE {table} (page text, section text, weight int)")
        try:
            for row in PAGES:
                connection.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", row)
            options = f"'connector' = 'jdbc', 'url' = 'jdbc:{dsn}', 'table-name' = '{table}'"
            expect_reference_join(reference_app(options))
        finally:
            connection.execute(f"DROP TABLE {table}")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT page, COUNT(*) FROM clicks GROUP BY page", "window_start and window_end"),
        (
            "SELECT a.page FROM clicks a JOIN clicks b ON a.user_id = b.user_id",
            "needs a time bound",
        ),
        ("SELECT DISTINCT page FROM clicks", "DISTINCT"),
        ("SELECT page, ROW_NUMBER() OVER (PARTITION BY page ORDER BY ts) FROM clicks", "OVER"),
        ("SELECT * FROM nowhere", "unknown table"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts)))", "TUMBLE needs"),
    ],
)
def test_unsupported_queries_are_refused_with_a_reason(query: str, message: str) -> None:
    with pytest.raises(AnalyticsError, match=message):
        Application.from_sql(f"{SOURCE}\nINSERT INTO out {query};")


def test_a_sink_with_columns_needs_as_many_from_the_query() -> None:
    app = Application.from_sql(
        SOURCE
        + "CREATE TABLE two (a STRING, b STRING) WITH ('connector' = 'blackhole');"
        + "INSERT INTO two SELECT page FROM clicks;"
    )
    with pytest.raises(AnalyticsError, match="gives 1 columns, the table has 2"):
        app.engine()


def test_cli_explain_prints_the_plan(tmp_path) -> None:
    path = tmp_path / "app.sql"
    path.write_text(SOURCE + PER_PAGE)
    result = CliRunner().invoke(cli, ["analytics", "explain", str(path)])
    assert result.exit_code == 0, result.output
    assert "stateful" in result.output and "rows younger than watermark - 10 s" in result.output
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT 1")
    assert CliRunner().invoke(cli, ["analytics", "explain", str(bad)]).exit_code != 0
