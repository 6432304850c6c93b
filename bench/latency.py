"""Latency: from sending a PutRecord to the record reaching a reader.

Two readers of a 1-shard stream, each in its own process while another process puts
``latency_samples`` records, one every ``latency_interval_s``, noting when each was sent:

- GetRecords: a tight loop polling a LATEST iterator;
- SubscribeToShard: an enhanced fan-out consumer's push stream from LATEST (where the
  server has it; otherwise n/a).

Both sides use the machine's monotonic clock, so the difference is put -> seen.
Run alone: ``python -m bench.latency [--smoke] [--servers ...]``.
"""

from __future__ import annotations

import http.client
import struct
import time
from dataclasses import dataclass, replace

import msgspec
from botocore.eventstream import EventStreamBuffer

from bench.client import KinesisCallError, KinesisClient, signed_headers
from bench.config import Settings
from bench.results import NOT_APPLICABLE, ServerResults
from bench.servers import RunningServer
from bench.stats import percentile
from bench.workers import run_workers

_PROBE = struct.Struct(">4sI")  # magic, sample index
_MAGIC = b"LAT0"
MAX_POLLS = 2_000_000
MAX_EVENTS = 1_000_000
CONSUMER = "bench-latency"


@dataclass(frozen=True)
class LatencyJob:
    role: str  # "put", "poll" or "subscribe"
    port: int
    stream: str
    samples: int
    interval_s: float
    seconds: float  # time bound
    start: str = ""  # the poller's iterator, or the subscriber's "consumer ARN|shard id"


class _Record(msgspec.Struct):
    Data: bytes


class _Page(msgspec.Struct):
    Records: list[_Record] = []
    NextShardIterator: str | None = None


_decode_page = msgspec.json.Decoder(_Page).decode


def _note_probes(records: list[_Record], seen: dict[int, int]) -> None:
    now = time.monotonic_ns()
    for record in records:
        if len(record.Data) == _PROBE.size:
            magic, index = _PROBE.unpack(record.Data)
            if magic == _MAGIC:
                seen.setdefault(index, now)


# -- the putter ------------------------------------------------------------------------


def _prepare_put(job: LatencyJob) -> tuple[KinesisClient, list]:
    bodies = []
    for i in range(job.samples):
        data = _PROBE.pack(_MAGIC, i)
        body = msgspec.json.encode({"StreamName": job.stream, "Data": data, "PartitionKey": "p"})
        bodies.append((body, signed_headers(job.port, "PutRecord", body)))
    return KinesisClient(job.port, timeout_s=30), bodies


def _put(job: LatencyJob, state: tuple[KinesisClient, list]) -> dict[int, int]:
    """Send each probe; returns its send time (monotonic ns) by index."""
    client, bodies = state
    sent: dict[int, int] = {}
    time.sleep(0.05)  # the reader is reading by now
    deadline = time.monotonic() + job.seconds
    for i, (body, headers) in enumerate(bodies):
        if time.monotonic() >= deadline:
            break
        sent[i] = time.monotonic_ns()
        status, _ = client.post("PutRecord", body, headers)
        if status != 200:
            del sent[i]
        time.sleep(job.interval_s)
    client.close()
    return sent


# -- GetRecords polling ----------------------------------------------------------------


def _poll(job: LatencyJob, client: KinesisClient) -> dict[int, int]:
    """Poll until every probe was seen; returns when each was seen (monotonic ns)."""
    seen: dict[int, int] = {}
    iterator: str | None = job.start
    deadline = time.monotonic() + job.seconds
    for _ in range(MAX_POLLS):
        if iterator is None or len(seen) >= job.samples or time.monotonic() >= deadline:
            break
        page = _decode_page(client.raw("GetRecords", {"ShardIterator": iterator, "Limit": 1000}))
        _note_probes(page.Records, seen)
        iterator = page.NextShardIterator
    client.close()
    return seen


# -- SubscribeToShard ------------------------------------------------------------------


def _open_subscription(job: LatencyJob) -> tuple[http.client.HTTPResponse, EventStreamBuffer]:
    """Subscribe from LATEST and wait for the initial response (so the stream is live)."""
    consumer_arn, shard_id = job.start.split("|")
    body = msgspec.json.encode(
        {"ConsumerARN": consumer_arn, "ShardId": shard_id, "StartingPosition": {"Type": "LATEST"}}
    )
    conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=job.seconds + 10)
    conn.request("POST", "/", body, signed_headers(job.port, "SubscribeToShard", body))
    response = conn.getresponse()
    if response.status != 200:
        raise KinesisCallError("SubscribeToShard", response.status, response.read())
    buffer = EventStreamBuffer()
    for _ in range(1000):
        buffer.add_data(response.read1(65536))
        for message in buffer:
            if message.headers.get(":event-type") == "initial-response":
                return response, buffer
    raise RuntimeError("SubscribeToShard sent no initial-response")


