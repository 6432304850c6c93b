"""Running one query over the workload through the engine's in-memory API, timed.

Per core means per CPU-second: events ÷ the process CPU time (all threads, DuckDB's
included) spent in ``engine.process`` and ``engine.finish``. Wall time is kept beside it.
Only the events of the tables a query reads count (each Nexmark table is its own stream
here, so a query never sees the others); Flink's figures count every generated event.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.nexmark.workload import Workload
from headwater.analytics import Application

QUERIES_DIR = Path(__file__).resolve().parent / "queries"


@dataclass(frozen=True)
class Measurement:
    query: str
    events: int
    rows: int
    cpu_s: float
    wall_s: float
    server_cpu_s: float = 0.0  # end to end: the part of cpu_s spent by the Headwater server

    @property
    def per_core(self) -> float:
        return self.events / self.cpu_s if self.cpu_s else 0.0

    @property
    def wall_rate(self) -> float:
        return self.events / self.wall_s if self.wall_s else 0.0


def load(query: str) -> Application:
    return Application.from_sql((QUERIES_DIR / f"{query}.sql").read_text())


def run(query: str, workload: Workload) -> tuple[Measurement, list[dict]]:
    """The query over every batch then ``finish``: its measurement and its output rows."""
    app = load(query)
    tables = app.sources
    engine = app.engine()
    rows: list[dict] = []
    cpu, wall = time.process_time(), time.perf_counter()
    for table, records in workload.batches:
        if table in tables:
            for out in engine.process(table, records).values():
                rows.extend(out)
    for out in engine.finish().values():
        rows.extend(out)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Measurement(query, workload.events_of(tables), len(rows), cpu, wall), rows


def oracle(query: str, workload: Workload) -> list[dict]:
    """The same query once over all events (the engine's batch mode): what ``run`` must give."""
    app = load(query)
    out = app.run_batch(workload.whole(app.sources))
    return [row for rows in out.values() for row in rows]


def same_rows(got: list[dict], expected: list[dict]) -> bool:
    """The same rows, in any order (values compared by their JSON text)."""

    def text(row: dict) -> str:
        return json.dumps(row, sort_keys=True, default=str)

    return Counter(map(text, got)) == Counter(map(text, expected))
