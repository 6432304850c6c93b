"""Headwater streams in Spark Structured Streaming (Spark 4's Python data source API).

``register(spark)`` adds the ``headwater`` format; see docs/spark.md. The source reads every
shard in parallel with GetRecords (one Spark partition per shard and micro-batch, offsets are
per-shard sequence numbers); the sink writes rows with PutRecords. Both speak only the Kinesis
API, so they work against AWS Kinesis too.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from headwater.analytics.spark.source import HeadwaterDataSource


def register(spark: SparkSession) -> None:
    """Make ``format("headwater")`` available in this session."""
    spark.dataSource.register(HeadwaterDataSource)


__all__ = ["HeadwaterDataSource", "register"]
