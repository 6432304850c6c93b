"""The dashboard's HTTP routes on a real server: page, static files, JSON and SSE."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from headwater.dashboard.events import MAX_CLIENTS
from headwater.protocol.sigv4 import SigV4Verifier
from headwater.server.app import HeadwaterApp
from headwater.server.kinesis_endpoint import KinesisEndpoint
from headwater.service.service import StreamService
from headwater.storage.local import LocalStorage
from tests.support.server import HeadwaterServer
from tests.support.waiting import poll_until

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _in_process_app(data_dir, credentials: dict[str, str] | None) -> HeadwaterApp:
    """The ASGI app without a server, for what needs no socket (and no lifespan)."""
    service = StreamService(LocalStorage(data_dir))
    verifier = SigV4Verifier(credentials)
    return HeadwaterApp(service, KinesisEndpoint(service, verifier), credentials=credentials)


def _name() -> str:
    return f"dash-{uuid.uuid4().hex[:8]}"


def _put(kinesis, stream: str, records: list[tuple[str, bytes]]) -> None:
    entries = [{"PartitionKey": key, "Data": data} for key, data in records]
    assert kinesis.put_records(StreamName=stream, Records=entries)["FailedRecordCount"] == 0


def _records(http: httpx.Client, **params) -> dict:
    response = http.get("/_dashboard/api/records", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _raw_get(server: HeadwaterServer, target: str, host: str = "127.0.0.1") -> int:
    """The status of a GET sent byte for byte (clients would normalise dot segments)."""
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request.encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def _events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event, data) pairs of a Server-Sent Events response, as they arrive."""
    event = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            yield event, json.loads(line[len("data: ") :])


