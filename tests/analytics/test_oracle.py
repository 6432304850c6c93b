"""Correctness oracle: a continuous run over random micro-batches (events in order, or out of
order within the watermark) emits exactly what DuckDB computes once over all events."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.analytics import Application
from tests.analytics.oracle import batches, continuous, events, normal

TABLES = """
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING,
  payload STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  WITH ('connector' = 'headwater', 'stream' = 'bids', 'format' = 'json');
CREATE TABLE people (id BIGINT, name STRING, city STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  WITH ('connector' = 'headwater', 'stream' = 'people');
CREATE TABLE out WITH ('connector' = 'blackhole');
CREATE TABLE channels (channel STRING, label STRING, weight BIGINT)
  WITH ('connector' = 'filesystem', 'path' = 'channels.csv', 'format' = 'csv');
"""

QUERIES = {
    "filter_project_case_json": """
        SELECT auction, price * 2 AS double_price, UPPER(channel) AS channel,
               CASE WHEN price > 50 THEN 'high' ELSE 'low' END AS band,
               JSON_VALUE(payload, '$.kind') AS kind, ts
        FROM bids WHERE price > 10 AND channel <> 'c'""",
    "tumble_aggregates": """
        SELECT auction, window_start, window_end, COUNT(*) AS n,
               COUNT(DISTINCT bidder) AS bidders, SUM(price) AS total, AVG(price) AS mean,
               MIN(price) AS low, MAX(price) AS high,
               APPROX_PERCENTILE(price, 0.9) AS p90
        FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
        GROUP BY auction, window_start, window_end""",
    "hop_hot_items": """
        SELECT auction, COUNT(*) AS n, window_start, window_end
        FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
        WHERE channel IN ('a', 'b')
        GROUP BY auction, window_start, window_end HAVING COUNT(*) > 1""",
    "cumulate": """
        SELECT channel, window_start, window_end, SUM(price) AS total
        FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '4' SECOND,
                            INTERVAL '12' SECOND))
        GROUP BY channel, window_start, window_end""",
    "session": """
        SELECT bidder, window_start, window_end, COUNT(*) AS n, MAX(price) AS high
        FROM TABLE(SESSION(TABLE bids PARTITION BY bidder, DESCRIPTOR(ts), INTERVAL '3' SECOND))
        GROUP BY bidder, window_start, window_end""",
    "nexmark_q5_hot_items": """
        SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.starttime
        FROM (
          SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
          FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
          GROUP BY auction, window_start, window_end
        ) AS AuctionBids
        JOIN (
          SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
          FROM (
            SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
            FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '2' SECOND,
                           INTERVAL '10' SECOND))
            GROUP BY auction, window_start, window_end
          ) AS CountBids
          GROUP BY CountBids.starttime, CountBids.endtime
        ) AS MaxBids
        ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
           AND AuctionBids.num >= MaxBids.maxn""",
    "nexmark_q7_highest_bid": """
        SELECT B.auction, B.price, B.bidder, B.ts
        FROM bids B
        JOIN (
          SELECT MAX(price) AS maxprice, window_end AS wend
          FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
          GROUP BY window_start, window_end
        ) B1 ON B.price = B1.maxprice
        WHERE B.ts >= B1.wend - INTERVAL '10' SECOND AND B.ts < B1.wend""",
    "nexmark_q8_window_join": """
        SELECT P.id, P.name, P.starttime
        FROM (
          SELECT id, name, window_start AS starttime, window_end AS endtime
          FROM TABLE(TUMBLE(TABLE people, DESCRIPTOR(ts), INTERVAL '10' SECOND))
          GROUP BY id, name, window_start, window_end
        ) P
        JOIN (
          SELECT bidder, window_start AS starttime, window_end AS endtime
          FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
          GROUP BY bidder, window_start, window_end
        ) A
        ON P.id = A.bidder AND P.starttime = A.starttime AND P.endtime = A.endtime""",
    "interval_join": """
        SELECT b.auction, b.price, p.name, b.ts AS bid_ts, p.ts AS person_ts
        FROM bids b JOIN people p ON b.bidder = p.id
        AND b.ts BETWEEN p.ts - INTERVAL '3' SECOND AND p.ts + INTERVAL '2' SECOND""",
    "temporal_join": """
        SELECT b.auction, b.price, p.city, b.ts
        FROM bids AS b JOIN people FOR SYSTEM_TIME AS OF b.ts AS p ON b.bidder = p.id""",
    "window_top_n": """
        SELECT * FROM (
          SELECT auction, n, window_start, window_end,
                 ROW_NUMBER() OVER (PARTITION BY window_start, window_end
                                    ORDER BY n DESC, auction) AS rownum
          FROM (
            SELECT auction, COUNT(*) AS n, window_start, window_end
            FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
            GROUP BY auction, window_start, window_end))
        WHERE rownum <= 2""",
    "reference_join_in_windows": """
        SELECT c.label, window_start, window_end, SUM(b.price * c.weight) AS score
        FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '5' SECOND)) AS b
        JOIN channels AS c ON b.channel = c.channel
        GROUP BY c.label, window_start, window_end""",
    "reference_join_per_record": """
        SELECT b.*, c.label FROM bids AS b LEFT JOIN channels AS c ON b.channel = c.channel""",
    "view_and_union": """
        SELECT auction, price, ts FROM cheap
        UNION ALL
        SELECT auction, price, ts FROM bids WHERE price > 90""",
}
VIEW = "CREATE VIEW cheap AS SELECT * FROM bids WHERE price < 20;"
VERSIONED = TABLES.replace("city STRING, ts", "city STRING, ts").replace(
    "WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n  WITH ('connector' = 'headwater', "
    "'stream' = 'people')",
    "PRIMARY KEY (id) NOT ENFORCED, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)\n"
    "  WITH ('connector' = 'headwater', 'stream' = 'people')",
)


def application(name: str) -> Application:
    tables = VERSIONED if name == "temporal_join" else TABLES
    text = f"{tables}{VIEW}\nINSERT INTO out {QUERIES[name]};"
    return Application.from_sql(text, base_dir=Path(__file__).parent)


def bid(rng: random.Random, index: int) -> dict:
    return {
        "auction": rng.randint(1, 4),
        "bidder": rng.randint(1, 6),
        "price": rng.randint(1, 100),
        "channel": rng.choice("abc"),
        "payload": f'{{"kind": "{rng.choice(["x", "y"])}"}}',
    }


def person(rng: random.Random, index: int) -> dict:
    return {"id": rng.randint(1, 6), "name": f"p{index}", "city": rng.choice(["Oslo", "Rome"])}


@pytest.mark.parametrize("name", sorted(QUERIES))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), out_of_order=st.booleans(), shards=st.integers(1, 3))
def test_continuous_equals_batch(name: str, seed: int, out_of_order: bool, shards: int) -> None:
    rng = random.Random(seed)
    app = application(name)
    streams = {"bids": events(rng, rng.randint(0, 70), out_of_order, bid)}
    if "people" in app.sources:
        streams["people"] = events(rng, rng.randint(0, 30), out_of_order, person, step_s=1.5)
    results, engine = continuous(app, batches(rng, streams, shards))
    expected = app.run_batch(streams)
    assert normal(results.get("out", [])) == normal(expected.get("out", []))
    assert all(source["late"] == 0 for source in engine.metrics()["sources"].values())
