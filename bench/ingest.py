"""Ingest: PutRecords of 500 records into a 4-shard stream, then read everything back.

Reports records/s, MB/s of record data, call p50/p99, the load generator's own CPU use and
how many acknowledged records could not be read back exactly as sent. The server's RSS is
sampled throughout. Run alone: ``python -m bench.ingest [--smoke] [--servers ...]``.
"""

from __future__ import annotations

from bench.client import KinesisClient
from bench.config import Settings
from bench.loadgen import LoadPlan, run_load
from bench.procs import RssSampler
from bench.results import NOT_APPLICABLE, ServerResults
from bench.servers import RunningServer
from bench.verify import verify_stream

MB = 1e6


def measure_ingest(server: RunningServer, settings: Settings, out: ServerResults) -> None:
    """One load run per record size, each into a fresh stream; RSS peak over all of them."""
    peak = 0
    for size in settings.record_sizes:
        stream = f"ingest-{size}"
        if server.kind.stores_records:
            with KinesisClient(server.port) as client:
                client.create_stream(stream, settings.shards)
        plan = LoadPlan(
            port=server.port,
            stream=stream,
            record_size=size,
            seconds=settings.ingest_seconds,
            records_per_call=settings.records_per_call,
            workers=settings.workers,
            bodies_per_worker=settings.bodies_per_worker,
        )
        sampler = RssSampler(server.pid)
        try:
            load = run_load(plan, on_start=sampler.start)
        finally:
            peak = max(peak, sampler.stop())
        key = f"ingest.{size}"
        out.set(f"{key}.records_s", load.records_per_s)
        out.set(f"{key}.mb_s", load.mb_per_s)
        out.set(f"{key}.p50_ms", load.p(50) * 1000)
        out.set(f"{key}.p99_ms", load.p(99) * 1000)
        out.set(f"{key}.loadgen_cores", load.loadgen_cores)
        if load.errors or load.failed:
            out.note(
                f"ingest {size} B: {load.failed} records refused, "
                f"{len(load.errors)} failed calls (first: {load.errors[:1]})"
            )
        if not server.kind.stores_records:
            out.set(f"{key}.lost", NOT_APPLICABLE)
            continue
        check = verify_stream(server.port, stream, load.expected(), settings.verify_timeout_s)
        out.set(f"{key}.lost", check.lost)
        if not check.ok:
            out.note(
                f"ingest {size} B: {check.acked:,} acked, {check.read:,} read back, "
                f"{check.lost:,} lost, {check.unexpected:,} unexpected"
                + ("" if check.complete else ", read-back timed out")
            )
    out.set("ingest.rss_peak_mb", peak / MB)


if __name__ == "__main__":
    from bench.cli import main_for

    main_for(__doc__ or "", [measure_ingest])
