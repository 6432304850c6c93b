"""Read a stream or a delivered dataset into Arrow tables (then pandas or Polars, no copies).

Streams are read through ``headwater.client`` only (the Kinesis API), so the readers work
against AWS Kinesis too. Delivered datasets are read with ``pyarrow.dataset``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from headwater.client import KinesisClient, StartingPosition, deaggregate
from headwater.client.positions import epoch_seconds
from headwater.errors import ProvisionedThroughputExceededException

#: Columns the stream reader adds beside the fields of each record's JSON object.
META_COLUMNS = (
    "_shard_id",
    "_sequence_number",
    "_sub_sequence_number",
    "_partition_key",
    "_arrival_time",
)

_ARRIVAL_TYPE = pa.timestamp("ms", tz="UTC")


def _arrow_rows(rows: list[dict[str, Any]]) -> pa.Table:
    if not rows:
        types = [pa.string(), pa.string(), pa.int64(), pa.string(), _ARRIVAL_TYPE]
        return pa.table({n: pa.array([], t) for n, t in zip(META_COLUMNS, types, strict=True)})
    table = pa.Table.from_pylist(rows)
    index = table.schema.get_field_index("_arrival_time")
    return table.set_column(index, "_arrival_time", table.column(index).cast(_ARRIVAL_TYPE))


def _decode(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def iter_shard_rows(
    client: KinesisClient,
    stream: str,
    shard_id: str,
    *,
    start: float | None = None,
    end: float | None = None,
    source_type: str | None = None,
    source_type_field: str = "source_type",
    timeout: float = 300.0,
) -> AsyncIterator[dict[str, Any]]:
    """One shard's JSON-object records as dicts (fields + :data:`META_COLUMNS`), in order,
    from ``start`` (arrival, epoch s; else TRIM_HORIZON) until ``end`` or the end of data."""
    position = (
        StartingPosition.at_timestamp(start)
        if start is not None
        else StartingPosition.trim_horizon()
    )
    iterator: str | None = await client.get_shard_iterator(stream, shard_id, position)
    deadline = time.monotonic() + timeout
    backoff = 0.05
    while iterator is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading shard {shard_id} took longer than {timeout}s")
        try:
            output = await client.get_records(iterator, limit=10_000)
        except ProvisionedThroughputExceededException:
            await asyncio.sleep(backoff)  # AWS' 5 reads/s per shard: back off and retry
            backoff = min(backoff * 2, 1.0)
            continue
        backoff = 0.05
        iterator = output.NextShardIterator
        for wire in output.Records:
            arrival_s = wire.ApproximateArrivalTimestamp
            if end is not None and arrival_s is not None and arrival_s >= end:
                return  # records of a shard arrive in order: the range is over
            users = deaggregate(wire.Data)
            parts = (
                [(u.data, u.partition_key, i) for i, u in enumerate(users)]
                if users is not None
                else [(wire.Data, wire.PartitionKey, 0)]
            )
            for data, key, sub in parts:
                obj = _decode(data)
                if obj is None:
                    continue  # not a JSON object: nothing to put in a table
                if source_type is not None and obj.get(source_type_field) != source_type:
                    continue
                obj.update(
                    _shard_id=shard_id,
                    _sequence_number=wire.SequenceNumber,
                    _sub_sequence_number=sub,
                    _partition_key=key,
                    _arrival_time=None if arrival_s is None else round(arrival_s * 1000),
                )
                yield obj
        if not output.Records and (output.MillisBehindLatest or 0) == 0:
            return  # caught up: end of data
    # NextShardIterator is None: the shard is closed and read to its end


async def _read_shard(
    client: KinesisClient, stream: str, shard_id: str, limit: int | None, **options: Any
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async for row in iter_shard_rows(client, stream, shard_id, **options):
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    return rows


async def read_stream_async(
    stream: str,
    *,
    start: datetime | float | None = None,
    end: datetime | float | None = None,
    source_type: str | None = None,
    source_type_field: str = "source_type",
    max_records: int | None = None,
    timeout: float = 300.0,
    **client_options: Any,
) -> pa.Table:
    """The stream's JSON records as one Arrow table; see :func:`read_stream`."""
    start_s = None if start is None else epoch_seconds(start)
    end_s = None if end is None else epoch_seconds(end)
    async with KinesisClient(**client_options) as client:
        shards = await client.list_shards(stream)
        per_shard = await asyncio.gather(
            *(
                _read_shard(
                    client,
                    stream,
                    shard.ShardId,
                    max_records,
                    start=start_s,
                    end=end_s,
                    source_type=source_type,
                    source_type_field=source_type_field,
                    timeout=timeout,
                )
                for shard in shards
            )
        )
    rows = [row for shard_rows in per_shard for row in shard_rows]
    rows.sort(key=lambda r: (r["_arrival_time"] or 0, r["_shard_id"], int(r["_sequence_number"])))
    if max_records is not None:
        rows = rows[:max_records]
    return _arrow_rows(rows)


