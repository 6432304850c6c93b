"""Simulators: reproducible from a seed, labels consistent, and the command end to end."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict

import pytest

from headwater.sources.simulators import GENERATORS, LEXICON, run_simulator, sentiment_of
from tests.sources.helpers import SourceProcess, StreamReader, create_stream, poll

START = 1_764_000_000.0


def _take(kind: str, seed: int, n: int = 3000):
    return list(itertools.islice(GENERATORS[kind](seed, START), n))


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_same_seed_same_records(kind: str) -> None:
    assert _take(kind, 7, 500) == _take(kind, 7, 500)
    assert _take(kind, 7, 500) != _take(kind, 8, 500)


def test_iot_machines_drift_before_they_fail() -> None:
    by_machine = defaultdict(list)
    for key, record in _take("iot", 1, 6000):
        assert key == record["machine_id"]
        by_machine[key].append(record)
    failed = [m for m, rows in by_machine.items() if any(r["failure"] for r in rows)]
    healthy = [m for m, rows in by_machine.items() if not any(r["failing"] for r in rows)]
    assert failed and healthy
    for machine in failed:
        rows = by_machine[machine]
        first_failing = next(i for i, r in enumerate(rows) if r["failing"])
        first_failure = next(i for i, r in enumerate(rows) if r["failure"])
        assert first_failing < first_failure  # a drift precedes every failure
        assert all(r["failure"] for r in rows[first_failure:])  # broken stays broken
        assert all(r["rpm"] == 0 for r in rows[first_failure:])
        before = sum(r["temperature"] for r in rows[:first_failing]) / first_failing
        assert rows[first_failure]["temperature"] > before + 15  # the drift shows in the data


def test_payments_fraud_is_labelled() -> None:
    records = [record for _, record in _take("payments", 3, 5000)]
    patterns = {r["fraud_pattern"] for r in records if r["is_fraud"]}
    assert patterns == {"card_testing", "geo_jump", "high_amount"}
    assert all(r["fraud_pattern"] is None for r in records if not r["is_fraud"])
    assert 0.01 < sum(r["is_fraud"] for r in records) / len(records) < 0.2
    for r in records:
        if r["fraud_pattern"] == "card_testing":
            assert r["amount"] <= 2.0 and r["merchant"] == "online"
        if r["fraud_pattern"] == "high_amount":
            assert r["amount"] >= 2500
    # a geo jump comes right after the same card's purchase at home, in another country
    for before, after in itertools.pairwise(records):
        if after["fraud_pattern"] == "geo_jump":
            assert before["card_id"] == after["card_id"]
            assert before["country"] != after["country"]


def test_social_sentiment_follows_the_lexicon() -> None:
    records = [record for _, record in _take("social", 5, 1000)]
    assert all(r["sentiment"] == sentiment_of(r["text"]) for r in records)
    assert any(r["sentiment"] > 0 for r in records) and any(r["sentiment"] < 0 for r in records)
    assert sentiment_of("i love it") == round(LEXICON["love"] / 4, 4)
    assert sentiment_of("the train today") == 0.0


def test_orders_change_like_a_table() -> None:
    table: dict[int, dict] = {}
    for key, record in _take("orders", 9, 3000):
        row = record["row"]
        assert key == f"orders.{row['order_id']}"
        if record["operation"] == "insert":
            assert row["order_id"] not in table
            table[row["order_id"]] = row
        elif record["operation"] == "update":
            assert row["order_id"] in table
            table[row["order_id"]] = row
        else:
            assert table.pop(row["order_id"]) == row
    assert table


async def test_rate_and_count_are_kept() -> None:
    seen: list[tuple[str, dict]] = []
    began = time.monotonic()
    sent = await run_simulator(
        "iot", lambda k, r: seen.append((k, r)), seed=1, rate=200, count=60, source_type="iot"
    )
    elapsed = time.monotonic() - began
    assert sent == len(seen) == 60
    assert 59 / 200 * 0.9 <= elapsed < 5
    assert all(record["source_type"] == "iot" for _, record in seen)
    stop = asyncio.Event()
    stop.set()
    assert await run_simulator("iot", lambda k, r: None, rate=None, stop=stop) == 0


def test_simulate_command_writes_to_a_stream(server, kinesis, stream_name, tmp_path) -> None:
    stream = create_stream(kinesis, stream_name)
    args = ["simulate", "payments", "--stream", stream, "--endpoint-url", server.endpoint]
    args += ["--count", "120", "--rate", "0", "--seed", "4", "--source-type", "payments"]
    process = SourceProcess(args, tmp_path / "simulate.log").start()
    assert process.process is not None
    assert process.process.wait(timeout=60) == 0, process.log()
    reader = StreamReader(kinesis, stream)
    poll(lambda: len(reader.read()) >= 120)
    bodies = [json.loads(record["Data"]) for record in reader.read()]
    assert len(bodies) == 120
    assert all(body["source_type"] == "payments" for body in bodies)
    assert sorted(b["transaction_id"] for b in bodies) == [f"tx-4-{n:08d}" for n in range(120)]
