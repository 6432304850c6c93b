"""What machine a benchmark ran on, and how busy it was."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Machine:
    cores: int
    cpu_model: str
    memory_gib: float
    python: str
    node: str
    kernel: str


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's word for it)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def node_version() -> str:
    try:
        done = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return done.stdout.strip() or "unknown"


def describe() -> Machine:
    return Machine(
        cores=os.cpu_count() or 0,
        cpu_model=cpu_model(),
        memory_gib=memory_gib(),
        python=platform.python_version(),
        node=node_version(),
        kernel=platform.release(),
    )


def load_text() -> str:
    """The 1/5/15-minute load averages, as printed beside results."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine_lines(machine: Machine, load_before: str, load_after: str) -> list[str]:
    return [
        f"machine: {machine.cores} cores, {machine.cpu_model}, {machine.memory_gib:.1f} GiB, "
        f"Linux {machine.kernel}, Python {machine.python}, node {machine.node}",
        f"load average (1/5/15 min): {load_before} at start, {load_after} at end "
        "(other work shares this machine: numbers are noisy)",
    ]
