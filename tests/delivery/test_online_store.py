"""The online store on SQLite and the real Redis: latest by event time, TTL, HTTP, delivery."""

from __future__ import annotations

import base64
import gzip
import json
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import redis

from headwater.delivery.config import DeliveryStream, OnlineStoreTarget
from headwater.delivery.online import RedisStore, SQLiteStore, open_store
from headwater.delivery.online.app import features_app
from tests.delivery.helpers import create_stream, put_json, run_until
from tests.support.server import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_store():
    store = RedisStore(REDIS_URL, namespace=f"hw-test:{uuid.uuid4().hex}")
    try:
        store.redis.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield store
    for key in store.redis.scan_iter(f"{store.namespace}:*"):
        store.redis.delete(key)
    store.close()


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = SQLiteStore(str(tmp_path / "features.sqlite"))
        yield opened
        opened.close()
    else:
        yield request.getfixturevalue("redis_store")


def test_out_of_order_events_keep_latest_by_event_time(store):
    now = time.time()
    store.put("cards", "c1", {"amount": 2}, now - 10, None)
    store.put("cards", "c1", {"amount": 1}, now - 20, None)  # older: ignored
    store.put("cards", "c2", {"amount": 5}, now - 5, None)
    got = store.get("cards", "c1")
    assert got is not None and got.value == {"amount": 2} and got.event_time == now - 10
    store.put("cards", "c1", {"amount": 3}, now - 1, None)  # newer: wins
    assert store.get("cards", "c1").value == {"amount": 3}
    assert store.get("cards", "c2").value == {"amount": 5}
    assert store.get("cards", "missing") is None
    assert store.get("other-table", "c1") is None


def test_sqlite_ttl_counts_from_event_time(tmp_path):
    clock = Clock(1_000.0)
    store = SQLiteStore(str(tmp_path / "f.sqlite"), clock=clock)
    store.put("t", "k", {"v": 1}, 990.0, 30.0)  # expires at 1020
    assert store.get("t", "k").expires_at == 1020.0
    clock.now = 1019.9
    assert store.get("t", "k") is not None
    clock.now = 1020.0
    assert store.get("t", "k") is None
    assert store.purge() == 1


def test_redis_ttl_expires_keys(redis_store):
    now = time.time()
    redis_store.put("t", "gone", {"v": 1}, now - 100, 50)  # already past its TTL
    redis_store.put("t", "soon", {"v": 2}, now, 0.3)
    redis_store.put("t", "kept", {"v": 3}, now, 3600)
    assert redis_store.get("t", "gone") is None
    assert redis_store.redis.exists(redis_store._key("t", "gone")) == 0  # expired by Redis
    assert redis_store.get("t", "kept").value == {"v": 3}
    deadline = time.monotonic() + 5
    while redis_store.get("t", "soon") is not None:  # Redis expires it at event_time + ttl
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ttl_ms = redis_store.redis.pttl(redis_store._key("t", "kept"))
    assert 3_500_000 < ttl_ms <= 3_600_000


async def test_http_get_features(tmp_path):
    store = SQLiteStore(str(tmp_path / "f.sqlite"))
    store.put("users", "u 1", {"score": 0.5}, time.time(), None)
    transport = httpx.ASGITransport(app=features_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://features") as client:
        found = await client.get("/features/users/u%201")
        assert found.status_code == 200
        assert found.json()["value"] == {"score": 0.5} and found.json()["key"] == "u 1"
        assert (await client.get("/features/users/nobody")).status_code == 404
        assert (await client.get("/elsewhere")).status_code == 404
        assert (await client.post("/features/users/u%201")).status_code == 405


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_delivery_feeds_online_store(server, kinesis, stream_name, tmp_path, backend):
    if backend == "redis":
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
    create_stream(kinesis, stream_name, shards=2)
    table = f"payments-{uuid.uuid4().hex[:8]}"
    spec = REDIS_URL if backend == "redis" else f"sqlite://{tmp_path / 'f.sqlite'}"
    now = time.time()
    events = [
        {"card": "a", "amount": 1, "ts": now - 30},
        {"card": "a", "amount": 3, "ts": now - 10},
        {"card": "a", "amount": 2, "ts": now - 20},  # arrives last, older by event time
        {"card": "b", "amount": 7, "ts": now - 5},
        b"garbage",
        {"amount": 9, "ts": now - 1},  # no card: no key
    ]
    put_json(kinesis, stream_name, events, key=lambda i: f"p{i}")  # spread over shards
    settings = DeliveryStream(
        name=f"features-{backend}",
        stream=stream_name,
        kind="online_store",
        online_store=OnlineStoreTarget(spec, table, "card", ttl=3600),
        destination=str(tmp_path / "lake"),  # where failed records go (the error prefix)
        error_prefix="errors/!{error}/",
        event_time_field="ts",
        buffer_interval=0.3,
        failover_time=3.0,
    )
    store = open_store(spec)

    def done() -> bool:
        a, b = store.get(table, "a"), store.get(table, "b")
        failed = sorted((tmp_path / "lake" / "errors").rglob("*.jsonl.gz"))
        return a is not None and b is not None and a.value["amount"] == 3 and len(failed) == 2

    try:
        await run_until([settings], server.endpoint, tmp_path / "l.sqlite", done)
        assert store.get(table, "a").value["amount"] == 3
        assert store.get(table, "b").value["amount"] == 7
        errors = {
            path.parent.name: [
                json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()
            ]
            for path in (tmp_path / "lake" / "errors").rglob("*.jsonl.gz")
        }
        assert sorted(errors) == ["Malformed", "MissingKey"]
        assert base64.b64decode(errors["Malformed"][0]["rawData"]) == b"garbage"
        assert json.loads(base64.b64decode(errors["MissingKey"][0]["rawData"]))["amount"] == 9
        assert "card" in errors["MissingKey"][0]["errorMessage"]
    finally:
        if backend == "redis":
            for key in store.redis.scan_iter(f"headwater:features:{table}:*"):
                store.redis.delete(key)
        store.close()


def test_features_command_serves_http(tmp_path):
    path = tmp_path / "f.sqlite"
    SQLiteStore(str(path)).put("cards", "c1", {"n": 1}, time.time(), None)
    port = free_port()
    command = [sys.executable, "-m", "headwater", "features", "--store", str(path)]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/features/cards/c1", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        assert answer.status_code == 200 and answer.json()["value"] == {"n": 1}
        missing = httpx.get(f"http://127.0.0.1:{port}/features/cards/c2", timeout=1)
        assert missing.status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