def test_page_for_browsers_kinesis_answer_for_others(http: httpx.Client) -> None:
    page = http.get("/", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/_dashboard/static/app.js">' in page.text
    # An API client's GET of / is still the Kinesis endpoint's, answered as AWS does.
    api = http.get("/")
    assert api.status_code == 403
    assert api.text.startswith("<MissingAuthenticationTokenException>")


def test_static_files_are_served_and_nothing_else(
    http: httpx.Client, dashboard_server: HeadwaterServer
) -> None:
    script = http.get("/_dashboard/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert http.get("/_dashboard/static/vendor/uPlot.esm.js").status_code == 200
    assert "MIT" in http.get("/_dashboard/static/vendor/uPlot-LICENSE.txt").text
    for target in (
        "/_dashboard/static/../routes.py",
        "/_dashboard/static/%2e%2e/routes.py",
        "/_dashboard/static/vendor/../../__init__.py",
        "/_dashboard/static//etc/passwd",
        "/_dashboard/static/",
        "/_dashboard/static/nope.js",
    ):
        assert _raw_get(dashboard_server, target) == 404, target


@pytest.mark.parametrize(
    ("host", "status"),
    [("localhost:1", 200), ("127.0.0.1", 200), ("[::1]:4567", 200), ("rebound.example", 403)],
)
def test_open_dashboard_answers_only_ip_or_localhost(
    dashboard_server: HeadwaterServer, host: str, status: int
) -> None:
    """A page of another site reaches a local server only by DNS rebinding, under its name."""
    assert _raw_get(dashboard_server, "/_dashboard/api/topology", host) == status


def test_read_only_and_bounded(http: httpx.Client) -> None:
    assert http.post("/_dashboard/api/topology", content=b"{}").status_code == 405
    assert http.get("/_dashboard/api/nope").status_code == 404
    assert http.get("/_dashboard/api/records").status_code == 400  # no stream
    too_many = [("stream", f"s{i}") for i in range(11)]
    assert http.get("/_dashboard/api/records", params=too_many).status_code == 400
    for limit in ("0", "501", "-1", "x"):
        params = {"stream": "s", "limit": limit}
        assert http.get("/_dashboard/api/records", params=params).status_code == 400
    long_filter = {"stream": "s", "key": "k" * 201}
    assert http.get("/_dashboard/api/records", params=long_filter).status_code == 400
    assert http.get("/_dashboard/api/records?" + "a=1&" * 2000).status_code == 414


def test_topology_draws_hash_ranges_and_lineage(http: httpx.Client, kinesis) -> None:
    stream = _name()
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.split_shard(
        StreamName=stream, ShardToSplit="shardId-000000000001", NewStartingHashKey=str(3 * 2**126)
    )
    streams = {s["name"]: s for s in http.get("/_dashboard/api/topology").json()["streams"]}
    shards = {s["id"]: s for s in streams[stream]["shards"]}
    assert streams[stream]["open_shards"] == 3
    parent, left, right = (shards[f"shardId-00000000000{i}"] for i in (1, 2, 3))
    assert not parent["open"] and left["open"] and right["open"]
    assert left["parent"] == right["parent"] == parent["id"]
    assert (parent["from"], left["from"], right["from"], right["to"]) == (0.5, 0.5, 0.75, 1.0)
    assert left["end"] == str(3 * 2**126 - 1)


def test_records_merge_shards_by_arrival_with_filters(
    http: httpx.Client, kinesis, dashboard_server: HeadwaterServer
) -> None:
    stream, other = _name(), _name()
    kinesis.create_stream(StreamName=stream, ShardCount=4)
    kinesis.create_stream(StreamName=other, ShardCount=1)
    _put(kinesis, stream, [(f"device-{i}", f'{{"n": {i}}}'.encode()) for i in range(40)])
    middle_ms = int(time.time() * 1000)
    poll_until(lambda: int(time.time() * 1000) > middle_ms, what="the clock to move on")
    _put(kinesis, other, [("gateway", b"\xff\xfe binary")])
    _put(kinesis, stream, [("device-1", b"late one")])

    newest = _records(http, stream=[stream, other], limit=5)
    assert newest["complete"]
    rows = newest["records"]
    assert [r["data"] for r in rows[:1]] == ["late one"]
    assert len(rows) == 5
    order = [(r["arrival_ms"], int(r["sequence_number"])) for r in rows if r["stream"] == stream]
    assert order == sorted(order, reverse=True)
    binary = next(r for r in rows if r["stream"] == other)
    assert binary["encoding"] == "base64" and binary["size"] == 9
    assert len({r["shard"] for r in _records(http, stream=stream, limit=500)["records"]}) == 4

    by_key = _records(http, stream=stream, key="device-1", limit=100)["records"]
    assert {r["partition_key"] for r in by_key} == {f"device-1{i}" for i in ("", *range(10))}
    by_text = _records(http, stream=stream, text='"n": 3')["records"]
    assert {r["data"] for r in by_text} == {f'{{"n": 3{i}}}' for i in ("", *range(10))}
    shard = rows[0]["shard"]
    assert {r["shard"] for r in _records(http, stream=stream, shard=shard)["records"]} == {shard}

    since = _records(http, stream=[stream, other], since_ms=middle_ms + 1)["records"]
    assert [r["data"] for r in since][-1] == "late one"  # oldest first from that time
    assert all(r["arrival_ms"] > middle_ms for r in since)


def test_long_data_is_cut_to_a_preview(http: httpx.Client, kinesis) -> None:
    stream = _name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    _put(kinesis, stream, [("k", "é".encode() * 3000)])
    (row,) = _records(http, stream=stream)["records"]
    assert row["truncated"] and row["size"] == 6000
    assert row["encoding"] == "utf-8" and row["data"] == "é" * 512


def test_events_stream_topology_then_live_rates(
    dashboard_server: HeadwaterServer, http: httpx.Client, kinesis
) -> None:
    stream = _name()
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    deadline = time.monotonic() + 20
    with http.stream("GET", "/_dashboard/api/events") as response:
        assert response.headers["content-type"] == "text/event-stream"
        events = _events(response)
        event, first = next(events)
        assert event == "topology"
        assert stream in {s["name"] for s in first["streams"]}
        for event, data in events:
            assert time.monotonic() < deadline, "no rates for the stream in time"
            if event != "rates":
                continue
            rates = dict(zip(data["fields"], data["streams"][stream]["rates"], strict=True))
            if rates["in_records"] > 0:
                break
            _put(kinesis, stream, [("k", b"x" * 100)] * 10)
    points = http.get("/_dashboard/api/history", params={"stream": stream}).json()["points"]
    assert any(point[1] > 0 for point in points)  # in_records/s over the recent history


def test_event_streams_are_limited(dashboard_server: HeadwaterServer) -> None:
    with httpx.Client(base_url=dashboard_server.endpoint, timeout=10) as client:

        def open_events() -> httpx.Response:
            return client.send(client.build_request("GET", "/_dashboard/api/events"), stream=True)

        pages = []
        try:
            for _ in range(MAX_CLIENTS):
                pages.append(open_events())
                assert pages[-1].status_code == 200
            refused = client.get("/_dashboard/api/events")
            assert refused.status_code == 503
        finally:
            for page in pages:
                page.close()

        def a_place_is_free() -> bool:
            page = open_events()
            page.close()
            return page.status_code == 200

        poll_until(a_place_is_free, what="closed pages to give their places back")


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Basic " + "QUtJRDp3cm9uZw==", 401), ("Basic QUtJRDpzM2NyZXQ=", 200)],
)
async def test_dashboard_needs_a_key_pair_when_the_server_has_credentials(
    tmp_path, authorization: str | None, status: int
) -> None:
    """With credentials, Basic auth: user = access key id (AKID), password = its secret."""
    app = _in_process_app(tmp_path, {"AKID": "s3cret"})
    headers = {**HTML, **({"authorization": authorization} if authorization else {})}
    # A named host is fine here: with credentials the page is protected by them.
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://dashboard"
        ) as client:
            for path in ("/", "/_dashboard/api/topology"):
                response = await client.get(path, headers=headers)
                assert response.status_code == status
                if status == 401:
                    assert response.headers["www-authenticate"].startswith("Basic realm=")
    finally:
        await app.service.close()


async def test_event_streams_end_when_shutdown_begins(tmp_path) -> None:
    """``end_event_streams`` finishes open pages' responses, so draining does not wait."""
    app = _in_process_app(tmp_path, None)
    sent: list[dict] = []
    started = asyncio.Event()
    disconnected = asyncio.Event()

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            started.set()

    async def receive() -> dict:
        await disconnected.wait()
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/_dashboard/api/events",
        "headers": [(b"host", b"127.0.0.1")],
    }
    request = asyncio.create_task(app(scope, receive, send))
    try:
        await asyncio.wait_for(started.wait(), 5)
        app.end_event_streams()
        await asyncio.wait_for(request, 5)
        assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    finally:
        disconnected.set()
        await request
        await app.service.close()
