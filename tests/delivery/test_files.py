"""Delivery to local files against the real server: partitioning, formats, errors, buffering."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from headwater.client import aggregate
from headwater.delivery.config import DeliveryStream
from tests.delivery.helpers import (
    create_stream,
    data_files,
    error_files,
    put_json,
    read_all,
    read_lines,
    run_until,
)

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def settings(name: str, stream: str, root: Path, **overrides) -> DeliveryStream:
    values = {
        "name": name,
        "stream": stream,
        "destination": str(root),
        "buffer_bytes": 1_000_000,
        "buffer_interval": 0.5,
        "failover_time": 3.0,
    }
    values.update(overrides)
    return DeliveryStream(**values)


async def test_jsonl_partitioned_by_event_time_and_field_with_errors(
    server, kinesis, stream_name, tmp_path
):
    create_stream(kinesis, stream_name, shards=2)
    rows = [
        {"id": i, "source_type": ["iot", "web"][i % 2], "ts": T0 + 3600 * (i % 3)}
        for i in range(60)
    ]
    bad = [b"not json", b"[1, 2]", b'{"id": 999}']  # last one: no source_type, no ts
    put_json(kinesis, stream_name, [*rows[:30], *bad, *rows[30:]])
    root = tmp_path / "lake"
    config = settings(
        "jsonl",
        stream_name,
        root,
        prefix="data/!{timestamp:yyyy/MM/dd/HH}/!{partitionKeyFromQuery:source_type}/",
        error_prefix="errors/!{error}/",
        event_time_field="ts",
    )

    def done() -> bool:
        return len(read_all(root, "jsonl")) == 60 and sum(
            len(read_lines(p)) for p in error_files(root)
        ) == len(bad)

    await run_until([config], server.endpoint, tmp_path / "leases.sqlite", done)

    got = sorted(read_all(root, "jsonl"), key=lambda r: r["id"])
    assert got == rows
    for path in data_files(root, ".jsonl.gz"):
        relative = path.relative_to(root).parts
        assert relative[0] == "data"
        for row in read_lines(path):
            hour = time.strftime("%Y/%m/%d/%H", time.gmtime(row["ts"])).split("/")
            assert list(relative[1:5]) == hour
            assert relative[5] == row["source_type"]
        assert path.name.startswith("jsonl-shardId-")
    errors = [row for path in error_files(root) for row in read_lines(path)]
    reasons = {row["errorMessage"] for row in errors}
    assert reasons == {
        "malformed: not JSON",
        "malformed: not a JSON object",
        "event time field missing",
    }
    assert all(row["rawData"] and row["sequenceNumber"] for row in errors)
    codes = {p.relative_to(root).parts[1] for p in error_files(root)}
    assert codes == {"Malformed", "Partitioning"}


async def test_parquet_schema_inferred_evolved_and_conflicts_to_errors(
    server, kinesis, stream_name, tmp_path
):
    create_stream(kinesis, stream_name)
    root = tmp_path / "lake"
    config = settings(
        "pq", stream_name, root, format="parquet", prefix="!{partitionKeyFromQuery:kind}/"
    )
    first = [{"id": i, "kind": "a", "temp": 20.5 + i, "ok": True} for i in range(10)]
    put_json(kinesis, stream_name, first)
    await run_until(
        [config],
        server.endpoint,
        tmp_path / "l.sqlite",
        lambda: len(read_all(root, "parquet")) == 10,
    )
    second = [
        {"id": 10, "kind": "a", "temp": 7, "ok": False, "extra": "new"},  # int into float: fine
        {"id": 11, "kind": "b", "temp": "hot"},  # conflict
        {"id": 12, "kind": "b", "temp": None, "tags": ["x"]},
    ]
    put_json(kinesis, stream_name, second)
    await run_until(
        [config],
        server.endpoint,
        tmp_path / "l.sqlite",
        lambda: len(read_all(root, "parquet")) == 12 and bool(error_files(root)),
    )
    files = data_files(root, ".parquet")
    first_schema = pq.read_schema(files[0])
    assert first_schema.names[:4] == ["id", "kind", "temp", "ok"]
    assert first_schema.field("id").type == pa.int64()
    assert first_schema.field("temp").type == pa.float64()
    assert first_schema.field("ok").type == pa.bool_()
    assert {p.relative_to(root).parts[0] for p in files} == {"a", "b"}
    unified = pa.unify_schemas([pq.read_schema(p) for p in files])
    table = ds.dataset([str(p) for p in files], schema=unified, format="parquet").to_table()
    rows = {row["id"]: row for row in table.to_pylist()}
    assert set(rows) == set(range(10)) | {10, 12}
    assert rows[10]["temp"] == 7.0 and rows[10]["extra"] == "new"
    assert rows[12]["tags"] == '["x"]' and rows[12]["temp"] is None
    errors = [row for path in error_files(root) for row in read_lines(path)]
    assert len(errors) == 1 and errors[0]["errorCode"] == "SchemaMismatch"
    assert "temp" in errors[0]["errorMessage"]


async def test_transform_ok_dropped_failed(server, kinesis, stream_name, tmp_path):
    create_stream(kinesis, stream_name)
    put_json(kinesis, stream_name, [{"id": i} for i in range(9)])
    root = tmp_path / "lake"
    config = settings(
        "t", stream_name, root, transform="tests.delivery.transforms:by_remainder", prefix=""
    )

    await run_until(
        [config],
        server.endpoint,
        tmp_path / "l.sqlite",
        lambda: len(read_all(root, "jsonl")) == 3 and bool(error_files(root)),
    )
    assert sorted(r["id"] for r in read_all(root, "jsonl")) == [0, 3, 6]
    assert all(r["doubled"] == 2 * r["id"] for r in read_all(root, "jsonl"))
    errors = [row for path in error_files(root) for row in read_lines(path)]
    assert sorted(e["errorMessage"] for e in errors) == ["remainder 2"] * 3


async def test_size_flush_and_idle_shard_interval_flush(server, kinesis, stream_name, tmp_path):
    create_stream(kinesis, stream_name)
    root = tmp_path / "lake"
    config = settings("sz", stream_name, root, buffer_bytes=2_000, buffer_interval=1.0, prefix="")
    put_json(kinesis, stream_name, [{"id": i, "pad": "x" * 80} for i in range(100)])
    # ~100 B per record: size limits make several files; the tail flushes on the interval
    await run_until(
        [config],
        server.endpoint,
        tmp_path / "l.sqlite",
        lambda: len(read_all(root, "jsonl")) == 100,
    )
    files = data_files(root, ".jsonl.gz")
    assert len(files) >= 4
    assert sorted(r["id"] for r in read_all(root, "jsonl")) == list(range(100))


async def test_kpl_aggregated_records_are_delivered_one_per_line(
    server, kinesis, stream_name, tmp_path
):
    create_stream(kinesis, stream_name)
    rows = [{"id": i} for i in range(50)]
    aggregates = aggregate([(f"k{i}", json.dumps(r).encode()) for i, r in enumerate(rows)], 400)
    assert len(aggregates) > 1
    for agg in aggregates:
        kinesis.put_record(StreamName=stream_name, Data=agg.data, PartitionKey=agg.partition_key)
    root = tmp_path / "lake"
    config = settings("kpl", stream_name, root, prefix="")
    await run_until(
        [config], server.endpoint, tmp_path / "l.sqlite", lambda: len(read_all(root, "jsonl")) == 50
    )
    assert sorted(r["id"] for r in read_all(root, "jsonl")) == list(range(50))
    names = [p.name for p in data_files(root, ".jsonl.gz")]
    assert all(name.count("_") == 2 for name in names)  # seq_sub-seq_sub ranges


async def test_enhanced_fan_out_source_flushes_an_idle_shard(
    server, kinesis, stream_name, tmp_path
):
    create_stream(kinesis, stream_name)
    put_json(kinesis, stream_name, [{"id": i} for i in range(5)])
    root = tmp_path / "lake"
    config = settings(
        "efo", stream_name, root, prefix="", retrieval="fanout", consumer_name="efo-delivery"
    )
    await run_until(
        [config], server.endpoint, tmp_path / "l.sqlite", lambda: len(read_all(root, "jsonl")) == 5
    )
    assert sorted(r["id"] for r in read_all(root, "jsonl")) == list(range(5))


async def test_parquet_with_a_given_schema_and_no_evolution(server, kinesis, stream_name, tmp_path):
    create_stream(kinesis, stream_name)
    put_json(kinesis, stream_name, [{"id": i, "v": i, "extra": "x"} for i in range(5)])
    put_json(kinesis, stream_name, [{"id": 5, "v": "five"}])  # conflicts with the given float64
    root = tmp_path / "lake"
    config = settings(
        "given",
        stream_name,
        root,
        format="parquet",
        prefix="",
        schema={"id": "int64", "v": "float64"},
        evolve_schema=False,
    )
    await run_until(
        [config],
        server.endpoint,
        tmp_path / "l.sqlite",
        lambda: len(read_all(root, "parquet")) == 5 and bool(error_files(root)),
    )
    (path,) = data_files(root, ".parquet")
    assert pq.read_schema(path).names == ["id", "v"]
    assert pq.read_schema(path).field("v").type == pa.float64()
    assert sorted(r["v"] for r in read_all(root, "parquet")) == [0.0, 1.0, 2.0, 3.0, 4.0]
    errors = [row for p in error_files(root) for row in read_lines(p)]
    assert [e["errorCode"] for e in errors] == ["SchemaMismatch"]
