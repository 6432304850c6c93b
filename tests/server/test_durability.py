"""Acknowledged records survive `kill -9` and SIGTERM, at their sequence numbers, uncorrupted.

A producer that got a SequenceNumber back relies on the record being there, at that number,
for the whole retention period, whatever happens to the server afterwards. These tests put
concurrent PutRecords load on a server of their own, kill it at random points many times,
and after every restart read every shard from TRIM_HORIZON to its end.

Unacknowledged records (in flight at the kill) may or may not be there (at-least-once, as on
AWS); writers never retry, so any record must appear at most once, and anything readable must
be a record some writer sent, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import random
import signal
import threading
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from tests.support.server import HeadwaterServer
from tests.support.signed_http import KinesisHTTPError, SignedClient

pytestmark = pytest.mark.slow

SEED = 20_240_611
STREAM = "durability"
SHARD_COUNT = 4
KILL_ROUNDS = 22
WRITERS = 4
BATCH = 50
ROUND_TIMEOUT_S = 15.0
MAX_GET_CALLS = 2_000


@dataclass(frozen=True, slots=True)
class Ack:
    """One record the server acknowledged: where it said the record is."""

    shard_id: str
    sequence_number: int
    partition_key: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Stored:
    sequence_number: int
    partition_key: str
    data: bytes = field(repr=False)


@dataclass
class Ledger:
    """What writers sent and what the server acknowledged, shared by writer threads."""

    sent: dict[bytes, str] = field(default_factory=dict)  # payload -> partition key
    acks: list[Ack] = field(default_factory=list)
    acks_by_writer: dict[int, list[Ack]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    round_acks: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)

    def record_sent(self, payloads: list[tuple[bytes, str]]) -> None:
        with self.lock:
            for data, key in payloads:
                self.sent[data] = key

    def record_acks(self, writer: int, acks: list[Ack]) -> None:
        with self.lock:
            self.acks.extend(acks)
            self.acks_by_writer[writer].extend(acks)
            self.round_acks += len(acks)
            self.lock.notify_all()

    def record_error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)
            self.lock.notify_all()


def make_payload(rng: random.Random, writer: int, round_no: int, counter: int) -> bytes:
    """A unique payload ending in the CRC32 of the rest, so corruption is recognisable."""
    filler = rng.randbytes(rng.randrange(0, 300))
    body = f"w{writer}-r{round_no}-n{counter}-".encode() + filler
    return body + zlib.crc32(body).to_bytes(4, "big")


def payload_intact(data: bytes) -> bool:
    return len(data) > 4 and zlib.crc32(data[:-4]).to_bytes(4, "big") == data[-4:]


class Writer(threading.Thread):
    """PutRecords batches until told to stop or the connection fails (the server died)."""

    def __init__(self, endpoint: str, writer: int, round_no: int, ledger: Ledger, seed: int):
        super().__init__(name=f"writer-{writer}", daemon=True)
        self.endpoint = endpoint
        self.writer = writer
        self.round_no = round_no
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.stop = threading.Event()

    def run(self) -> None:
        counter = 0
        with SignedClient(self.endpoint, timeout=10.0) as client:
            for _ in range(100_000):  # bounded; a round ends long before
                if self.stop.is_set():
                    return
                batch = []
                for _ in range(BATCH):
                    data = make_payload(self.rng, self.writer, self.round_no, counter)
                    batch.append((data, f"pk-{self.writer}-{counter}"))
                    counter += 1
                self.ledger.record_sent(batch)
                body = {
                    "StreamName": STREAM,
                    "Records": [
                        {"Data": base64.b64encode(data).decode(), "PartitionKey": key}
                        for data, key in batch
                    ],
                }
                try:
                    answer = client.call("PutRecords", body)
                except httpx.TransportError:
                    return  # killed mid-request: this batch is unacknowledged
                except KinesisHTTPError as error:
                    self.ledger.record_error(f"writer {self.writer}: {error}")
                    return
                if answer.get("FailedRecordCount") != 0:
                    self.ledger.record_error(f"writer {self.writer}: partial failure {answer}")
                    return
                self.ledger.record_acks(
                    self.writer,
                    [
                        Ack(entry["ShardId"], int(entry["SequenceNumber"]), key, data)
                        for entry, (data, key) in zip(answer["Records"], batch, strict=True)
                    ],
                )


def run_writers(
    server: HeadwaterServer,
    ledger: Ledger,
    round_no: int,
    rng: random.Random,
    target: int,
    stop_server: Callable[[], None],
) -> None:
    """Write concurrently until ``target`` records are acknowledged, then ``stop_server()``.

    Waiting on a count of acknowledgements, not a time, makes the kill land while requests
    are at every stage: being parsed, written, waiting for fdatasync, or being answered.
    """
    with ledger.lock:
        ledger.round_acks = 0
    writers = [
        Writer(server.endpoint, w, round_no, ledger, rng.randrange(2**32)) for w in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    with ledger.lock:
        reached = ledger.lock.wait_for(
            lambda: ledger.round_acks >= target or ledger.errors, timeout=ROUND_TIMEOUT_S
        )
    stop_server()
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        writer.join(timeout=ROUND_TIMEOUT_S)
        assert not writer.is_alive(), f"{writer.name} hung after the server stopped"
    assert not ledger.errors, ledger.errors
    assert reached, f"round {round_no}: only {ledger.round_acks} of {target} records acknowledged"


def read_shard(client: SignedClient, shard_id: str) -> list[Stored]:
    iterator = client.call(
        "GetShardIterator",
        {"StreamName": STREAM, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"},
    )["ShardIterator"]
    out: list[Stored] = []
    for _ in range(MAX_GET_CALLS):
        page = client.call("GetRecords", {"ShardIterator": iterator, "Limit": 10_000})
        for record in page["Records"]:
            out.append(
                Stored(
                    int(record["SequenceNumber"]),
                    record["PartitionKey"],
                    base64.b64decode(record["Data"]),
                )
            )
        if not page["Records"] and page.get("MillisBehindLatest") == 0:
            return out
        iterator = page["NextShardIterator"]
    raise AssertionError(f"{shard_id}: no end after {MAX_GET_CALLS} GetRecords calls")


def hash_ranges(client: SignedClient) -> dict[str, tuple[int, int]]:
    shards = client.call("ListShards", {"StreamName": STREAM})["Shards"]
    return {
        s["ShardId"]: (
            int(s["HashKeyRange"]["StartingHashKey"]),
            int(s["HashKeyRange"]["EndingHashKey"]),
        )
        for s in shards
    }


class Checker:
    """Everything the logs must satisfy after a restart, given what came before."""

    def __init__(self) -> None:
        self.previous: dict[str, list[Stored]] = {}
        self.checked_acks = 0

    def check(self, server: HeadwaterServer, ledger: Ledger, label: str) -> None:
        with SignedClient(server.endpoint, timeout=30.0) as client:
            ranges = hash_ranges(client)
            assert len(ranges) == SHARD_COUNT, ranges
            logs = {shard_id: read_shard(client, shard_id) for shard_id in sorted(ranges)}
        seen_payloads: set[bytes] = set()
        for shard_id, log in logs.items():
            numbers = [r.sequence_number for r in log]
            assert all(a < b for a, b in pairwise(numbers)), (
                f"{label}: {shard_id} sequence numbers not strictly increasing"
            )
            low, high = ranges[shard_id]
            for record in log:
                assert payload_intact(record.data), f"{label}: corrupt record {record}"
                assert ledger.sent.get(record.data) == record.partition_key, (
                    f"{label}: {shard_id} holds a record no writer sent: {record}"
                )
                assert record.data not in seen_payloads, f"{label}: duplicated {record}"
                seen_payloads.add(record.data)
                hash_key = int.from_bytes(hashlib.md5(record.partition_key.encode()).digest())
                assert low <= hash_key <= high, f"{label}: {record} routed to wrong {shard_id}"
            before = self.previous.get(shard_id, [])
            assert log[: len(before)] == before, (
                f"{label}: {shard_id} lost or changed records that were readable before "
                f"({len(before)} then, {len(log)} now)"
            )
            # Records acknowledged since the last check went in after everything seen then.
            floor = before[-1].sequence_number if before else -1
            new_acks = [a for a in ledger.acks[self.checked_acks :] if a.shard_id == shard_id]
            assert all(a.sequence_number > floor for a in new_acks), (
                f"{label}: {shard_id} reused a sequence number at or below {floor}"
            )
        by_number = {
            (shard_id, r.sequence_number): r for shard_id, log in logs.items() for r in log
        }
        missing = [
            a
            for a in ledger.acks
            if (stored := by_number.get((a.shard_id, a.sequence_number))) is None
            or stored.data != a.data
            or stored.partition_key != a.partition_key
        ]
        assert not missing, (
            f"{label}: {len(missing)} of {len(ledger.acks)} acknowledged records are not "
            f"readable at their sequence numbers, e.g. "
            f"{[(a.shard_id, a.sequence_number, a.partition_key) for a in missing[:3]]}"
        )
        for writer, acks in ledger.acks_by_writer.items():
            per_shard: dict[str, list[int]] = defaultdict(list)
            for ack in acks:
                per_shard[ack.shard_id].append(ack.sequence_number)
            for shard_id, numbers in per_shard.items():
                assert numbers == sorted(numbers), (
                    f"{label}: writer {writer}'s later batches got lower numbers on {shard_id}"
                )
        self.previous = logs
        self.checked_acks = len(ledger.acks)


def assert_clean_log(server: HeadwaterServer) -> None:
    text = server.log_path.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert "out of sequence" not in text, text[-3000:]


def start_with_stream(data_dir: Path) -> HeadwaterServer:
    server = HeadwaterServer(data_dir, "--limits", "off").start()
    with SignedClient(server.endpoint) as client:
        client.call("CreateStream", {"StreamName": STREAM, "ShardCount": SHARD_COUNT})
    return server


def test_acknowledged_records_survive_repeated_kill_9(tmp_path: Path) -> None:
    """≥ 20 SIGKILLs at random points under load; after each restart every ack is intact."""
    rng = random.Random(SEED)
    ledger = Ledger()
    checker = Checker()
    server = start_with_stream(tmp_path / "data")
    try:
        for round_no in range(KILL_ROUNDS):
            # Each round writes to the server the last check restarted (new records must land
            # after everything recovered). A few rounds die at once, most after a few hundred
            # or a few thousand acknowledgements.
            at_once, early, late = 0, rng.randrange(1, 400), rng.randrange(400, 3_000)
            target = rng.choices([at_once, early, late], weights=[1, 3, 5])[0]
            run_writers(server, ledger, round_no, rng, target, server.kill)
            assert server.process is not None and server.process.returncode == -signal.SIGKILL
            server.start()
            checker.check(server, ledger, f"after kill {round_no + 1}")
        assert len(ledger.acks) > 5_000, "too little load to mean anything"
    finally:
        server.kill()
    assert_clean_log(server)


def test_sigterm_exits_cleanly_and_keeps_acknowledged_records(tmp_path: Path) -> None:
    """SIGTERM under load: a graceful exit (code 0), and every ack readable after restart."""
    rng = random.Random(SEED + 1)
    ledger = Ledger()
    checker = Checker()
    server = start_with_stream(tmp_path / "data")
    exit_codes: list[int | None] = []

    def terminate() -> None:
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        exit_codes.append(server.process.returncode)

    try:
        run_writers(server, ledger, 0, rng, rng.randrange(500, 2_000), terminate)
        server.start()
        checker.check(server, ledger, "after SIGTERM")
        assert ledger.acks, "no record was acknowledged before SIGTERM"
    finally:
        server.kill()
    assert_clean_log(server)
    assert exit_codes == [0], f"SIGTERM exit code {exit_codes}, expected a clean exit (0)"
