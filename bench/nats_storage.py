"""Headwater on its three storage layouts: local disk, NATS JetStream R1, NATS JetStream R3.

The same server, load and probes as the main comparison (``bench.ingest``: PutRecords of 500
records into a 4-shard stream from the shared load generator, every acknowledged record read
back; ``bench.latency``: put → GetRecords and put → SubscribeToShard), once per backend:

- ``local``: embedded storage (segment files, fdatasync before every ack);
- ``nats-r1``: one ``nats-server`` with JetStream, one replica per shard stream;
- ``nats-r3``: a 3-server JetStream cluster, three replicas (an ack waits for a quorum).

Every NATS server runs on this machine next to Headwater and the load generator, so the R3
numbers include three servers' CPU on the same cores. Run alone:
``python -m bench.nats_storage [--smoke] [--seconds S] [--workers N] [--json FILE]``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.nats_cluster import NatsCluster

from bench.cli import Progress, describe_settings, parse_args, settings_from
from bench.config import Settings
from bench.ingest import measure_ingest
from bench.latency import measure_latency
from bench.machine import describe, load_text, machine_lines
from bench.results import Results, ServerResults
from bench.servers import HEADWATER, KINDS, RunningServer, ServerKind
from bench.table import Metric, format_value, ingest_metrics


@dataclass(frozen=True)
class Backend:
    name: str
    nats_servers: int  # 0: local storage
    replicas: int = 1


BACKENDS = (Backend("local", 0), Backend("nats-r1", 1, 1), Backend("nats-r3", 3, 3))


def _headwater_on(storage_url: str | None) -> ServerKind:
    """Headwater as the main comparison runs it, on the given storage."""
    base = KINDS[HEADWATER]
    if storage_url is None:
        return base

    def command(port: int, work: Path) -> list[str]:
        return [*base.command(port, work), "--storage", storage_url]

    return ServerKind(HEADWATER, command, stores_records=True, durable=True)


@contextlib.contextmanager
def _storage(backend: Backend, work: Path) -> Iterator[str | None]:
    """The storage URL for ``backend``, with its NATS servers running meanwhile."""
    if not backend.nats_servers:
        yield None
        return
    cluster = NatsCluster(work / "nats", size=backend.nats_servers).start()
    try:
        yield cluster.storage_url(replicas=backend.replicas)
    finally:
        cluster.stop()


def measure_backend(backend: Backend, settings: Settings, work: Path, out: ServerResults) -> None:
    with _storage(backend, work) as url:
        server = RunningServer(_headwater_on(url), work).start()
        try:
            measure_ingest(server, settings, out)
            measure_latency(server, settings, out)
        finally:
            server.stop()


def metrics(settings: Settings) -> list[Metric]:
    rows = [m for size in settings.record_sizes for m in ingest_metrics(size)]
    return [
        *(m for m in rows if not m.key.endswith("loadgen_cores")),
        Metric("ingest.rss_peak_mb", "Headwater RSS under ingest load, peak MB", 0, False),
        Metric("latency.get_p50_ms", "put → GetRecords p50 ms", 2, False),
        Metric("latency.get_p99_ms", "put → GetRecords p99 ms", 2, False),
        Metric("latency.subscribe_p50_ms", "put → SubscribeToShard p50 ms", 2, False),
        Metric("latency.subscribe_p99_ms", "put → SubscribeToShard p99 ms", 2, False),
    ]


def render(results: Results, names: Sequence[str], rows: Sequence[Metric]) -> list[str]:
    """A Markdown table, one column per backend, with each NATS column's ratio to local."""
    others = [n for n in names if n != "local"]
    header = ["metric", *names, *(f"{n} / local" for n in others)]
    lines = [header, ["---"] * len(header)]
    for metric in rows:
        cells = [
            metric.label,
            *(format_value(results.get(metric.key, n), metric.digits) for n in names),
        ]
        for name in others:
            mine, local = results.number(metric.key, name), results.number(metric.key, "local")
            cells.append(f"{mine / local:.2f}x" if mine is not None and local else "")
        lines.append(cells)
    return ["| " + " | ".join(cells) + " |" for cells in lines]


def main(argv: Sequence[str] | None = None) -> Results:
    args = parse_args(__doc__ or "", argv)
    settings = settings_from(args)
    progress, results = Progress(), Results()
    machine, load_before = describe(), load_text()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="headwater-bench-nats-"))
    try:
        for backend in BACKENDS:
            progress.say(f"{backend.name}: measuring")
            out = ServerResults(results, backend.name)
            try:
                measure_backend(backend, settings, work / backend.name, out)
            except Exception as exc:  # reported in the table's notes, the others still run
                out.note(f"failed: {exc!r}"[:500])
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    header = machine_lines(machine, load_before, load_text())
    header += [describe_settings(settings), f"took {progress.elapsed():.0f} s"]
    lines = [*header, "", *render(results, [b.name for b in BACKENDS], metrics(settings))]
    if results.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in results.notes)]
    print("\n".join(lines), flush=True)
    if args.json is not None:
        results.save(args.json, header)
    return results


if __name__ == "__main__":
    main()
