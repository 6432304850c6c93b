"""Shared helpers for the delivery tests: streams, putting records, reading output back."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from headwater.delivery.config import DeliveryConfig, DeliveryStream
from headwater.delivery.runner import DeliveryRunner


def create_stream(kinesis, name: str, shards: int = 1) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if status["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise TimeoutError(name)


def put_json(kinesis, stream: str, rows: list[Any], key: Callable[[int], str] = str) -> None:
    """Put rows (dicts are JSON-encoded, bytes go as they are), 500 per call."""
    entries = [
        {
            "Data": row if isinstance(row, bytes) else json.dumps(row).encode(),
            "PartitionKey": key(i),
        }
        for i, row in enumerate(rows)
    ]
    for start in range(0, len(entries), 500):
        answer = kinesis.put_records(StreamName=stream, Records=entries[start : start + 500])
        assert answer["FailedRecordCount"] == 0


def read_lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def data_files(root: Path, suffix: str) -> list[Path]:
    return sorted(
        p
        for p in root.rglob(f"*{suffix}")
        if "_delivery" not in p.parts and "errors" not in p.parts
    )


def error_files(root: Path) -> list[Path]:
    return sorted((root / "errors").rglob("*.jsonl.gz")) if (root / "errors").exists() else []


def read_all(root: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "parquet":
        rows: list[dict[str, Any]] = []
        for path in data_files(root, ".parquet"):
            rows.extend(pq.read_table(path).to_pylist())
        return rows
    return [row for path in data_files(root, ".jsonl.gz") for row in read_lines(path)]


async def run_until(
    settings: list[DeliveryStream], endpoint: str, lease_store: Path, done: Callable[[], bool]
) -> None:
    """Run a DeliveryRunner in-process until ``done()`` holds (deadline 30 s), then stop it."""
    runner = DeliveryRunner(DeliveryConfig(settings, endpoint, "us-east-1", str(lease_store)))
    task = asyncio.create_task(runner.run())
    try:
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline, "delivery did not finish in time"
            assert not task.done(), task
            await asyncio.sleep(0.05)
    finally:
        runner.stop()
        await asyncio.wait_for(task, 30)
