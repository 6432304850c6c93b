"""Per-second rates for the dashboard, from the service's own Prometheus counters.

The stream service already counts everything the charts need (records and bytes in and out,
throttles); sampling those counters once a second costs the hot path nothing. Each sample
turns counter deltas into rates and keeps a short history per stream for the charts.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from headwater.service.metrics import KinesisMetrics

HISTORY_POINTS = 300  # five minutes at one sample a second

# The order of values in a rate row (and in the page's charts).
RATE_FIELDS = (
    "in_records",
    "in_bytes",
    "out_records",
    "out_bytes",
    "write_throttled",
    "read_throttled",
)


def _per_stream(*metrics: Counter | Gauge) -> dict[str, float]:
    """stream -> sum of the metrics' series labelled with that stream (counters: their
    ``_total``; a series per consumer adds up to the stream's)."""
    values: dict[str, float] = {}
    for metric in metrics:
        for family in metric.collect():
            for sample in family.samples:
                if not sample.name.endswith("_created"):
                    stream = sample.labels["stream"]
                    values[stream] = values.get(stream, 0.0) + sample.value
    return values


@dataclass(frozen=True, slots=True)
class Lags:
    """How far readers are behind, as the service last reported it."""

    iterator_age_ms: dict[str, float]  # stream -> GetRecords.IteratorAgeMilliseconds
    consumers_ms: dict[str, dict[str, float]]  # stream -> consumer -> MillisBehindLatest
    # stream -> consumer application -> its most lagging shard, from checkpoints
    applications_ms: dict[str, dict[str, float]]


class RateSampler:
    """Keeps the latest rates and a bounded history of them, per stream."""

    def __init__(self, metrics: KinesisMetrics, history_points: int = HISTORY_POINTS) -> None:
        self.metrics = metrics
        self.history_points = history_points
        self.latest: dict[str, tuple[float, ...]] = {}  # stream -> rates in RATE_FIELDS order
        self._history: dict[str, deque[tuple[float, ...]]] = {}
        self._totals: dict[str, tuple[float, ...]] = {}
        self._sampled_at: float | None = None  # monotonic

    def _counters(self) -> tuple[tuple[Counter, ...], ...]:
        """The counters behind each of RATE_FIELDS ("out" is GetRecords plus fan-out pushes)."""
        m = self.metrics
        return (
            (m.incoming_records,),
            (m.incoming_bytes,),
            (m.get_records, m.subscription_records),
            (m.get_bytes, m.subscription_bytes),
            (m.write_throttled,),
            (m.read_throttled,),
        )

    def sample(self, streams: Iterable[str]) -> float:
        """Take one sample for ``streams`` (others are forgotten); returns its wall time."""
        now = time.time()
        monotonic = time.monotonic()
        columns = [_per_stream(*counters) for counters in self._counters()]
        elapsed = None if self._sampled_at is None else monotonic - self._sampled_at
        self._sampled_at = monotonic
        names = set(streams)
        for gone in set(self._history) - names:
            del self._history[gone]
            self._totals.pop(gone, None)
            self.latest.pop(gone, None)
        for name in names:
            totals = tuple(column.get(name, 0.0) for column in columns)
            before = self._totals.get(name)
            self._totals[name] = totals
            if before is None or not elapsed:
                rates = (0.0,) * len(totals)
            else:
                deltas = (max(a - b, 0.0) for a, b in zip(totals, before, strict=True))
                rates = tuple(delta / elapsed for delta in deltas)
            self.latest[name] = rates
            history = self._history.get(name)
            if history is None:
                history = self._history[name] = deque(maxlen=self.history_points)
            history.append((now, *rates))
        return now

    def history(self, stream: str) -> list[tuple[float, ...]]:
        """(time, *RATE_FIELDS) rows of ``stream``, oldest first."""
        return list(self._history.get(stream, ()))

    def lags(self) -> Lags:
        consumers: dict[str, dict[str, float]] = {}
        for family in self.metrics.subscription_behind.collect():
            for sample in family.samples:
                by_stream = consumers.setdefault(sample.labels["stream"], {})
                by_stream[sample.labels["consumer"]] = sample.value
        applications: dict[str, dict[str, float]] = {}
        for family in self.metrics.application_behind.collect():
            for sample in family.samples:
                by_stream = applications.setdefault(sample.labels["stream"], {})
                name = sample.labels["application"]
                by_stream[name] = max(by_stream.get(name, 0.0), sample.value)
        return Lags(_per_stream(self.metrics.iterator_age), consumers, applications)
