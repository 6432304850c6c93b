"""The results table, with Flink's published per-core figures and the ratio to them."""

from __future__ import annotations

from collections.abc import Sequence

from bench.nexmark.measure import Measurement
from bench.table import format_ratio

#: Flink's throughput per core (events/s), the Nexmark project's published results: Flink 1.13,
#: 8 TaskManagers of 1 slot, 100M events generated at 10M events/s, every event kind counted.
FLINK_PER_CORE = {
    "q0": 155_000,
    "q1": 158_000,
    "q2": 175_000,
    "q5": 22_000,
    "q7": 12_000,
    "q8": 146_000,
}
QUERIES = tuple(FLINK_PER_CORE)


def render(measurements: Sequence[Measurement]) -> list[str]:
    header = [
        "query",
        "events in",
        "rows out",
        "CPU s",
        "events/s per core",
        "wall events/s",
        "Flink events/s per core",
        "Headwater / Flink",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for m in measurements:
        flink = FLINK_PER_CORE[m.query]
        lines.append(
            _row(
                [
                    m.query,
                    f"{m.events:,}",
                    f"{m.rows:,}",
                    f"{m.cpu_s:.2f}",
                    f"{m.per_core:,.0f}",
                    f"{m.wall_rate:,.0f}",
                    f"{flink:,}",
                    format_ratio(m.per_core / flink),
                ]
            )
        )
    return lines


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
