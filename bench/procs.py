"""Memory of a server process and its children, read from /proc."""

from __future__ import annotations

import os
import threading
import time


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def process_tree(pid: int, max_processes: int = 256) -> list[int]:
    """``pid`` and all its descendants (bounded)."""
    tree = [pid]
    i = 0
    while i < len(tree) and len(tree) < max_processes:
        tree.extend(_children(tree[i]))
        i += 1
    return tree[:max_processes]


def vm_rss_bytes(pid: int) -> int:
    """VmRSS of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, summed."""
    return sum(vm_rss_bytes(p) for p in process_tree(pid))


class RssSampler:
    """Samples a process tree's RSS on a background thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        self.peak = tree_rss_bytes(self.pid)
        self._thread.start()

    def stop(self) -> int:
        """Stop sampling; returns the peak in bytes."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.peak = max(self.peak, tree_rss_bytes(self.pid))
        return self.peak

    def __enter__(self) -> RssSampler:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def settle_rss(pid: int, seconds: float = 1.0, interval_s: float = 0.1) -> int:
    """RSS after ``seconds`` of quiet: the last of a few samples (bounded)."""
    deadline = time.monotonic() + seconds
    last = tree_rss_bytes(pid)
    while time.monotonic() < deadline:
        time.sleep(interval_s)
        last = tree_rss_bytes(pid)
    return last
