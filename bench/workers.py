"""Run one function in several processes that start together and report back.

Each worker prepares (builds bodies, opens its connection), reports ready, waits for the
common start signal, works, and returns a picklable result. Everything is bounded in time.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from collections.abc import Callable, Sequence
from typing import Any

# fork: workers inherit imported modules (botocore, msgspec), so they start in milliseconds.
_CTX = mp.get_context("fork")

Prepare = Callable[[Any], Any]
Work = Callable[[Any, Any], Any]


def _child(
    index: int, prepare: Prepare, work: Work, arg: Any, ready: Any, go: Any, out: Any
) -> None:
    try:
        state = prepare(arg)
        ready.put(index)
        if not go.wait(timeout=120):
            out.put((index, RuntimeError("start signal never came")))
            return
        out.put((index, work(arg, state)))
    except Exception as exc:  # reported to the parent, which raises it
        ready.put(index)
        out.put((index, exc))


def run_workers(
    prepare: Prepare,
    work: Work,
    args: Sequence[Any],
    timeout_s: float,
    on_start: Callable[[], None] | None = None,
) -> tuple[list[Any], float, float]:
    """Results in ``args`` order, plus the monotonic start time and wall seconds.

    ``on_start`` runs in the parent right before the start signal (e.g. to start a sampler).
    """
    ready, out, go = _CTX.Queue(), _CTX.Queue(), _CTX.Event()
    procs = [
        _CTX.Process(target=_child, args=(i, prepare, work, arg, ready, go, out), daemon=True)
        for i, arg in enumerate(args)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=120)
        if on_start is not None:
            on_start()
        started = time.monotonic()
        go.set()
        results: list[Any] = [None] * len(procs)
        deadline = started + timeout_s
        for _ in procs:
            index, result = out.get(timeout=max(deadline - time.monotonic(), 1.0))
            if isinstance(result, Exception):
                raise RuntimeError(f"worker {index} failed: {result!r}") from result
            results[index] = result
        wall = time.monotonic() - started
    except queue.Empty:
        raise TimeoutError(f"workers did not finish within {timeout_s} s") from None
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
    return results, started, wall
