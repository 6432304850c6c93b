"""What the producer did: counts an application can log or export."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ProducerMetrics:
    """Cumulative counters since the producer started.

    ``records_put`` counts user records acknowledged by the service, ``kinesis_records_put``
    the Kinesis records that carried them (fewer with aggregation). Buffering time runs from
    ``put`` to the acknowledgement, retries included.
    """

    records_put: int = 0
    kinesis_records_put: int = 0
    records_failed: int = 0
    retries: int = 0
    put_calls: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    buffering_seconds_total: float = 0.0
    buffering_seconds_max: float = 0.0

    def record_done(self, buffered_for: float) -> None:
        self.records_put += 1
        self.buffering_seconds_total += buffered_for
        if buffered_for > self.buffering_seconds_max:
            self.buffering_seconds_max = buffered_for

    @property
    def mean_buffering_seconds(self) -> float:
        return self.buffering_seconds_total / self.records_put if self.records_put else 0.0

    def snapshot(self) -> dict[str, object]:
        return {
            "records_put": self.records_put,
            "kinesis_records_put": self.kinesis_records_put,
            "records_failed": self.records_failed,
            "retries": self.retries,
            "put_calls": self.put_calls,
            "errors": dict(self.errors),
            "mean_buffering_seconds": self.mean_buffering_seconds,
            "max_buffering_seconds": self.buffering_seconds_max,
        }
