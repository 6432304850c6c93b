"""Exactly-once files: kill -9 the delivery process mid-stream, restart, compare output."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.delivery.helpers import create_stream, put_json, read_all

HERE = Path(__file__).parent
DEADLINE_S = 30.0


def write_config(
    path: Path,
    endpoint: str,
    stream: str,
    root: Path | str,
    fmt: str,
    buffer_bytes: int,
    storage: dict[str, str] | None = None,
) -> Path:
    options = "".join(f'{k} = "{v}"\n' for k, v in (storage or {}).items())
    path.write_text(
        f"""
[kinesis]
endpoint_url = "{endpoint}"
lease_store = "leases.sqlite"

[[delivery]]
name = "exactly-once"
stream = "{stream}"
destination = "{root}"
format = "{fmt}"
prefix = "!{{partitionKeyFromQuery:group}}/"
buffer_bytes = {buffer_bytes}
buffer_interval = 0.3
failover_time = 1.5

[delivery.storage_options]
{options}"""
    )
    return path


def start(config: Path, log: Path, script: str | None = None, **env: str) -> subprocess.Popen:
    command = (
        [sys.executable, str(HERE / script)] if script else [sys.executable, "-m", "headwater"]
    )
    handle = open(log, "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(
        [*command, "deliver", str(config), "--log-level", "info"],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
        cwd=config.parent,
    )
    handle.close()
    return process


def wait_for(condition, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"delivery exited with {process.returncode} while waiting: {what}")
        time.sleep(0.05)


def ids(root: Path, fmt: str) -> Counter:
    return Counter(row["id"] for row in read_all(root, fmt))


def s3_ids(moto_s3, bucket: str, fmt: str) -> Counter:
    counts: Counter = Counter()
    for key, body in moto_s3.objects(bucket).items():
        if key.startswith("lake/_delivery/"):
            continue
        if fmt == "parquet":
            found = pq.read_table(pa.BufferReader(body)).column("id").to_pylist()
        else:
            found = [json.loads(line)["id"] for line in gzip.decompress(body).splitlines()]
        counts.update(found)
    return counts


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def rows(start: int, stop: int) -> list[dict]:
    return [{"id": i, "group": f"g{i % 3}", "pad": "x" * 50} for i in range(start, stop)]


@pytest.mark.parametrize(
    ("where", "fmt"), [("local", "jsonl"), ("local", "parquet"), ("s3", "parquet")]
)
def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    request, server, kinesis, stream_name, tmp_path, where, fmt
):
    create_stream(kinesis, stream_name, shards=2)
    if where == "s3":
        moto_s3 = request.getfixturevalue("moto_s3")
        bucket = f"lake-{uuid.uuid4().hex[:12]}"
        moto_s3.client.create_bucket(Bucket=bucket)
        destination, storage = f"s3://{bucket}/lake", moto_s3.options

        def ids_now() -> Counter:
            return s3_ids(moto_s3, bucket, fmt)
    else:
        destination, storage = str(tmp_path / "lake"), None

        def ids_now() -> Counter:
            return ids(tmp_path / "lake", fmt)

    config = write_config(
        tmp_path / "d.toml", server.endpoint, stream_name, destination, fmt, 2_000, storage
    )
    log = tmp_path / "delivery.log"
    total = 1_200
    process = start(config, log)
    try:
        put_json(kinesis, stream_name, rows(0, 400), key=lambda i: f"k{i}")
        wait_for(lambda: len(ids_now()) >= 100, "first objects", process)
        put_json(kinesis, stream_name, rows(400, 800), key=lambda i: f"k{i}")
        process.send_signal(signal.SIGKILL)  # mid-stream: buffers and flushes in flight
        process.wait(timeout=10)
        put_json(kinesis, stream_name, rows(800, total), key=lambda i: f"k{i}")
        process = start(config, log)
        wait_for(lambda: len(ids_now()) == total, "every record delivered", process)
    finally:
        stop(process)
    counts = ids_now()
    assert set(counts) == set(range(total)), "lost records"
    assert max(counts.values()) == 1, "duplicated records"


def test_crash_between_commit_and_checkpoint_replays_same_objects(
    server, kinesis, stream_name, tmp_path
):
    create_stream(kinesis, stream_name)
    root = tmp_path / "lake"
    config = write_config(tmp_path / "d.toml", server.endpoint, stream_name, root, "jsonl", 1_500)
    log = tmp_path / "delivery.log"
    put_json(kinesis, stream_name, rows(0, 300), key=lambda i: f"k{i}")
    process = start(config, log, "crash_before_checkpoint.py", CRASH_AT_CHECKPOINT="3")
    assert process.wait(timeout=DEADLINE_S) == 9  # died with a flush committed, not checkpointed
    before = ids(root, "jsonl")
    assert before and max(before.values()) == 1
    # restart with other buffer limits: the replayed flush must still end where it ended
    write_config(config, server.endpoint, stream_name, root, "jsonl", 100_000)
    process = start(config, log)
    try:
        wait_for(lambda: len(ids(root, "jsonl")) == 300, "every record delivered", process)
    finally:
        stop(process)
    counts = ids(root, "jsonl")
    assert set(counts) == set(range(300))
    assert max(counts.values()) == 1
