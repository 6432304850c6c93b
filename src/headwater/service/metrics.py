"""Kinesis' CloudWatch metrics, kept as Prometheus series.

Names are CloudWatch's with dots as underscores (``PutRecords.Latency`` →
``kinesis_PutRecords_Latency``), so dashboards and alerts written for Kinesis map one to one.
Stream-level series always exist; shard-level ones (``kinesis_shard_*``) only for the metrics a
stream enabled with EnableEnhancedMonitoring, as on AWS. Updates happen once per shard batch,
never per record, to keep them off the hot path.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from headwater.service.model import Shard, Stream

_LATENCY_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


class KinesisMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        stream, shard = ("stream",), ("stream", "shard")

        def counter(name: str, help_text: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, help_text, labels, registry=self.registry)

        self.incoming_bytes = counter("kinesis_IncomingBytes", "Bytes put", stream)
        self.incoming_records = counter("kinesis_IncomingRecords", "Records put", stream)
        self.write_throttled = counter(
            "kinesis_WriteProvisionedThroughputExceeded", "Records refused by limits", stream
        )
        self.read_throttled = counter(
            "kinesis_ReadProvisionedThroughputExceeded", "GetRecords calls refused", stream
        )
        self.get_bytes = counter("kinesis_GetRecords_Bytes", "Bytes read", stream)
        self.get_records = counter("kinesis_GetRecords_Records", "Records read", stream)
        self.success = counter(
            "kinesis_Success", "Successful calls (PutRecord.Success, ...)", ("stream", "operation")
        )
        self.latency = Histogram(
            "kinesis_Latency_milliseconds",
            "Call latency (PutRecord.Latency, PutRecords.Latency, GetRecords.Latency)",
            ("stream", "operation"),
            buckets=_LATENCY_BUCKETS_MS,
            registry=self.registry,
        )
        self.iterator_age = Gauge(
            "kinesis_GetRecords_IteratorAgeMilliseconds",
            "How far the last GetRecords was behind the tip",
            stream,
            registry=self.registry,
        )
        self.subscription_records = counter(
            "kinesis_SubscribeToShardEvent_Records",
            "Records pushed to enhanced fan-out consumers",
            ("stream", "consumer"),
        )
        self.subscription_bytes = counter(
            "kinesis_SubscribeToShardEvent_Bytes",
            "Bytes pushed to enhanced fan-out consumers",
            ("stream", "consumer"),
        )
        self.subscription_behind = Gauge(
            "kinesis_SubscribeToShardEvent_MillisBehindLatest",
            "How far the last SubscribeToShard event was behind the tip",
            ("stream", "consumer"),
            registry=self.registry,
        )
        # Set from outside the service: consumer applications' lag from their checkpoints
        # (``headwater.client.consumer.lag_metrics.LagWatcher``, ``serve --lag-lease-store``).
        self.application_behind = Gauge(
            "kinesis_application_MillisBehindLatest",
            "How long the oldest unprocessed record of a shard has waited (from checkpoints)",
            ("application", "stream", "shard"),
            registry=self.registry,
        )
        self.shard_incoming_bytes = counter("kinesis_shard_IncomingBytes", "Bytes put", shard)
        self.shard_incoming_records = counter("kinesis_shard_IncomingRecords", "Records put", shard)
        self.shard_write_throttled = counter(
            "kinesis_shard_WriteProvisionedThroughputExceeded", "Records refused", shard
        )
        self.shard_outgoing_bytes = counter("kinesis_shard_OutgoingBytes", "Bytes read", shard)
        self.shard_outgoing_records = counter(
            "kinesis_shard_OutgoingRecords", "Records read", shard
        )

    # -- recording (one call per batch) ---------------------------------------------------

    def put(self, stream: Stream, shard: Shard, records: int, size: int) -> None:
        self.incoming_records.labels(stream.name).inc(records)
        self.incoming_bytes.labels(stream.name).inc(size)
        enabled = stream.shard_level_metrics
        if "IncomingRecords" in enabled:
            self.shard_incoming_records.labels(stream.name, shard.shard_id).inc(records)
        if "IncomingBytes" in enabled:
            self.shard_incoming_bytes.labels(stream.name, shard.shard_id).inc(size)

    def throttled_writes(self, stream: Stream, shard: Shard, records: int) -> None:
        self.write_throttled.labels(stream.name).inc(records)
        if "WriteProvisionedThroughputExceeded" in stream.shard_level_metrics:
            self.shard_write_throttled.labels(stream.name, shard.shard_id).inc(records)

    def throttled_read(self, stream: Stream) -> None:
        self.read_throttled.labels(stream.name).inc()

    def read(self, stream: Stream, shard: Shard, records: int, size: int, behind: int) -> None:
        self.get_records.labels(stream.name).inc(records)
        self.get_bytes.labels(stream.name).inc(size)
        self.iterator_age.labels(stream.name).set(behind)
        enabled = stream.shard_level_metrics
        if "OutgoingRecords" in enabled:
            self.shard_outgoing_records.labels(stream.name, shard.shard_id).inc(records)
        if "OutgoingBytes" in enabled:
            self.shard_outgoing_bytes.labels(stream.name, shard.shard_id).inc(size)

    def call(self, stream: Stream, operation: str, milliseconds: float) -> None:
        """A successful PutRecord/PutRecords/GetRecords and how long it took."""
        self.success.labels(stream.name, operation).inc()
        self.latency.labels(stream.name, operation).observe(milliseconds)

    def subscription_event(
        self, stream: Stream, consumer: str, records: int, size: int, behind: int
    ) -> None:
        self.subscription_records.labels(stream.name, consumer).inc(records)
        self.subscription_bytes.labels(stream.name, consumer).inc(size)
        self.subscription_behind.labels(stream.name, consumer).set(behind)
