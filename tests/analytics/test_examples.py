"""The example applications parse and plan, and the single-stream routing example gives
continuously what it gives in batch, over simulator records tagged with ``source_type``."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from headwater.analytics import Application
from headwater.sources import simulators
from tests.analytics.oracle import BASE, batches, continuous, normal

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "analytics").glob("*.sql"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_plans(path: Path) -> None:
    plan = Application.from_file(path).explain()
    assert "INSERT INTO" in plan and "DuckDB SQL" in plan


def tagged(kind: str, source_type: str, count: int, seed: int) -> list[dict]:
    start = (BASE - BASE.replace(year=1970, month=1, day=1)).total_seconds()
    events = simulators.GENERATORS[kind](seed, start, 10.0)
    return [{**r, "source_type": source_type} for _, r in itertools.islice(events, count)]


def test_single_stream_routing_by_source_type() -> None:
    app = Application.from_file(Path(EXAMPLES[0]).with_name("single_stream.sql"))
    events = tagged("iot", "iot", 150, 1) + tagged("social", "social", 80, 2)
    events.sort(key=lambda e: e["ts"])
    rng = random.Random(5)
    results, _ = continuous(app, batches(rng, {"events": events}, shards=2))
    expected = app.run_batch({"events": events})
    assert {row["source_type"] for row in expected["per_type"]} == {"iot", "social"}
    assert expected["hot_machines"], "some machines run hot"
    for sink in ("per_type", "hot_machines"):
        assert normal(results[sink]) == normal(expected[sink])
