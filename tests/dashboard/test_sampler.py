"""Rates from the service's counters: deltas over time, bounded history, forgotten streams."""

from __future__ import annotations

import pytest

from headwater.dashboard.sampler import RATE_FIELDS, RateSampler
from headwater.service.metrics import KinesisMetrics


def test_rates_are_counter_deltas_and_history_is_bounded() -> None:
    metrics = KinesisMetrics()
    sampler = RateSampler(metrics, history_points=3)
    sampler.sample(["s", "other"])
    assert sampler.latest["s"] == (0.0,) * len(RATE_FIELDS)  # the first sample is a baseline

    metrics.incoming_records.labels("s").inc(10)
    metrics.incoming_bytes.labels("s").inc(1000)
    metrics.write_throttled.labels("s").inc(5)
    sampler.sample(["s", "other"])
    rates = dict(zip(RATE_FIELDS, sampler.latest["s"], strict=True))
    assert rates["in_records"] > 0 and rates["write_throttled"] > 0
    assert rates["in_bytes"] == pytest.approx(100 * rates["in_records"])
    assert rates["out_records"] == rates["read_throttled"] == 0
    assert set(sampler.latest["other"]) == {0.0}

    for _ in range(3):
        sampler.sample(["s"])
    assert len(sampler.history("s")) == 3
    assert sampler.history("s")[-1][1:] == (0.0,) * len(RATE_FIELDS)  # nothing new: zero
    assert "other" not in sampler.latest and sampler.history("other") == []


def test_lags_are_the_services_gauges() -> None:
    metrics = KinesisMetrics()
    metrics.iterator_age.labels("s").set(1500)
    metrics.subscription_behind.labels("s", "model").set(250)
    lags = RateSampler(metrics).lags()
    assert lags.iterator_age_ms == {"s": 1500}
    assert lags.consumers_ms == {"s": {"model": 250}}
