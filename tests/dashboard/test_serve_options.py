"""Server options around the dashboard: --no-dashboard, login with --credentials, and
consumer applications' lag from --lag-lease-store (in /metrics and the live updates)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.consuming import consume
from tests.support.server import HeadwaterServer
from tests.support.waiting import poll_until

PAGE = {"accept": "text/html"}


@pytest.fixture
def start_server(tmp_path: Path):
    servers: list[HeadwaterServer] = []

    def start(*args: str) -> HeadwaterServer:
        server = HeadwaterServer(tmp_path / f"data{len(servers)}", *args).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_no_dashboard_leaves_get_to_the_kinesis_endpoint(start_server) -> None:
    server = start_server("--no-dashboard")
    answer = httpx.get(server.endpoint + "/", headers=PAGE, timeout=10)
    assert answer.status_code == 403
    assert b"MissingAuthenticationTokenException" in answer.content
    assert httpx.get(server.endpoint + "/_dashboard/api/topology", timeout=10).status_code == 403


def test_credentials_put_the_dashboard_behind_a_login(start_server, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIDLOGIN\naws_secret_access_key = s3cr3t\n"
    )
    server = start_server("--credentials", str(credentials))
    url = server.endpoint + "/"
    assert httpx.get(url, headers=PAGE, timeout=10).status_code == 401
    assert httpx.get(url, headers=PAGE, auth=("AKIDLOGIN", "wrong"), timeout=10).status_code == 401
    page = httpx.get(url, headers=PAGE, auth=("AKIDLOGIN", "s3cr3t"), timeout=10)
    assert page.status_code == 200
    assert b"Headwater" in page.content


def _lag_samples(endpoint: str, stream: str) -> dict[str, float]:
    """shard -> kinesis_application_MillisBehindLatest of ``stream``'s application."""
    text = httpx.get(endpoint + "/metrics", timeout=10).text
    return {
        sample.labels["shard"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "kinesis_application_MillisBehindLatest"
        for sample in family.samples
        if sample.labels["stream"] == stream
    }


def _rates_event_with_applications(endpoint: str, stream: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", endpoint + "/_dashboard/api/events", timeout=timeout) as events:
        event = ""
        for line in events.iter_lines():
            if time.monotonic() > deadline:
                break
            if line.startswith("event:"):
                event = line[6:].strip()
            if event != "rates" or not line.startswith("data:"):
                continue
            payload = json.loads(line[5:])
            behind = payload.get("streams", {}).get(stream, {}).get("applications_behind_ms")
            if behind:
                return behind
    raise AssertionError("no rates event with the application's lag")


def test_lag_lease_store_exports_application_lag(start_server, tmp_path: Path) -> None:
    leases = tmp_path / "leases.sqlite"
    server = start_server("--dev-clock", "--lag-lease-store", str(leases), "--lag-interval", "0.2")
    kinesis = server.client()
    stream = "lagging-stream"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    entries = [{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(6)]
    assert kinesis.put_records(StreamName=stream, Records=entries)["FailedRecordCount"] == 0
    asyncio.run(consume(server.endpoint, stream, "lagging", str(leases), 6))
    caught_up = poll_until(lambda: _lag_samples(server.endpoint, stream), timeout=20)
    assert set(caught_up.values()) == {0.0}

    first = sorted(caught_up)[0]
    kinesis.put_records(
        StreamName=stream,
        Records=[{"Data": b"y", "PartitionKey": "k", "ExplicitHashKey": "0"}] * 2,
    )
    server.advance_clock(5000)
    behind = poll_until(
        lambda: (s := _lag_samples(server.endpoint, stream)).get(first, 0) >= 5000 and s,
        timeout=20,
        what="the first shard's lag in /metrics",
    )
    assert [value for shard, value in behind.items() if shard != first] == [0.0]
    assert _rates_event_with_applications(server.endpoint, stream, 20)["lagging"] >= 5000
