"""Footprint: a fresh server's resident memory, idle, holding 100 streams x 10 shards.

Every shard gets one record (so each shard's storage is open), then the server is left
alone for a second (``idle_settle_s``) and its RSS (with any children) is read from /proc.
RSS under load is sampled by the ingest measurement.
Run alone: ``python -m bench.footprint [--smoke]``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from bench.client import KinesisClient
from bench.config import Settings
from bench.procs import settle_rss
from bench.results import ServerResults
from bench.servers import RunningServer, ServerKind

MB = 1e6


def populate(client: KinesisClient, streams: int, shards: int) -> None:
    """``streams`` streams of ``shards`` shards, one record in each shard."""
    for s in range(streams):
        name = f"idle-{s:03d}"
        client.create_stream(name, shards)
        records = [
            {"Data": b"x" * 100, "PartitionKey": "k", "ExplicitHashKey": str(start)}
            for start in client.shard_hash_starts(name)
        ]
        answer = msgspec.json.decode(
            client.raw("PutRecords", {"StreamName": name, "Records": records})
        )
        if answer.get("FailedRecordCount"):
            raise RuntimeError(f"PutRecords into {name} failed: {answer}")


def measure_idle_rss(kind: ServerKind, work: Path, settings: Settings, out: ServerResults) -> None:
    """A fresh server of ``kind``, populated (when it stores anything), then left idle."""
    with RunningServer(kind, work) as server:
        if kind.stores_records:
            with KinesisClient(server.port) as client:
                populate(client, settings.idle_streams, settings.idle_shards)
        out.set(
            "footprint.idle_rss_mb", settle_rss(server.pid, seconds=settings.idle_settle_s) / MB
        )


if __name__ == "__main__":
    from bench.cli import main_for

    main_for(__doc__ or "", [], fresh=[measure_idle_rss])
