"""The results table: one row per metric, one column per server, ratios and targets."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.config import Settings
from bench.results import Results, Value
from bench.servers import HEADWATER, KINESALITE, MOTO, NOOP

PEERS = (KINESALITE, MOTO, NOOP)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    digits: int = 0  # decimals shown
    higher_is_better: bool = True
    compared: bool = True  # show Headwater / peer ratios


@dataclass(frozen=True)
class Target:
    """A goal for Headwater; ``check`` returns the judged value and whether it is met."""

    metric: str
    text: str
    check: Callable[[Results], tuple[float | None, bool | None]]


def ingest_metrics(size: int) -> list[Metric]:
    name = f"ingest {size_text(size)}"
    return [
        Metric(f"ingest.{size}.records_s", f"{name}: records/s"),
        Metric(f"ingest.{size}.mb_s", f"{name}: MB/s", 1),
        Metric(f"ingest.{size}.p50_ms", f"{name}: call p50 ms", 1, higher_is_better=False),
        Metric(f"ingest.{size}.p99_ms", f"{name}: call p99 ms", 1, higher_is_better=False),
        Metric(f"ingest.{size}.lost", f"{name}: acked records lost", 0, False, compared=False),
        Metric(
            f"ingest.{size}.loadgen_cores",
            f"{name}: load generator CPU (cores)",
            2,
            False,
            compared=False,
        ),
    ]


def all_metrics(settings: Settings) -> list[Metric]:
    rows = [m for size in settings.record_sizes for m in ingest_metrics(size)]
    idle = f"{settings.idle_streams} streams x {settings.idle_shards} shards"
    data = bytes_text(settings.restart_data_bytes)
    rows += [
        Metric("ingest.rss_peak_mb", "RSS under ingest load, peak MB", 0, False),
        Metric("drain.records_s", "drain from TRIM_HORIZON: records/s"),
        Metric("drain.records", "drain: records read", compared=False),
        Metric("drain.reader_cores", "drain: reader CPU (cores)", 2, False, compared=False),
        Metric("latency.get_p50_ms", "put → GetRecords p50 ms", 2, False),
        Metric("latency.get_p99_ms", "put → GetRecords p99 ms", 2, False),
        Metric("latency.subscribe_p50_ms", "put → SubscribeToShard p50 ms", 2, False),
        Metric("latency.subscribe_p99_ms", "put → SubscribeToShard p99 ms", 2, False),
        Metric("footprint.idle_rss_mb", f"RSS idle, {idle}, MB", 0, False),
        Metric("restart.empty_s", "restart after kill -9, empty: s", 2, False),
        Metric("restart.data_s", f"restart after kill -9 with {data}: s", 2, False),
    ]
    return rows


def bytes_text(size: float) -> str:
    """1.5 GiB, 64 MiB, 100 B."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size:g} B"


def size_text(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def ratio(results: Results, metric: str, peer: str) -> float | None:
    mine, theirs = results.number(metric, HEADWATER), results.number(metric, peer)
    if mine is None or theirs is None or theirs == 0:
        return None
    return mine / theirs


def _at_least(metric: str, bound: float, peer: str | None = None) -> Callable:
    def check(results: Results) -> tuple[float | None, bool | None]:
        value = results.number(metric, HEADWATER) if peer is None else ratio(results, metric, peer)
        return value, None if value is None else value >= bound

    return check


def _at_most(metric: str, bound: float) -> Callable:
    def check(results: Results) -> tuple[float | None, bool | None]:
        value = results.number(metric, HEADWATER)
        return value, None if value is None else value <= bound

    return check


def targets(primary_size: int = 100) -> list[Target]:
    ingest = f"ingest.{primary_size}.records_s"
    return [
        Target(ingest, "≥ 15x kinesalite", _at_least(ingest, 15, KINESALITE)),
        Target(ingest, "≥ 0.5x no-op", _at_least(ingest, 0.5, NOOP)),
        Target(f"ingest.{primary_size}.lost", "0 lost", _at_most(f"ingest.{primary_size}.lost", 0)),
        Target("drain.records_s", "≥ 1,000,000", _at_least("drain.records_s", 1_000_000)),
        Target("latency.get_p50_ms", "≤ 5 ms", _at_most("latency.get_p50_ms", 5)),
        Target("footprint.idle_rss_mb", "≤ 150 MB", _at_most("footprint.idle_rss_mb", 150)),
        Target("restart.data_s", "≤ 1 s", _at_most("restart.data_s", 1)),
    ]


def verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "MISSED")


def format_value(value: Value, digits: int) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}"


def format_ratio(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def render(results: Results, servers: Sequence[str], metrics: Sequence[Metric]) -> list[str]:
    """A Markdown table (readable as plain text too)."""
    shown = [s for s in (HEADWATER, *PEERS) if s in servers]
    peers = [p for p in PEERS if p in shown]
    goals: dict[str, list[str]] = {}
    for target in targets():
        _, met = target.check(results)
        goals.setdefault(target.metric, []).append(f"{target.text}: {verdict(met)}")
    header = ["metric", *shown, *(f"HW / {p}" for p in peers), "target (Headwater)"]
    lines = [_row(header), _row(["---"] * len(header))]
    for metric in metrics:
        if all(results.get(metric.key, s) is None for s in shown):
            continue
        cells = [metric.label]
        cells += [format_value(results.get(metric.key, s), metric.digits) for s in shown]
        if metric.compared:
            cells += [format_ratio(ratio(results, metric.key, p)) for p in peers]
        else:
            cells += [""] * len(peers)
        cells.append("; ".join(goals.get(metric.key, [])))
        lines.append(_row(cells))
    return lines


RATIO_NOTE = (
    "Ratios are Headwater / peer: above 1 is better for records/s and MB/s, "
    "below 1 is better for ms, MB of RSS and s."
)


def number_text(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def render_targets(results: Results, metrics: Sequence[Metric]) -> list[str]:
    labels = {metric.key: metric.label for metric in metrics}
    lines = []
    for target in targets():
        value, met = target.check(results)
        shown = "not measured" if value is None else number_text(value)
        label = labels.get(target.metric, target.metric)
        lines.append(f"- {label} {target.text}: {verdict(met)} ({shown})")
    return lines


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
