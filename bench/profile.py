"""Where Headwater spends its time: py-spy attached to the server during ingest or drain.

Usage: python -m bench.profile --phase ingest|drain [--seconds 8] [--rate 250] [--top 20] [--gil]
Needs py-spy (bench/setup installs it). Prints the functions with the most samples, by
self time (the function itself was running) and by total time (it was on the stack).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.client import KinesisClient
from bench.config import FULL
from bench.drain import drain, fill
from bench.loadgen import LoadPlan, run_load
from bench.servers import HEADWATER, KINDS, VENV_BIN, RunningServer

# Frames that are start-up or event-loop machinery around the real work (on every stack).
_SCAFFOLD = (
    "<frozen runpy>",
    "typer/",
    "headwater/__main__.py",
    "headwater/cli/",
    "serve (headwater/server/runner.py)",
    "run (uvloop/",
    "run_until_complete",
    "run_forever",
    "_run_once",
)


@dataclass(frozen=True)
class Profile:
    samples: int
    self_counts: Counter[str]
    total_counts: Counter[str]


def parse_raw(text: str) -> Profile:
    """py-spy's raw (collapsed-stack) output: ``frame;frame;...;leaf count`` per line."""
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            total_counts[frame] += count
    return Profile(samples, self_counts, total_counts)


def top_lines(profile: Profile, top: int) -> list[str]:
    def block(title: str, counts: Counter[str]) -> list[str]:
        lines = [f"{title} (% of {profile.samples:,} samples)"]
        shown = 0
        for frame, count in counts.most_common():
            if any(part in frame for part in _SCAFFOLD):
                continue
            lines.append(f"  {100 * count / profile.samples:5.1f}%  {frame}")
            shown += 1
            if shown >= top:
                break
        return lines

    return [
        *block("self time", profile.self_counts),
        "",
        *block("total time", profile.total_counts),
    ]


def start_py_spy(pid: int, output: Path, rate: int, gil: bool) -> subprocess.Popen[bytes]:
    """py-spy attached to ``pid``; with ``gil``, only samples of the thread holding the GIL."""
    py_spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    options = ["-f", "raw", "-o", str(output), "-r", str(rate), "--nolineno", "--nonblocking"]
    if gil:
        options.append("--gil")
    return subprocess.Popen(
        [py_spy, "record", "-p", str(pid), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop_py_spy(process: subprocess.Popen[bytes]) -> None:
    """SIGINT makes py-spy write its output and exit."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def profile_phase(phase: str, seconds: float, rate: int, gil: bool, work: Path) -> Profile:
    output = work / f"{phase}.raw"
    with RunningServer(KINDS[HEADWATER], work / "server") as server:
        if phase == "ingest":
            with KinesisClient(server.port) as client:
                client.create_stream("profile", FULL.shards)
            plan = LoadPlan(server.port, "profile", 100, seconds=seconds)
            spy = start_py_spy(server.pid, output, rate, gil)
            time.sleep(0.5)  # py-spy attached
            run_load(plan)
        else:
            fill(server, FULL, 1_000_000)
            spy = start_py_spy(server.pid, output, rate, gil)
            time.sleep(0.5)
            drain(server.port, seconds)
        stop_py_spy(spy)
    if not output.exists():
        raise RuntimeError(f"py-spy wrote nothing: {spy.stderr.read() if spy.stderr else ''}")
    return parse_raw(output.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=("ingest", "drain"), default="ingest")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="headwater-profile-"))
    try:
        profile = profile_phase(args.phase, args.seconds, args.rate, args.gil, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    scope = "samples holding the GIL" if args.gil else "all non-idle samples"
    print(f"Headwater, {args.phase} (100 B records), py-spy at {args.rate} Hz, {scope}:")
    print("\n".join(top_lines(profile, args.top)))


if __name__ == "__main__":
    main()
