"""Point-in-time training sets: a hand-checked case where a naive join would leak the future."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from headwater.ml import FeatureView, build_training_set


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 1, hour, minute)


# Label events: was the payment fraud? (entity: card)
LABELS = pa.table(
    {
        "card": ["c1", "c1", "c2", "c3"],
        "ts": [at(10), at(12), at(10), at(10)],
        "fraud": [0, 1, 0, 1],
    }
)
# Feature history: the card's spend in the last hour, as it was computed over time.
SPEND = pa.table(
    {
        "card": ["c1", "c1", "c1", "c2", "c3"],
        "ts": [at(9), at(11, 30), at(13), at(7), at(10)],
        "spend_1h": [10.0, 20.0, 999.0, 5.0, 42.0],
    }
)

# By hand, with TTL 2 h:
# c1 @10:00 -> the 09:00 row (10.0); the 11:30 and 13:00 rows are in its future.
# c1 @12:00 -> the 11:30 row (20.0); 13:00 (999.0) is the future.
# c2 @10:00 -> the 07:00 row is 3 h old, past the 2 h TTL: null.
# c3 @10:00 -> the 10:00 row (equal time counts as known): 42.0.
EXPECTED = [10.0, 20.0, None, 42.0]


def test_point_in_time_no_leak_and_ttl() -> None:
    view = FeatureView(SPEND, "card", "ts", ["spend_1h"], ttl=timedelta(hours=2))
    result = build_training_set(LABELS, entity="card", time="ts", views=[view])
    assert result.column_names == ["card", "ts", "fraud", "spend_1h"]
    assert result.column("card").to_pylist() == ["c1", "c1", "c2", "c3"]
    assert result.column("fraud").to_pylist() == [0, 1, 0, 1]
    assert result.column("spend_1h").to_pylist() == EXPECTED

    # The naive join (latest value per entity) leaks 999.0 from 13:00 into both c1 labels.
    latest = SPEND.group_by("card").aggregate([("ts", "max")])
    naive = (
        SPEND.join(latest, ["card", "ts"], right_keys=["card", "ts_max"], join_type="inner")
        .select(["card", "spend_1h"])
        .join(LABELS, "card")
        .sort_by([("card", "ascending"), ("ts", "ascending")])
    )
    assert naive.column("spend_1h").to_pylist()[:2] == [999.0, 999.0]
    assert naive.column("spend_1h").to_pylist() != EXPECTED


def test_without_ttl_old_values_stay() -> None:
    view = FeatureView(SPEND, "card", "ts", ["spend_1h"])
    result = build_training_set(LABELS, entity="card", time="ts", views=[view])
    assert result.column("spend_1h").to_pylist() == [10.0, 20.0, 5.0, 42.0]


def test_strictly_before_excludes_equal_times() -> None:
    view = FeatureView(SPEND, "card", "ts", ["spend_1h"], ttl=timedelta(hours=2))
    result = build_training_set(
        LABELS, entity="card", time="ts", views=[view], allow_exact_matches=False
    )
    assert result.column("spend_1h").to_pylist() == [10.0, 20.0, None, None]


def test_several_views_numeric_time_pandas_and_polars() -> None:
    labels = pd.DataFrame({"user": ["u", "u", "v"], "t": [10, 20, 15], "y": [1, 0, 1]})
    clicks = pl.DataFrame({"user": ["u", "u", "v"], "t": [5, 19, 1], "n": [1, 2, 3]})
    profile = pa.table({"uid": ["u", "v"], "at": [0, 16], "n": [100, 200]})
    result = build_training_set(
        labels,
        entity="user",
        time="t",
        views=[
            FeatureView(clicks, "user", "t", ["n"], ttl=8, prefix="clicks_"),
            FeatureView(profile, "uid", "at", ["n"], prefix="profile_"),
        ],
    )
    assert result.to_pylist() == [
        {"user": "u", "t": 10, "y": 1, "clicks_n": 1, "profile_n": 100},
        {"user": "u", "t": 20, "y": 0, "clicks_n": 2, "profile_n": 100},
        {"user": "v", "t": 15, "y": 1, "clicks_n": None, "profile_n": None},
    ]


def test_timedelta_ttl_needs_timestamps() -> None:
    view = FeatureView(pa.table({"k": ["a"], "t": [1]}), "k", "t", ["t"], ttl=timedelta(1))
    with pytest.raises(TypeError):
        build_training_set(pa.table({"k": ["a"], "t": [2]}), entity="k", time="t", views=[view])
