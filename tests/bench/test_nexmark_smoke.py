"""``bench/nexmark --smoke`` keeps working, in memory and end to end through streams.

In memory, the smoke run exits non-zero when a query's continuous output differs from the same
query run once over all events (``Application.run_batch``). Numbers are not checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.nexmark.report import FLINK_PER_CORE

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", [[], ["--streams"]], ids=["in-memory", "streams"])
def test_nexmark_smoke_runs_every_query(tmp_path: Path, mode: list[str]) -> None:
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.nexmark", "--smoke", *mode, "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    assert [r["query"] for r in results] == list(FLINK_PER_CORE)
    for result in results:
        assert result["events"] > 0 and result["cpu_s"] > 0, result
    q0 = results[0]
    assert q0["rows"] == q0["events"], "q0 passes every bid through: none may be dropped as late"
    assert "| query | events in | rows out |" in done.stdout
    assert "Flink events/s per core" in done.stdout and "cores" in done.stdout