def read_stream(stream: str, **options: Any) -> pa.Table:
    """Read a stream's JSON-object records into an Arrow table (blocking).

    - ``start`` / ``end``: arrival-time range ``[start, end)`` (datetime or epoch seconds);
      reading starts ``AT_TIMESTAMP`` ``start`` (else ``TRIM_HORIZON``) on every shard.
    - ``source_type``: keep only records whose ``source_type_field`` equals it.
    - ``max_records``: at most this many records (the earliest by arrival time that each
      shard yielded; every shard reads at most this many).
    - Otherwise reading stops at the end of data: a shard is done when GetRecords returns
      nothing and is not behind, or the shard is closed and read to its end.

    Columns: the records' fields (inferred by Arrow) plus :data:`META_COLUMNS`. Records
    that are not JSON objects are skipped. Client options (``endpoint_url``, ``region``,
    credentials) are passed to :class:`headwater.client.KinesisClient`.
    """
    return asyncio.run(read_stream_async(stream, **options))


def read_dataset(
    path: str | Path,
    *,
    format: Literal["parquet", "jsonl"] = "parquet",
    source_type: str | None = None,
    source_type_field: str = "source_type",
    time_field: str | None = None,
    start: Any = None,
    end: Any = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Read delivered files (``*.parquet`` or ``*.jsonl.gz``) under ``path`` into Arrow.

    Parquet files' schemas are unified (fields added by schema evolution are null in older
    files). ``source_type`` filters on ``source_type_field``; ``start`` / ``end`` give a
    ``[start, end)`` range on ``time_field`` (values of the column's type). Filters are pushed
    into the scan (row groups are skipped by their statistics). Delivery's bookkeeping
    (``_delivery/``) and hidden files are ignored.
    """
    root = Path(path)
    suffix = ".parquet" if format == "parquet" else ".jsonl.gz"
    files = sorted(
        str(p)
        for p in root.rglob(f"*{suffix}")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
    )
    if not files:
        return pa.table({})
    if format == "parquet":
        schema = pa.unify_schemas([pq.read_schema(f) for f in files])
        dataset = ds.dataset(files, schema=schema, format="parquet")
    else:
        parts = [ds.dataset(f, format="json") for f in files]
        schema = pa.unify_schemas([p.schema for p in parts], promote_options="permissive")
        dataset = ds.dataset(files, schema=schema, format="json")
    condition: ds.Expression | None = None

    def both(expr: ds.Expression) -> None:
        nonlocal condition
        condition = expr if condition is None else condition & expr

    if source_type is not None:
        both(ds.field(source_type_field) == source_type)
    if time_field is not None and start is not None:
        both(ds.field(time_field) >= start)
    if time_field is not None and end is not None:
        both(ds.field(time_field) < end)
    return dataset.to_table(
        columns=list(columns) if columns is not None else None, filter=condition
    )


def to_pandas(table: pa.Table) -> Any:
    """Arrow → pandas (Arrow-backed strings where pandas allows; numeric columns zero-copy
    when they have no nulls)."""
    return table.to_pandas(split_blocks=True, self_destruct=False)


def to_polars(table: pa.Table) -> Any:
    """Arrow → Polars, zero-copy for Arrow's column buffers."""
    import polars as pl

    return pl.from_arrow(table)


__all__ = [
    "META_COLUMNS",
    "iter_shard_rows",
    "read_dataset",
    "read_stream",
    "read_stream_async",
    "to_pandas",
    "to_polars",
]
