"""Nexmark on the continuous SQL engine: events/s per core per query, beside Flink's figures.

Usage: bench/nexmark/run [--events N] [--queries q0,q5] [--streams] [--smoke] [--json FILE]
(or python -m bench.nexmark from the repository root).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.machine import describe, load_text, machine_lines
from bench.nexmark import measure, report, streams, workload

SMOKE_EVENTS = 500


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events generated")
    parser.add_argument(
        "--batch", type=int, default=10_000, help="records per micro-batch (in memory)"
    )
    parser.add_argument("--queries", default=",".join(report.QUERIES), help="comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_EVENTS} events, checked")
    parser.add_argument(
        "--streams", action="store_true", help="end to end: a server, streams, the runner"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    unknown = set(args.queries.split(",")) - set(report.QUERIES)
    if unknown:
        parser.error(f"unknown queries {sorted(unknown)}; known: {', '.join(report.QUERIES)}")
    if args.smoke:
        args.events, args.batch = SMOKE_EVENTS, 50
    return args


def in_memory(
    queries: list[str], work: workload.Workload, check: bool
) -> tuple[list[measure.Measurement], list[str]]:
    """Each query through the engine's in-memory API; with ``check``, the oracle's verdict."""
    measurements, mismatched = [], []
    for query in queries:
        measured, rows = measure.run(query, work)
        measurements.append(measured)
        if check and not measure.same_rows(rows, measure.oracle(query, work)):
            mismatched.append(query)
    return measurements, mismatched


def main() -> None:
    args = parse_args()
    load_before = load_text()
    started = time.monotonic()
    work = workload.build(args.events, args.batch, args.seed)
    queries = args.queries.split(",")
    if args.streams:
        measurements, mismatched = streams.measure_all(queries, work), []
        mode = (
            f"end to end: {streams.SHARDS}-shard streams on a fresh server, read by the stream "
            "runner; CPU = runner + server"
        )
    else:
        measurements, mismatched = in_memory(queries, work, check=args.smoke)
        mode = f"in memory: micro-batches of up to {args.batch:,} records per table; CPU = process"
    lines = [
        *machine_lines(describe(), load_before, load_text()),
        f"run: {args.events:,} Nexmark events (seed {args.seed}) over {workload.FLINK_SPAN_S:g} s "
        f"of event time, JSON-decoded by the engine; {mode}; per core = events in / CPU s; "
        f"took {time.monotonic() - started:.0f} s",
        "",
        *report.render(measurements),
    ]
    if args.streams:
        shares = (f"{m.query} {m.server_cpu_s / m.cpu_s:.0%}" for m in measurements if m.cpu_s)
        lines += ["", f"server's share of the CPU: {', '.join(shares)}"]
    if mismatched:
        lines += ["", f"MISMATCH with the batch oracle: {', '.join(mismatched)}"]
    print("\n".join(lines))
    if args.json:
        document = {"header": lines[:3], "results": [vars(m) for m in measurements]}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    if mismatched:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
