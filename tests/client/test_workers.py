"""Consumer workers in separate processes share a stream's shards and survive a kill -9."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from headwater.client.producer import ProducerConfig, SyncProducer
from tests.support.waiting import poll_until

REPO = Path(__file__).resolve().parents[2]
APPLICATION = "workers-test"
SHARDS = 8


class Workers:
    """Worker processes and what they wrote."""

    def __init__(self, tmp_path: Path, stream: str, client_options: dict) -> None:
        self.tmp_path = tmp_path
        self.lease_db = tmp_path / "leases.sqlite"
        self.output = tmp_path / "processed.txt"
        self.stream = stream
        self.client_options = client_options
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, worker_id: str) -> None:
        settings = {
            "worker_id": worker_id,
            "stream": self.stream,
            "application": APPLICATION,
            "lease_store": str(self.lease_db),
            "output": str(self.output),
            "client": self.client_options,
            "failover_time": 3.0,
        }
        log = open(self.tmp_path / f"{worker_id}.log", "ab")  # noqa: SIM115 - given to the child
        self.processes[worker_id] = subprocess.Popen(
            [sys.executable, "-m", "tests.client.workers.consume_worker", json.dumps(settings)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def owners(self) -> Counter[str]:
        """Leases per owner, as the table says."""
        if not self.lease_db.exists():
            return Counter()
        with sqlite3.connect(self.lease_db, timeout=10) as db:
            try:
                rows = db.execute(
                    "SELECT owner FROM headwater_leases WHERE application = ?", (APPLICATION,)
                ).fetchall()
            except sqlite3.OperationalError:
                return Counter()
        return Counter(owner for (owner,) in rows if owner)

    def processed(self) -> list[tuple[float, str, str, str]]:
        """(time, shard, data, worker) per processing, in file order."""
        if not self.output.exists():
            return []
        lines = self.output.read_text().splitlines()
        out = []
        for line in lines:
            when, shard, _seq, _sub, _key, data, worker = line.split(" ")
            out.append((float(when), shard, data, worker))
        return out

    def stop_all(self) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for worker_id, process in self.processes.items():
            try:
                codes[worker_id] = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[worker_id] = None
        return codes

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-3000:]}"
            for path in sorted(self.tmp_path.glob("*.log"))
        )


class Feeder(threading.Thread):
    """Produces numbered records at a modest pace until stopped."""

    def __init__(self, stream: str, client_options: dict) -> None:
        super().__init__(daemon=True)
        self.producer = SyncProducer(stream, config=ProducerConfig(linger=0.02), **client_options)
        self.futures = []
        self.halt = threading.Event()
        self.sent = 0

    def run(self) -> None:
        while not self.halt.is_set() and self.sent < 20_000:
            batch = [(str(self.sent + i), f"key-{(self.sent + i) % 64}") for i in range(40)]
            self.futures.extend(self.producer.put_many(batch))
            self.sent += len(batch)
            self.halt.wait(0.05)  # pacing the load, not waiting for a condition

    def finish(self) -> set[str]:
        self.halt.set()
        self.join(timeout=30)
        self.producer.close()
        return {str(i) for i, future in enumerate(self.futures) if future.result(timeout=30)}


@pytest.mark.slow
def test_two_then_three_workers_share_shards_and_survive_kill_9(
    make_stream, client_options, tmp_path
):
    stream = make_stream(SHARDS)
    workers = Workers(tmp_path, stream, client_options)
    feeder = Feeder(stream, client_options)
    feeder.start()
    try:
        workers.start("A")
        workers.start("B")
        poll_until(lambda: workers.owners() == {"A": 4, "B": 4}, 40, "A and B to hold 4 each")
        workers.start("C")
        poll_until(
            lambda: sorted(workers.owners().values()) == [2, 3, 3], 40, "3/3/2 among A, B, C"
        )
        owners = workers.owners()
        victim = next(worker for worker in ("A", "B") if owners[worker] == 3)
        survivors = {"A", "B", "C"} - {victim}
        processed_before = len(workers.processed())
        kill_time = time.time()
        workers.processes[victim].send_signal(signal.SIGKILL)
        workers.processes[victim].wait(timeout=10)
        poll_until(
            lambda: set(workers.owners()) == survivors and sum(workers.owners().values()) == 8,
            40,
            "the survivors to take over the killed worker's shards",
        )
        poll_until(lambda: len(workers.processed()) > processed_before + 200, 30, "more processing")
        produced = feeder.finish()

        def all_processed() -> bool:
            return produced <= {data for _, _, data, _ in workers.processed()}

        poll_until(all_processed, 60, "every produced record to be processed")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{workers.logs()}") from None
    finally:
        feeder.halt.set()
        codes = workers.stop_all()
    assert all(codes[w] == 0 for w in survivors), (codes, workers.logs())

    processings: dict[str, list[tuple[float, str]]] = defaultdict(list)
    victim_shards, taken_over = set(), set()
    for when, shard, data, worker in workers.processed():
        processings[data].append((when, worker))
        if worker == victim:
            victim_shards.add(shard)
        elif when > kill_time:
            taken_over.add(shard)
    assert victim_shards and victim_shards <= taken_over
    assert produced <= set(processings)
    duplicates = {data: times for data, times in processings.items() if len(times) > 1}
    for data, times in duplicates.items():
        first, *again = sorted(times)
        assert first[1] == victim, (data, times)  # only the killed worker left work unsaved
        assert all(when >= kill_time for when, _ in again), (data, times, kill_time)
