"""bench/nats_storage.py keeps working: its smoke run, end to end (no timed assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_nats_storage_bench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.nats_storage", "--smoke", "--json", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "nats-r3" in done.stdout
    assert json.loads(results.read_text())
