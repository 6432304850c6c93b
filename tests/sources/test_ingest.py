"""HTTP ingest: the real ``headwater ingest`` process against the real server, plus the
back-pressure answer checked in process."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import httpx
import pytest

from headwater.client import PutResult
from headwater.sources.common import ConfigError
from headwater.sources.ingest import IngestApp, IngestConfig, parse_body
from tests.sources.helpers import SourceProcess, StreamReader, create_stream, poll
from tests.support.server import free_port

TOKEN = "s3cret-token"


@pytest.fixture
def ingest(server, kinesis, stream_name, tmp_path):
    stream = create_stream(kinesis, stream_name, shards=2)
    open_stream = create_stream(kinesis, f"{stream_name}-open")
    port = free_port()
    config = tmp_path / "ingest.toml"
    config.write_text(
        f"""
[kinesis]
endpoint_url = "{server.endpoint}"
region = "us-east-1"

[ingest]
host = "127.0.0.1"
port = {port}

[[ingest.routes]]
stream = "{stream}"
token = "{TOKEN}"
partition_key = "${{user.id}}"
source_type = "social"
max_body_bytes = 4096
max_records = 20

[[ingest.routes]]
stream = "{open_stream}"
enrich = false
"""
    )
    process = SourceProcess(["ingest", str(config)], tmp_path / "ingest.log").start()
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.alive(), process.log()
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    poll(ready, timeout=30, interval=0.05)
    with httpx.Client(base_url=base, timeout=10) as http:
        yield SimpleNamespace(http=http, stream=stream, open_stream=open_stream)
    assert process.stop() == 0, process.log()


def _post(ingest, body, *, token=TOKEN, content_type="application/json", stream=None):
    headers = {"content-type": content_type}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
    return ingest.http.post(f"/ingest/{stream or ingest.stream}", content=body, headers=headers)


def test_object_array_and_ndjson_are_written(kinesis, ingest) -> None:
    one = _post(ingest, {"user": {"id": "u1"}, "text": "hello"})
    assert one.status_code == 200, one.text
    assert one.json()["accepted"] == 1
    many = _post(ingest, [{"user": {"id": f"u{i}"}, "n": i} for i in range(5)])
    assert many.json()["accepted"] == 5
    lines = "\n".join(json.dumps({"user": {"id": "u9"}, "n": 10 + i}) for i in range(3)) + "\n"
    ndjson = _post(ingest, lines, content_type="application/x-ndjson")
    assert ndjson.status_code == 200 and ndjson.json()["accepted"] == 3
    assert all(r["sequence_number"] for r in ndjson.json()["records"])
    reader = StreamReader(kinesis, ingest.stream)
    poll(lambda: len(reader.read()) >= 9)
    records = reader.read()
    assert len(records) == 9
    for record in records:
        body = json.loads(record["Data"])
        assert body["source_type"] == "social" and body["received_at"].endswith("Z")
        assert record["PartitionKey"] == body["user"]["id"]
    # a route without enrichment writes the objects as they came, keyed by a fresh UUID
    raw = _post(ingest, {"a": 1}, token=None, stream=ingest.open_stream)
    assert raw.status_code == 200
    plain = StreamReader(kinesis, ingest.open_stream)
    poll(lambda: plain.read())
    assert json.loads(plain.read()[0]["Data"]) == {"a": 1}
    assert len(plain.read()[0]["PartitionKey"]) == 36


BAD_REQUESTS = {
    "no-token": ({"user": {"id": "x"}}, None, 401),
    "wrong-token": ({"user": {"id": "x"}}, "wrong", 401),
    "bad-json": (b'{"user": ', TOKEN, 400),
    "empty": (b"", TOKEN, 400),
    "not-objects": (b"[1, 2]", TOKEN, 400),
    "bad-ndjson": (b'{"a": 1}\n{"a": ', TOKEN, 400),
    "too-big": (json.dumps({"pad": "x" * 5000}), TOKEN, 413),
    "too-many": (json.dumps([{"n": i} for i in range(21)]), TOKEN, 413),
}


def test_bad_requests_are_refused_and_write_nothing(kinesis, ingest) -> None:
    for case, (body, token, status) in BAD_REQUESTS.items():
        answer = _post(ingest, body, token=token)
        assert answer.status_code == status, (case, answer.text)
        assert "error" in answer.json(), case
    # a good request afterwards is the only thing in the stream
    assert _post(ingest, {"user": {"id": "ok"}}).status_code == 200
    reader = StreamReader(kinesis, ingest.stream)
    poll(lambda: reader.read())
    assert [json.loads(r["Data"])["user"]["id"] for r in reader.read()] == ["ok"]


def test_unknown_route_and_method(ingest) -> None:
    assert ingest.http.post("/ingest/nope", content=b"{}").status_code == 404
    assert ingest.http.get(f"/ingest/{ingest.stream}").status_code == 405
    assert ingest.http.get("/elsewhere").status_code == 404


def test_parse_body_shapes() -> None:
    assert parse_body(b'{"a": 1}', "application/json") == [{"a": 1}]
    assert parse_body(b'[{"a": 1}, {"b": 2}]', "") == [{"a": 1}, {"b": 2}]
    assert parse_body(b'{"a": 1}\n\n{"b": 2}\n', "") == [{"a": 1}, {"b": 2}]
    assert parse_body(b'{"a": 1}', "application/x-ndjson") == [{"a": 1}]


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        IngestConfig.from_document({"ingest": {}})
    with pytest.raises(ConfigError, match="same stream"):
        IngestConfig.from_document({"ingest": {"routes": [{"stream": "a"}, {"stream": "a"}]}})
    with pytest.raises(ConfigError, match="bad"):
        IngestConfig.from_document({"ingest": {"colour": 1, "routes": [{"stream": "a"}]}})


class _FullSink:
    """A producer whose buffer is nearly full."""

    config = SimpleNamespace(max_buffered_records=10, max_buffered_bytes=1 << 20)
    buffered = (9, 0)

    def __init__(self) -> None:
        self.puts: list[tuple[bytes, str]] = []

    def put_nowait(self, data: bytes, partition_key: str) -> asyncio.Future[PutResult]:
        self.puts.append((data, partition_key))
        future = asyncio.get_running_loop().create_future()
        future.set_result(PutResult("shardId-000000000000", "1"))
        return future


async def test_back_pressure_answers_429_and_writes_nothing() -> None:
    config = IngestConfig.from_document({"ingest": {"routes": [{"stream": "s"}]}})
    sink = _FullSink()
    transport = httpx.ASGITransport(app=IngestApp(config, {"s": sink}))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.post("/ingest/s", json=[{"a": 1}, {"a": 2}])
        assert answer.status_code == 429 and answer.headers["retry-after"] == "1"
        assert sink.puts == []
        assert (await http.post("/ingest/s", json={"a": 1})).status_code == 200
        assert len(sink.puts) == 1
