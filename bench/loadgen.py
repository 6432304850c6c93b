"""The PutRecords load generator: several processes, pre-built signed bodies, keep-alive.

Each worker builds a few distinct 500-record bodies and signs each once, then sends them
round-robin on one kept-alive connection until its time or call budget runs out, timing
every call and keeping count of which records were acknowledged.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from bench.client import KinesisClient, signed_headers
from bench.config import FULL
from bench.records import body_records, expected_records, put_records_payload
from bench.stats import percentile
from bench.workers import run_workers

MAX_ERRORS_PER_WORKER = 20


@dataclass(frozen=True)
class LoadPlan:
    port: int
    stream: str
    record_size: int
    seconds: float  # time bound
    max_records: int | None = None  # count bound (all workers together), None: time only
    records_per_call: int = 500
    workers: int = FULL.workers
    bodies_per_worker: int = 4


@dataclass
class WorkerReport:
    calls: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    full_acks: dict[tuple[int, int], int] = field(default_factory=dict)
    partial_acks: list[tuple[int, int, list[int]]] = field(default_factory=list)
    ended: float = 0.0
    cpu_s: float = 0.0


@dataclass(frozen=True)
class LoadResult:
    plan: LoadPlan
    calls: int
    acked: int
    failed: int
    errors: list[str]
    wall_s: float
    latencies_s: list[float]
    loadgen_cpu_s: float
    full_acks: dict[tuple[int, int], int]
    partial_acks: list[tuple[int, int, list[int]]]

    @property
    def records_per_s(self) -> float:
        return self.acked / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        """Acknowledged record data (not the base64 on the wire), in MB (10^6 B) per second."""
        return self.records_per_s * self.plan.record_size / 1e6

    @property
    def loadgen_cores(self) -> float:
        return self.loadgen_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_s, q)

    def expected(self) -> Counter[bytes]:
        return expected_records(
            self.full_acks, self.partial_acks, self.plan.records_per_call, self.plan.record_size
        )


class _Answer(msgspec.Struct):
    FailedRecordCount: int = 0


class _Entry(msgspec.Struct):
    SequenceNumber: str | None = None


class _FullAnswer(msgspec.Struct):
    Records: list[_Entry] = []


_decode_answer = msgspec.json.Decoder(_Answer).decode
_decode_full = msgspec.json.Decoder(_FullAnswer).decode

Body = tuple[int, bytes, dict[str, str]]


def _prepare(job: tuple[LoadPlan, int]) -> list[Body]:
    plan, worker = job
    bodies = []
    for b in range(plan.bodies_per_worker):
        datas = body_records(worker, b, plan.records_per_call, plan.record_size)
        payload = put_records_payload(plan.stream, worker, b, datas)
        bodies.append((b, payload, signed_headers(plan.port, "PutRecords", payload)))
    return bodies


def _record(report: WorkerReport, worker: int, body: int, status: int, answer: bytes) -> None:
    if status != 200:
        report.errors.append(f"HTTP {status}: {answer[:200]!r}")
        return
    failed = _decode_answer(answer).FailedRecordCount
    if failed == 0:
        key = (worker, body)
        report.full_acks[key] = report.full_acks.get(key, 0) + 1
        return
    entries = _decode_full(answer).Records
    acked = [i for i, entry in enumerate(entries) if entry.SequenceNumber is not None]
    report.partial_acks.append((worker, body, acked))
    report.failed += len(entries) - len(acked)


def _work(job: tuple[LoadPlan, int], bodies: list[Body]) -> WorkerReport:
    plan, worker = job
    per_worker = None if plan.max_records is None else plan.max_records / plan.workers
    max_calls = 10**9 if per_worker is None else math.ceil(per_worker / plan.records_per_call)
    report = WorkerReport()
    cpu0 = time.process_time()
    deadline = time.monotonic() + plan.seconds
    with KinesisClient(plan.port, timeout_s=60) as client:
        while report.calls < max_calls and time.monotonic() < deadline:
            body, payload, headers = bodies[report.calls % len(bodies)]
            t0 = time.perf_counter()
            try:
                status, answer = client.post("PutRecords", payload, headers)
            except OSError as exc:
                status, answer = 599, repr(exc).encode()
            report.latencies_s.append(time.perf_counter() - t0)
            report.calls += 1
            _record(report, worker, body, status, answer)
            if len(report.errors) >= MAX_ERRORS_PER_WORKER:
                break
    report.ended = time.monotonic()
    report.cpu_s = time.process_time() - cpu0
    return report


def run_load(plan: LoadPlan, on_start: Callable[[], None] | None = None) -> LoadResult:
    """Drive ``plan`` to its end; ``on_start`` runs right before the workers start."""
    jobs = [(plan, w) for w in range(plan.workers)]
    reports, started, _ = run_workers(
        _prepare, _work, jobs, timeout_s=plan.seconds + 120, on_start=on_start
    )
    full: dict[tuple[int, int], int] = {}
    partial: list[tuple[int, int, list[int]]] = []
    for report in reports:
        full.update(report.full_acks)
        partial.extend(report.partial_acks)
    acked = sum(times for times in full.values()) * plan.records_per_call
    acked += sum(len(indexes) for _, _, indexes in partial)
    return LoadResult(
        plan=plan,
        calls=sum(r.calls for r in reports),
        acked=acked,
        failed=sum(r.failed for r in reports),
        errors=[e for r in reports for e in r.errors][:10],
        wall_s=max(r.ended for r in reports) - started,
        latencies_s=[x for r in reports for x in r.latencies_s],
        loadgen_cpu_s=sum(r.cpu_s for r in reports),
        full_acks=full,
        partial_acks=partial,
    )
