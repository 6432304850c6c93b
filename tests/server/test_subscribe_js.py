"""SubscribeToShard with the AWS SDK for JavaScript v3 over HTTP/2 (h2c and TLS with ALPN).

The JS SDK only speaks HTTP/2 for event streams, so these tests drive tests/js/subscribe.mjs
(one JSON line per event, stamped with node's Date.now()) and compare its arrival times with
Python's time.time() at put. Covered: delivery within 50 ms at the median over h2c,
continuation after a re-subscribe, ChildShards at a shard's end, and a subscription over
HTTPS with a certificate from a test CA (NODE_EXTRA_CA_CERTS). A raw httpx check confirms the
server really negotiates HTTP/2, with prior knowledge (h2c) and through ALPN (TLS).

Skipped, with the reason, where Node.js or tests/js/node_modules (``npm ci --prefix tests/js``,
run by scripts/test) is missing.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import ssl
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from botocore.eventstream import EventStreamBuffer

from tests.support.fanout import register_consumer
from tests.support.lineage import Kinesis, create_stream, shard_id
from tests.support.server import HeadwaterServer, free_port
from tests.support.signed_http import JSON_TYPE, TARGET_PREFIX, sign

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SCRIPT = JS_DIR / "subscribe.mjs"
NODE = shutil.which("node")
SDK = JS_DIR / "node_modules" / "@aws-sdk" / "client-kinesis"

if NODE is None:
    pytest.skip("Node.js is not installed: no JavaScript SDK tests", allow_module_level=True)
if not SDK.is_dir():
    pytest.skip(
        "tests/js/node_modules is missing: run `npm ci --prefix tests/js` (scripts/test does)",
        allow_module_level=True,
    )

SHARD0 = shard_id(0)
HALF = 2**127
LATENCY_SAMPLES = 30
MEDIAN_LATENCY_LIMIT_S = 0.050
NODE_START_TIMEOUT_S = 30.0


class NodeSubscriber:
    """One ``node subscribe.mjs`` process; its JSON lines arrive on a queue."""

    def __init__(
        self,
        endpoint: str,
        consumer_arn: str,
        shard: str,
        start: str,
        sequence: str = "",
        max_records: int = 0,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        env = {**os.environ, "NODE_NO_WARNINGS": "1", **(extra_env or {})}
        self.process = subprocess.Popen(
            [NODE, str(SCRIPT), endpoint, consumer_arn, shard, start, sequence, str(max_records)],
            cwd=JS_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                self.lines.put(json.loads(line))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr.extend(self.process.stderr)

    def next_line(self, timeout_s: float = 5.0) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(
                f"node said nothing for {timeout_s} s; stderr: {''.join(self.stderr)[-2000:]}"
            ) from None
        assert "error" not in line, line
        return line

    def wait_ready(self) -> None:
        assert self.next_line(NODE_START_TIMEOUT_S) == {"ready": True}

    def records(self, count: int, timeout_s: float = 5.0) -> list[tuple[float, list[str]]]:
        """(node's arrival time in s, [data, sequence number]) for ``count`` records."""
        got: list[tuple[float, list[str]]] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count:
            line = self.next_line(max(deadline - time.monotonic(), 0.01))
            got.extend((line["t"] / 1000, record) for record in line["records"])
            self.last = line
        return got

    def wait_exit(self, timeout_s: float = 10.0) -> int:
        return self.process.wait(timeout=timeout_s)

    def __enter__(self) -> NodeSubscriber:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def put(kinesis: Kinesis, stream: str, data: str) -> dict:
    return kinesis.put_record(StreamName=stream, Data=data.encode(), PartitionKey="pk")


@pytest.fixture
def fan_out(kinesis, stream_name) -> tuple[str, str]:
    create_stream(kinesis, stream_name, 1)
    return stream_name, register_consumer(kinesis, stream_name, "js-sdk")


# -- h2c: HTTP/2 with prior knowledge on the plain port ----------------------------------------


def test_js_sdk_receives_records_put_after_subscribing_within_50_ms_at_the_median(
    kinesis, server, fan_out
):
    stream, arn = fan_out
    latencies: list[float] = []
    with NodeSubscriber(server.endpoint, arn, SHARD0, "LATEST", max_records=LATENCY_SAMPLES) as js:
        js.wait_ready()
        for i in range(LATENCY_SAMPLES):
            sent = time.time()
            answer = put(kinesis, stream, f"js-live-{i}")
            ((arrived, (data, sequence)),) = js.records(1)
            latencies.append(arrived - sent)
            assert (data, sequence) == (f"js-live-{i}", answer["SequenceNumber"])
            assert js.last["behind"] == 0
        assert js.wait_exit() == 0
    median = statistics.median(latencies)
    assert median <= MEDIAN_LATENCY_LIMIT_S, (
        f"median put→delivery {median * 1000:.1f} ms; all: "
        f"{sorted(round(x * 1000, 1) for x in latencies)}"
    )


def test_js_sdk_continues_after_resubscribing_with_the_continuation_number(
    kinesis, server, fan_out
):
    stream, arn = fan_out
    sent = [put(kinesis, stream, f"first-{i}")["SequenceNumber"] for i in range(5)]
    with NodeSubscriber(server.endpoint, arn, SHARD0, "TRIM_HORIZON", max_records=5) as js:
        js.wait_ready()
        got = js.records(5)
        continuation = js.last["cont"]
        assert js.wait_exit() == 0

    sent += [put(kinesis, stream, f"second-{i}")["SequenceNumber"] for i in range(5)]
    server.advance_clock(5_100)  # past AWS' rules on re-subscribing to the same shard
    with NodeSubscriber(
        server.endpoint, arn, SHARD0, "AFTER_SEQUENCE_NUMBER", continuation, max_records=5
    ) as js:
        js.wait_ready()
        got += js.records(5)
        assert js.wait_exit() == 0
    assert [sequence for _, (_, sequence) in got] == sent


def test_js_sdk_subscription_ends_with_child_shards_when_the_shard_is_split(
    kinesis, server, fan_out
):
    stream, arn = fan_out
    first = put(kinesis, stream, "before-split")
    with NodeSubscriber(server.endpoint, arn, SHARD0, "TRIM_HORIZON") as js:
        js.wait_ready()
        assert js.records(1)[0][1] == ["before-split", first["SequenceNumber"]]
        kinesis.split_shard(StreamName=stream, ShardToSplit=SHARD0, NewStartingHashKey=str(HALF))
        line = js.next_line()
        for _ in range(5):
            if line["child"]:
                break
            assert line["records"] == []
            line = js.next_line()
        assert line["child"] == [shard_id(1), shard_id(2)]
        assert js.wait_exit() == 0


def test_js_sdk_errors_come_back_as_kinesis_errors(server, fan_out):
    _, arn = fan_out
    with NodeSubscriber(server.endpoint, arn, shard_id(9), "LATEST") as js:
        line = js.lines.get(timeout=NODE_START_TIMEOUT_S)
        assert line["error"] == "ResourceNotFoundException", line
        assert js.wait_exit() == 2


# -- the server speaks HTTP/2: checked without the SDK ----------------------------------------


def signed_post(client: httpx.Client, url: str, operation: str, body: dict) -> httpx.Response:
    payload = json.dumps(body).encode()
    headers = sign(
        url, payload, {"Content-Type": JSON_TYPE, "X-Amz-Target": TARGET_PREFIX + operation}
    )
    return client.post(url, content=payload, headers=headers)


def test_plain_port_speaks_http2_with_prior_knowledge(server, kinesis, fan_out):
    stream, arn = fan_out
    url = f"{server.endpoint}/"
    with httpx.Client(http1=False, http2=True, timeout=10) as client:
        health = client.get(f"{server.endpoint}/_headwater/health")
        assert health.http_version == "HTTP/2"
        described = signed_post(client, url, "DescribeStreamSummary", {"StreamName": stream})
        assert described.http_version == "HTTP/2"
        assert described.status_code == 200
        assert described.json()["StreamDescriptionSummary"]["StreamName"] == stream

        # The event stream itself over h2c: initial-response, then the record put after it.
        body = {"ConsumerARN": arn, "ShardId": SHARD0, "StartingPosition": {"Type": "LATEST"}}
        payload = json.dumps(body).encode()
        headers = sign(
            url,
            payload,
            {"Content-Type": JSON_TYPE, "X-Amz-Target": TARGET_PREFIX + "SubscribeToShard"},
        )
        with client.stream("POST", url, content=payload, headers=headers) as response:
            assert response.http_version == "HTTP/2"
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
            messages = EventStreamBuffer()
            chunks = response.iter_raw()
            seen: list[Any] = []
            answer = None
            for chunk in chunks:
                messages.add_data(chunk)
                seen.extend(messages)
                if seen and answer is None:
                    answer = put(kinesis, stream, "raw-h2")
                if len(seen) >= 2:
                    break
    assert seen[0].headers[":event-type"] == "initial-response"
    assert seen[1].headers[":event-type"] == "SubscribeToShardEvent"
    event = json.loads(seen[1].payload)
    assert answer is not None
    assert [r["SequenceNumber"] for r in event["Records"]] == [answer["SequenceNumber"]]


# -- TLS: HTTPS with HTTP/2 via ALPN ------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HeadwaterServer, str, Path]]:
    """A server with a certificate for localhost/127.0.0.1 from a CA made here:
    (server, https endpoint, CA file)."""
    base = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    leaf = authority.issue_cert("localhost", "127.0.0.1")
    cert, key, ca = base / "cert.pem", base / "key.pem", base / "ca.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    port = free_port()
    running = HeadwaterServer(
        base / "data", "--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", str(port)
    ).start()
    try:
        yield running, f"https://127.0.0.1:{port}", ca
    finally:
        running.stop()


def test_js_sdk_subscribes_over_https(tls, stream_name):
    server, https, ca = tls
    kinesis = server.client()
    create_stream(kinesis, stream_name, 1)
    arn = register_consumer(kinesis, stream_name, "js-tls")
    with NodeSubscriber(
        https, arn, SHARD0, "LATEST", max_records=5, extra_env={"NODE_EXTRA_CA_CERTS": str(ca)}
    ) as js:
        js.wait_ready()
        sent = [put(kinesis, stream_name, f"tls-{i}")["SequenceNumber"] for i in range(5)]
        got = js.records(5)
        assert js.wait_exit() == 0
    assert [record for _, record in got] == [[f"tls-{i}", s] for i, s in enumerate(sent)]


def test_tls_port_negotiates_http2_through_alpn_and_still_serves_http1(tls, stream_name):
    server, https, ca = tls
    create_stream(server.client(), stream_name, 1)
    context = ssl.create_default_context(cafile=str(ca))
    with httpx.Client(http2=True, verify=context, timeout=10) as client:
        health = client.get(f"{https}/_headwater/health")
        assert health.http_version == "HTTP/2"
        described = signed_post(
            client, f"{https}/", "DescribeStreamSummary", {"StreamName": stream_name}
        )
        assert described.http_version == "HTTP/2"
        assert described.status_code == 200
    with httpx.Client(http2=False, verify=context, timeout=10) as client:
        assert client.get(f"{https}/_headwater/health").http_version == "HTTP/1.1"