def _subscribe(
    job: LatencyJob, state: tuple[http.client.HTTPResponse, EventStreamBuffer]
) -> dict[int, int]:
    response, buffer = state
    seen: dict[int, int] = {}
    deadline = time.monotonic() + job.seconds
    for _ in range(MAX_EVENTS):
        if len(seen) >= job.samples or time.monotonic() >= deadline:
            break
        chunk = response.read1(65536)
        if not chunk:
            break
        buffer.add_data(chunk)
        for message in buffer:
            if message.headers.get(":event-type") == "SubscribeToShardEvent":
                _note_probes(_decode_page(message.payload).Records, seen)
    response.close()
    return seen


def _prepare(job: LatencyJob) -> object:
    if job.role == "put":
        return _prepare_put(job)
    if job.role == "poll":
        return KinesisClient(job.port, timeout_s=30)
    return _open_subscription(job)


def _run(job: LatencyJob, state: object) -> dict[int, int]:
    work = {"put": _put, "poll": _poll, "subscribe": _subscribe}[job.role]
    return work(job, state)  # type: ignore[operator]


# -- the measurement -------------------------------------------------------------------


def _round(reader: LatencyJob) -> list[float]:
    """One reader against the putter; the put -> seen delays in ms."""
    putter = replace(reader, role="put", start="")
    (seen, sent), _, _ = run_workers(_prepare, _run, [reader, putter], reader.seconds + 30)
    return [(seen[i] - sent[i]) / 1e6 for i in sent if i in seen]


def _consumer_start(client: KinesisClient, stream: str, shard_id: str) -> str:
    """Register an enhanced fan-out consumer and wait until it is ACTIVE."""
    arn = client.call("DescribeStreamSummary", {"StreamName": stream})["StreamDescriptionSummary"][
        "StreamARN"
    ]
    consumer = client.call("RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": CONSUMER})
    consumer_arn = consumer["Consumer"]["ConsumerARN"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = client.call("DescribeStreamConsumer", {"ConsumerARN": consumer_arn})
        if described["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE":
            return f"{consumer_arn}|{shard_id}"
        time.sleep(0.05)
    raise TimeoutError("consumer not ACTIVE after 30 s")


def _report(out: ServerResults, name: str, delays_ms: list[float], samples: int) -> None:
    out.set(f"latency.{name}_p50_ms", percentile(delays_ms, 50))
    out.set(f"latency.{name}_p99_ms", percentile(delays_ms, 99))
    if len(delays_ms) < samples:
        out.note(f"latency ({name}): {len(delays_ms)} of {samples} probes seen")


def _not_applicable(out: ServerResults, name: str) -> None:
    out.set(f"latency.{name}_p50_ms", NOT_APPLICABLE)
    out.set(f"latency.{name}_p99_ms", NOT_APPLICABLE)


def _subscribe_round(job: LatencyJob, out: ServerResults) -> None:
    """The SubscribeToShard round; n/a where the server cannot open the subscription."""
    try:
        delays = _round(job)
    except RuntimeError as exc:
        refused = exc.__cause__
        if not isinstance(refused, KinesisCallError):
            raise
        out.note(f"SubscribeToShard not measured: {refused.error_type or refused.status}")
        _not_applicable(out, "subscribe")
        return
    _report(out, "subscribe", delays, job.samples)


def measure_latency(server: RunningServer, settings: Settings, out: ServerResults) -> None:
    if not server.kind.stores_records:
        _not_applicable(out, "get")
        _not_applicable(out, "subscribe")
        return
    samples, interval = settings.latency_samples, settings.latency_interval_s
    bound = samples * (interval + 0.05) + 10
    with KinesisClient(server.port) as client:
        client.create_stream("latency-get", 1)
        client.create_stream("latency-subscribe", 1)
        shard_id = client.shard_ids("latency-get")[0]
        iterator = client.iterator("latency-get", shard_id, "LATEST")
        try:
            start = _consumer_start(client, "latency-subscribe", shard_id)
        except KinesisCallError as exc:
            start = ""
            out.note(f"SubscribeToShard not measured: {exc.error_type or exc.status}")
    port = server.port
    poll = LatencyJob("poll", port, "latency-get", samples, interval, bound, iterator)
    _report(out, "get", _round(poll), samples)
    if not start:
        _not_applicable(out, "subscribe")
        return
    push = LatencyJob("subscribe", port, "latency-subscribe", samples, interval, bound, start)
    _subscribe_round(push, out)


if __name__ == "__main__":
    from bench.cli import main_for

    main_for(__doc__ or "", [measure_latency])
