"""Stream and dataset readers: time range, source_type, count bound, Arrow → pandas/Polars."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from headwater.ml import META_COLUMNS, read_dataset, read_stream, to_pandas, to_polars


def test_read_stream_to_end_of_data(make_stream, put_json, client_options) -> None:
    stream = make_stream(2)
    objects = [
        {"id": i, "temp": 20.0 + i, "source_type": "iot" if i % 2 else "web"} for i in range(40)
    ]
    put_json(stream, objects)
    table = read_stream(stream, **client_options)
    assert table.num_rows == 40
    assert set(META_COLUMNS) <= set(table.column_names)
    assert sorted(table.column("id").to_pylist()) == list(range(40))
    assert len(set(table.column("_shard_id").to_pylist())) == 2
    assert table.schema.field("_arrival_time").type == pa.timestamp("ms", tz="UTC")

    iot = read_stream(stream, source_type="iot", **client_options)
    assert sorted(iot.column("id").to_pylist()) == list(range(1, 40, 2))

    bounded = read_stream(stream, max_records=7, **client_options)
    assert bounded.num_rows == 7


def test_read_stream_arrival_time_range(make_stream, put_json, client_options, server) -> None:
    stream = make_stream(1)
    put_json(stream, [{"id": i, "batch": "early"} for i in range(5)])
    boundary_ms = server.advance_clock(3_600_000)  # later records arrive an hour later
    put_json(stream, [{"id": i, "batch": "late"} for i in range(5, 9)])
    boundary = boundary_ms / 1000

    late = read_stream(stream, start=boundary, **client_options)
    assert late.column("batch").to_pylist() == ["late"] * 4
    early = read_stream(stream, end=boundary, **client_options)
    assert early.column("id").to_pylist() == [0, 1, 2, 3, 4]
    nothing = read_stream(stream, start=boundary, end=boundary, **client_options)
    assert nothing.num_rows == 0
    assert set(nothing.column_names) == set(META_COLUMNS)


def test_read_stream_skips_non_objects(make_stream, kinesis, client_options) -> None:
    stream = make_stream(1)
    for data in (b"not json", b"[1, 2]", b'{"id": 1}'):
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey="k")
    assert read_stream(stream, **client_options).column("id").to_pylist() == [1]


def _write_parquet_layout(root: Path) -> None:
    """Files as delivery lays them out (docs/delivery.md), with schema evolution."""
    first = root / "sensors/2026/01/01/00/iot"
    second = root / "sensors/2026/01/01/01/web"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    pq.write_table(
        pa.table({"id": [1, 2], "ts": [100, 200], "source_type": ["iot", "iot"]}),
        first / "d-shardId-000000000000-1_0-2_0.parquet",
        compression="zstd",
    )
    pq.write_table(  # a later file with a field added by schema evolution
        pa.table({"id": [3], "ts": [300], "source_type": ["web"], "temp": [21.5]}),
        second / "d-shardId-000000000000-3_0-3_0.parquet",
        compression="zstd",
    )
    bookkeeping = root / "_delivery/d"
    bookkeeping.mkdir(parents=True)
    pq.write_table(pa.table({"junk": [1]}), bookkeeping / "ignored.parquet")


def test_read_parquet_dataset(tmp_path: Path) -> None:
    _write_parquet_layout(tmp_path)
    table = read_dataset(tmp_path).sort_by("id")
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("temp").to_pylist() == [None, None, 21.5]
    assert "junk" not in table.column_names

    web = read_dataset(tmp_path, source_type="web")
    assert web.column("id").to_pylist() == [3]
    ranged = read_dataset(tmp_path, time_field="ts", start=150, end=300, columns=["id"])
    assert ranged.column_names == ["id"]
    assert ranged.column("id").to_pylist() == [2]


def test_read_jsonl_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "events/2026/01/01/00"
    folder.mkdir(parents=True)
    for name, rows in {
        "a.jsonl.gz": [{"id": 1, "source_type": "iot"}, {"id": 2, "source_type": "web"}],
        "b.jsonl.gz": [{"id": 3, "source_type": "iot", "extra": "x"}],
    }.items():
        with gzip.open(folder / name, "wt") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    table = read_dataset(tmp_path, format="jsonl").sort_by("id")
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("extra").to_pylist() == [None, None, "x"]
    iot = read_dataset(tmp_path, format="jsonl", source_type="iot").sort_by("id")
    assert iot.column("id").to_pylist() == [1, 3]


def test_empty_dataset(tmp_path: Path) -> None:
    assert read_dataset(tmp_path).num_rows == 0


def test_pandas_and_polars_share_arrow_buffers() -> None:
    table = pa.table({"x": pa.array(range(1000), pa.int64()), "s": ["a"] * 1000})
    frame = to_pandas(table)
    assert frame["x"].tolist() == list(range(1000))
    polars_frame = to_polars(table)
    assert polars_frame["x"].to_list() == list(range(1000))
    # Polars keeps Arrow's buffer: the same memory, not a copy
    arrow_address = table.column("x").chunk(0).buffers()[1].address
    polars_address = polars_frame["x"].to_arrow().buffers()[1].address
    assert polars_address == arrow_address
