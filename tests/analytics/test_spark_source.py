"""The Spark source and sink against the real server, in Spark local[2] mode.

One small Spark session for the module (2 shuffle partitions, no UI). Each query runs until
``processAllAvailable`` returns: everything in the stream processed, over as many micro-batches
as it takes (Spark runs Python sources' ``availableNow`` as a single batch, which would stop
before the children of a split shard).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.lineage import create_stream, read_in_lineage_order, wait_active
from tests.support.server import HeadwaterServer
from tests.support.waiting import poll_until

pyspark = pytest.importorskip("pyspark")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
        reason="Spark needs a Java runtime (17+); none on PATH or in JAVA_HOME",
    ),
]

TRIGGER = "500 milliseconds"  # within AWS limits: 5 GetRecords per second per shard
MINUTE = 60


@pytest.fixture(scope="module")
def spark() -> Iterator[pyspark.sql.SparkSession]:
    from pyspark.sql import SparkSession

    from headwater.analytics.spark import register

    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import headwater from this venv
    session = (
        SparkSession.builder.master("local[2]")
        .appName("headwater-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.streaming.noDataMicroBatches.enabled", "false")
        .config("spark.driver.memory", "512m")
        .getOrCreate()
    )
    register(session)
    yield session
    session.stop()


def source(spark, server: HeadwaterServer, stream: str):
    return (
        spark.readStream.format("headwater")
        .option("endpoint_url", server.endpoint)
        .option("stream", stream)
        .option("start", "TRIM_HORIZON")
        .load()
    )


def run_until_caught_up(writer, checkpoint) -> None:
    query = writer.option("checkpointLocation", str(checkpoint)).trigger(processingTime=TRIGGER)
    running = query.start()
    try:
        running.processAllAvailable()
    finally:
        running.stop()
    assert running.exception() is None, running.exception()


def put_events(kinesis, stream: str, events: list[dict]) -> None:
    for start in range(0, len(events), 500):
        chunk = events[start : start + 500]
        answer = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["user"]} for e in chunk],
        )
        assert answer["FailedRecordCount"] == 0


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_windowed_count_over_event_time(spark, server, kinesis, stream_name, tmp_path) -> None:
    """A tumbling one-minute count by event time reads every record of both shards once."""
    from pyspark.sql import functions as F

    create_stream(kinesis, stream_name, 2)
    base = 1_700_000_000 // MINUTE * MINUTE
    per_window = {0: 7, 1: 30, 2: 13}  # window index -> events in it
    events = [
        {"user": f"user-{n % 11}", "ts": iso(base + window * MINUTE + n % MINUTE)}
        for window, count in per_window.items()
        for n in range(count)
    ]
    put_events(kinesis, stream_name, events[::2])
    put_events(kinesis, stream_name, events[1::2])

    parsed = source(spark, server, stream_name).select(
        F.from_json(F.col("data").cast("string"), "user string, ts timestamp").alias("e")
    )
    counts = (
        parsed.select("e.*")
        .withWatermark("ts", "1 minute")
        .groupBy(F.window("ts", "1 minute"))
        .count()
        .writeStream.outputMode("complete")
        .format("memory")
        .queryName("window_counts")
    )
    run_until_caught_up(counts, tmp_path / "checkpoint")

    rows = spark.sql("SELECT window.start AS start, count FROM window_counts").collect()
    got = {int(row.start.replace(tzinfo=UTC).timestamp()) - base: row["count"] for row in rows}
    assert got == {window * MINUTE: count for window, count in per_window.items()}


def test_source_columns_and_second_run_reads_only_new_records(
    spark, server, kinesis, stream_name, tmp_path
) -> None:
    create_stream(kinesis, stream_name, 1)
    put_events(kinesis, stream_name, [{"user": "a", "n": 1}, {"user": "b", "n": 2}])
    checkpoint = tmp_path / "checkpoint"

    def run() -> list:
        rows: list = []
        writer = source(spark, server, stream_name).writeStream.foreachBatch(
            lambda batch, _: rows.extend(batch.collect())
        )
        run_until_caught_up(writer, checkpoint)
        return sorted(rows, key=lambda row: int(row.sequence_number))

    first = run()
    assert [json.loads(r.data)["n"] for r in first] == [1, 2]
    assert [r.partition_key for r in first] == ["a", "b"]
    assert {r.stream for r in first} == {stream_name}
    assert {r.shard_id for r in first} == {"shardId-000000000000"}
    assert all(r.approximate_arrival_timestamp is not None for r in first)

    put_events(kinesis, stream_name, [{"user": "c", "n": 3}])
    second = run()  # the same checkpoint: resumes after the last sequence number read
    assert [json.loads(r.data)["n"] for r in second] == [3]


@pytest.fixture(scope="module")
def real_clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    """A server on the wall clock: LATEST starts at the driver's clock, which other tests'
    ``advance_clock`` on the shared server would move away from."""
    running = HeadwaterServer(tmp_path_factory.mktemp("latest") / "data").start()
    yield running
    running.stop()


def test_latest_skips_records_put_before_the_query(
    spark, real_clock_server, stream_name, tmp_path
) -> None:
    kinesis = real_clock_server.client()
    create_stream(kinesis, stream_name, 2)
    put_events(kinesis, stream_name, [{"user": f"old-{n}", "n": n} for n in range(5)])
    rows: list = []
    reader = (
        spark.readStream.format("headwater")
        .option("endpoint_url", real_clock_server.endpoint)
        .option("stream", stream_name)
        .option("start", "latest")
        .load()
    )
    query = (
        reader.writeStream.foreachBatch(lambda batch, _: rows.extend(batch.collect()))
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .trigger(processingTime=TRIGGER)
        .start()
    )
    try:
        poll_until(lambda: query.lastProgress is not None, what="the first micro-batch")
        put_events(kinesis, stream_name, [{"user": f"new-{n}", "n": n} for n in range(5)])
        query.processAllAvailable()
    finally:
        query.stop()
    assert sorted(r.partition_key for r in rows) == [f"new-{n}" for n in range(5)]


def test_follows_a_split_parents_before_children(
    spark, server, kinesis, stream_name, tmp_path
) -> None:
    from pyspark.sql import functions as F

    create_stream(kinesis, stream_name, 1)
    keys = [f"key-{k}" for k in range(8)]
    put_events(kinesis, stream_name, [{"user": k, "n": n} for n in range(3) for k in keys])
    kinesis.split_shard(
        StreamName=stream_name,
        ShardToSplit="shardId-000000000000",
        NewStartingHashKey=str(2**127),
    )
    wait_active(kinesis, stream_name)
    put_events(kinesis, stream_name, [{"user": k, "n": n} for n in range(3, 6) for k in keys])

    seen: list[tuple[int, str, str, int]] = []

    def collect(batch, batch_id: int) -> None:
        rows = batch.select("shard_id", "partition_key", F.col("data").cast("string")).collect()
        seen.extend((batch_id, r.shard_id, r.partition_key, json.loads(r.data)["n"]) for r in rows)

    writer = source(spark, server, stream_name).writeStream.foreachBatch(collect)
    run_until_caught_up(writer, tmp_path / "checkpoint")

    assert len(seen) == len(read_in_lineage_order(kinesis, stream_name)) == 6 * len(keys)
    parent_batches = {b for b, shard, _, _ in seen if shard == "shardId-000000000000"}
    child_batches = {b for b, shard, _, _ in seen if shard != "shardId-000000000000"}
    assert child_batches and max(parent_batches) < min(child_batches)
    for key in keys:  # each key's records in order, across the split
        assert [n for _, _, k, n in sorted(seen) if k == key] == list(range(6))


def test_sink_writes_rows_into_a_stream(spark, server, kinesis, stream_name, tmp_path) -> None:
    """Batch and streaming writes: a stream copied through Spark into another."""
    from pyspark.sql import functions as F

    copy = f"{stream_name}-copy"
    create_stream(kinesis, stream_name, 2)
    create_stream(kinesis, copy, 2)
    sink = {"endpoint_url": server.endpoint, "stream": copy}

    direct = spark.createDataFrame(
        [(b"batch-1", "k1"), (b"batch-2", "k2")], "data binary, partition_key string"
    )
    direct.write.format("headwater").options(**sink).mode("append").save()

    put_events(kinesis, stream_name, [{"user": f"u{n}", "n": n} for n in range(20)])
    upper = source(spark, server, stream_name).select(
        F.upper(F.col("data").cast("string")).alias("data"), "partition_key"
    )
    run_until_caught_up(
        upper.writeStream.format("headwater").options(**sink), tmp_path / "checkpoint"
    )

    copied = [(r["PartitionKey"], r["Data"]) for _, r in read_in_lineage_order(kinesis, copy)]
    expected = [(f"u{n}", json.dumps({"USER": f"U{n}", "N": n}).encode()) for n in range(20)]
    assert sorted(copied) == sorted([("k1", b"batch-1"), ("k2", b"batch-2"), *expected])
