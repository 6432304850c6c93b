"""The whole comparison: ingest, drain, latency, footprint and restart, on every server.

Usage: bench/run [--smoke] [--servers headwater,kinesalite,moto,no-op] [--json FILE]
(or python -m bench.run from the repository root). Install the peers first: bench/setup.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    # Run as a script (python bench/run.py): import `bench` from the repository root, and
    # keep bench/ itself off the path so its modules cannot shadow the standard library's.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.cli import main_for
from bench.drain import measure_drain
from bench.footprint import measure_idle_rss
from bench.ingest import measure_ingest
from bench.latency import measure_latency
from bench.restart import measure_restart


def main() -> None:
    main_for(
        __doc__ or "",
        [measure_ingest, measure_drain, measure_latency],
        fresh=[measure_idle_rss, measure_restart],
    )


if __name__ == "__main__":
    main()
