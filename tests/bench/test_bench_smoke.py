"""The benchmark scripts keep working: the smoke run, end to end (no timed assertions).

Headwater and the no-op ceiling always run; kinesalite and moto only where bench/setup
installed them. Numbers are not checked, only that every measurement produced one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.servers import ALL_SERVERS, HEADWATER, NOOP, missing_reason

REPO = Path(__file__).resolve().parents[2]

HEADWATER_METRICS = (
    "ingest.100.records_s",
    "ingest.1024.records_s",
    "ingest.100.p99_ms",
    "ingest.rss_peak_mb",
    "drain.records_s",
    "latency.get_p50_ms",
    "footprint.idle_rss_mb",
    "restart.empty_s",
    "restart.data_s",
)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """Run ``bench/run.py --smoke`` once; its printed report and its JSON results."""
    out = tmp_path_factory.mktemp("bench")
    servers = [name for name in ALL_SERVERS if not missing_reason(name)]
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--smoke",
            "--servers",
            ",".join(servers),
            "--json",
            str(out / "results.json"),
            "--workdir",
            str(out / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads((out / "results.json").read_text())


def test_headwater_has_every_number(smoke: tuple[str, dict]) -> None:
    _, results = smoke
    values = results["values"]
    for metric in HEADWATER_METRICS:
        assert isinstance(values[metric][HEADWATER], int | float), metric
    assert values["ingest.100.lost"][HEADWATER] == 0
    assert values["ingest.1024.lost"][HEADWATER] == 0
    assert values["latency.subscribe_p50_ms"][HEADWATER] is not None


def test_noop_ceiling_ran(smoke: tuple[str, dict]) -> None:
    _, results = smoke
    values = results["values"]
    assert values["ingest.100.records_s"][NOOP] > 0
    assert values["ingest.100.lost"][NOOP] == "n/a"


def test_installed_peers_ran(smoke: tuple[str, dict]) -> None:
    _, results = smoke
    for peer in ("kinesalite", "moto"):
        if missing_reason(peer):
            continue
        assert results["values"]["ingest.100.records_s"][peer] > 0, peer
        assert isinstance(results["values"]["drain.records_s"][peer], int | float), peer


def test_report_prints_table_ratios_machine_and_targets(smoke: tuple[str, dict]) -> None:
    stdout, results = smoke
    assert "cores" in stdout and "load average" in stdout
    assert "| metric | headwater |" in stdout
    assert "HW / no-op" in stdout
    assert "Targets" in stdout
    broken = [n for n in results["notes"] if "failed:" in n or "did not start" in n]
    assert not broken, broken
