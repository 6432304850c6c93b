"""The shared command line: pick servers and sizes, run measurements, print the report."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from bench.config import MIB, Settings, settings_for
from bench.machine import describe, load_text, machine_lines
from bench.results import Results, ServerResults
from bench.servers import ALL_SERVERS, KINDS, RunningServer, ServerKind, missing_reason
from bench.table import RATIO_NOTE, all_metrics, bytes_text, render, render_targets

# A measurement on a running server shared with the others of its run ...
Measure = Callable[[RunningServer, Settings, ServerResults], None]
# ... or one that starts its own server(s) of a kind, in its own work directory.
FreshMeasure = Callable[[ServerKind, Path, Settings, ServerResults], None]


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=description.strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="everything tiny (seconds)")
    parser.add_argument(
        "--servers",
        default=",".join(ALL_SERVERS),
        help=f"comma-separated subset of {','.join(ALL_SERVERS)} (default: all installed)",
    )
    parser.add_argument("--seconds", type=float, help="duration of each ingest run")
    parser.add_argument("--workers", type=int, help="load generator processes")
    parser.add_argument("--drain-records", type=int, help="records drained from Headwater")
    parser.add_argument("--peer-drain-records", type=int, help="records drained from peers")
    parser.add_argument("--restart-gb", type=float, help="data size for the restart (GiB)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--workdir", type=Path, help="where servers keep data (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return settings_for(
        args.smoke,
        ingest_seconds=args.seconds,
        workers=args.workers,
        drain_records=args.drain_records,
        peer_drain_records=args.peer_drain_records,
        restart_data_bytes=None if args.restart_gb is None else int(args.restart_gb * 1024 * MIB),
    )


def server_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise SystemExit(f"unknown server(s): {', '.join(unknown)}; known: {ALL_SERVERS}")
    return names


class Progress:
    """One line on stderr per step, with the time since the start."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        print(f"[{self.elapsed():6.1f} s] {text}", file=sys.stderr, flush=True)


def _guarded(progress: Progress, out: ServerResults, label: str, step: Callable[[], None]) -> None:
    progress.say(f"{out.server}: {label}")
    try:
        step()
    except Exception as exc:  # one failing step must not sink the whole comparison
        out.note(f"{label} failed: {exc!r}"[:500])
        progress.say(f"{out.server}: {label} FAILED: {exc!r}"[:300])


def run_suite(
    settings: Settings,
    names: Sequence[str],
    measures: Sequence[Measure],
    fresh: Sequence[FreshMeasure],
    work: Path,
    progress: Progress,
) -> tuple[Results, list[str]]:
    """Every measurement for every installed server, one server at a time."""
    results = Results()
    ran: list[str] = []
    for name in names:
        reason = missing_reason(name)
        if reason:
            results.note(f"{name}: skipped: {reason}")
            progress.say(f"{name}: skipped ({reason})")
            continue
        ran.append(name)
        kind, out = KINDS[name], ServerResults(results, name)
        if measures:
            _run_shared(kind, work / name, settings, measures, out, progress)
        for measure in fresh:
            where = work / f"{name}-{measure.__name__}"
            label = measure.__name__.removeprefix("measure_")
            _guarded(progress, out, label, partial(measure, kind, where, settings, out))
    return results, ran


def _run_shared(
    kind: ServerKind,
    work: Path,
    settings: Settings,
    measures: Sequence[Measure],
    out: ServerResults,
    progress: Progress,
) -> None:
    server = RunningServer(kind, work)
    try:
        server.start()
    except Exception as exc:
        out.note(f"did not start: {exc!r}"[:500])
        progress.say(f"{out.server}: did not start")
        return
    try:
        for measure in measures:
            label = measure.__name__.removeprefix("measure_")
            _guarded(progress, out, label, partial(measure, server, settings, out))
    finally:
        server.stop()


def report(
    results: Results, ran: Sequence[str], settings: Settings, header: list[str]
) -> list[str]:
    lines = [*header, ""]
    metrics = all_metrics(settings)
    lines += render(results, ran, metrics)
    lines += ["", RATIO_NOTE]
    lines += ["", "Targets (Headwater, on this machine with the load generator on it):"]
    lines += render_targets(results, metrics)
    if results.notes:
        lines += ["", "Notes:"] + [f"- {note}" for note in results.notes]
    return lines


def describe_settings(settings: Settings) -> str:
    mode = "smoke" if settings.smoke else "full"
    sizes = "/".join(str(s) for s in settings.record_sizes)
    return (
        f"run: {mode}; ingest {settings.ingest_seconds:g} s per size ({sizes} B records, "
        f"{settings.records_per_call} per call, {settings.shards} shards, "
        f"{settings.workers} load processes); drain {settings.drain_records:,} records "
        f"(peers {settings.peer_drain_records:,}); {settings.latency_samples} latency probes; "
        f"restart with {bytes_text(settings.restart_data_bytes)}"
    )


def main_for(
    description: str,
    measures: Sequence[Measure],
    fresh: Sequence[FreshMeasure] = (),
    argv: Sequence[str] | None = None,
) -> Results:
    """Parse the command line, run, print the report; returns the results."""
    args = parse_args(description, argv)
    settings = settings_from(args)
    names = server_names(args.servers)
    progress = Progress()
    machine, load_before = describe(), load_text()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="headwater-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results, ran = run_suite(settings, names, measures, fresh, work, progress)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    header = machine_lines(machine, load_before, load_text())
    header += [describe_settings(settings), f"took {progress.elapsed():.0f} s"]
    lines = report(results, ran, settings, header)
    print("\n".join(lines), flush=True)
    if args.json is not None:
        results.save(args.json, header)
    return results
