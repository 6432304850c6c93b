"""Shared helpers for the analytics tests: random event sets and order-free comparison."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from headwater.analytics import Application

BASE = datetime(2026, 1, 1)
DELAY_S = 5  # every test source declares WATERMARK FOR ts AS ts - INTERVAL '5' SECOND


def events(
    rng: random.Random,
    count: int,
    out_of_order: bool,
    make: Any,
    step_s: float = 0.7,
) -> list[dict[str, Any]]:
    """``count`` events ``make(rng, i) | {"ts": ...}`` with times going forward; out of order
    means each event is up to (strictly less than) the watermark delay older than the last."""
    out = []
    clock = 0.0
    for index in range(count):
        clock += rng.uniform(0, step_s)
        jitter = rng.uniform(0, DELAY_S - 0.01) if out_of_order else 0.0
        moment = BASE + timedelta(seconds=round(clock - jitter, 3))
        out.append({**make(rng, index), "ts": moment.isoformat(timespec="milliseconds")})
    return out


def batches(
    rng: random.Random, streams: dict[str, list[dict[str, Any]]], shards: int = 1
) -> list[tuple[str, list[dict[str, Any]], str]]:
    """The events of every source cut into random batches (and shards), interleaved in a
    random order that keeps each source's own order."""
    pending = {name: list(rows) for name, rows in streams.items()}
    out = []
    while any(pending.values()):
        name = rng.choice([n for n, rows in pending.items() if rows])
        size = rng.randint(1, 12)
        chunk, pending[name] = pending[name][:size], pending[name][size:]
        out.append((name, chunk, str(rng.randrange(shards))))
    return out


def normal(rows: list[dict[str, Any]]) -> list[str]:
    """Rows as sorted text, floats rounded: a multiset to compare."""

    def value(v: Any) -> Any:
        return round(v, 6) if isinstance(v, float) else v

    return sorted(repr(sorted((k, value(v)) for k, v in row.items())) for row in rows)


def continuous(app: Application, plan: list[tuple[str, list[dict[str, Any]], str]]):
    engine = app.engine()
    results: dict[str, list[dict[str, Any]]] = {}
    for source, rows, shard in plan:
        for sink, out in engine.process(source, rows, shard).items():
            results.setdefault(sink, []).extend(out)
    for sink, out in engine.finish().items():
        results.setdefault(sink, []).extend(out)
    return results, engine
