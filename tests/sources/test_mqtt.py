"""The MQTT bridge against the real Mosquitto on 127.0.0.1:1883 and the real server."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from headwater.sources.common import ConfigError
from headwater.sources.mqtt import BridgeConfig, Rule
from headwater.sources.templates import KeyTemplate, TemplateError
from tests.sources.helpers import SourceProcess, StreamReader, TcpProxy, create_stream, poll

BROKER = ("127.0.0.1", 1883)


# -- templates and rules (no broker) ----------------------------------------------------


def test_key_templates_follow_iot_core() -> None:
    topic = "factory/plant-7/press-3/telemetry"
    payload = {"device": {"id": "d-42"}, "line": 3}
    assert KeyTemplate("${topic()}").render(topic) == topic
    assert KeyTemplate("${topic(2)}").render(topic) == "plant-7"
    assert KeyTemplate("${topic(9)}-x").render(topic) == "-x"
    assert KeyTemplate("${device.id}").render(topic, payload) == "d-42"
    assert KeyTemplate("${topic(2)}/${line}").render(topic, payload) == "plant-7/3"
    assert KeyTemplate("${missing}").render(topic, payload) == topic  # never an empty key
    first, second = (
        KeyTemplate("${newuuid()}").render(topic),
        KeyTemplate("${newuuid()}").render(topic),
    )
    assert first != second and uuid.UUID(first)
    for bad in ("", "${now()}", "${topic(0)}", "${}"):
        with pytest.raises(TemplateError):
            KeyTemplate(bad)


def test_rule_enrichment_keeps_the_payload() -> None:
    rule = Rule(topic="sensors/#", stream="s", partition_key="${id}", source_type="iot")
    data, key = rule.record("sensors/a", b'{"id": "x", "t": 1.5}', "2026-01-01T00:00:00.000Z")
    assert key == "x"
    assert json.loads(data) == {
        "id": "x",
        "t": 1.5,
        "source_type": "iot",
        "topic": "sensors/a",
        "received_at": "2026-01-01T00:00:00.000Z",
    }
    data, _ = rule.record("sensors/a", b"21.5", "t")
    assert json.loads(data)["payload"] == 21.5
    data, _ = rule.record("sensors/a", b"not json", "t")
    assert json.loads(data)["payload"] == "not json"
    data, _ = rule.record("sensors/a", b"\xff\x00", "t")
    assert json.loads(data)["payload_base64"] == "/wA="
    raw = Rule(topic="sensors/#", stream="s", enrich=False)
    assert raw.record("sensors/a", b"\xff\x00", "t") == (b"\xff\x00", "sensors/a")
    assert rule.matches("sensors/a/b") and not rule.matches("other/a")


def test_bridge_config_rejects_bad_files() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        BridgeConfig.from_document({"mqtt": {"client_id": "x"}})
    with pytest.raises(ConfigError, match="client_id"):
        BridgeConfig.from_document({"mqtt": {"rules": [{"topic": "a", "stream": "s"}]}})
    with pytest.raises(ConfigError, match="bad"):
        BridgeConfig.from_document(
            {"mqtt": {"client_id": "x", "colour": 1, "rules": [{"topic": "a", "stream": "s"}]}}
        )
    with pytest.raises(ConfigError, match="template"):
        BridgeConfig.from_document(
            {
                "mqtt": {
                    "client_id": "x",
                    "rules": [{"topic": "a", "stream": "s", "partition_key": "${f(}"}],
                }
            }
        )


# -- the bridge process -------------------------------------------------------------------


def _connect(client_id: str = "", clean: bool = True) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean,
        protocol=mqtt.MQTTv311,
    )
    client.connect(*BROKER)
    client.loop_start()
    return client


def _create_session(client_id: str, topic_filter: str) -> None:
    """Make the bridge's persistent session exist, subscribed, before anything is published."""
    client = _connect(client_id, clean=False)
    poll(client.is_connected)
    result, _mid = client.subscribe(topic_filter, qos=1)
    assert result == mqtt.MQTT_ERR_SUCCESS
    client.disconnect()
    client.loop_stop()


def _publish(prefix: str, numbers: range) -> None:
    client = _connect()
    try:
        infos = [
            client.publish(
                f"{prefix}/line-{n % 3}/telemetry",
                json.dumps({"seq": n, "device": f"d-{n % 5}", "temp": 20 + n % 7}),
                qos=1,
            )
            for n in numbers
        ]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def _write_config(
    path: Path, endpoint: str, client_id: str, prefix: str, stream: str, port: int = 1883
) -> Path:
    path.write_text(
        f"""
[kinesis]
endpoint_url = "{endpoint}"
region = "us-east-1"

[mqtt]
host = "127.0.0.1"
port = {port}
client_id = "{client_id}"
clean_session = false
reconnect_min_delay = 0.1
reconnect_max_delay = 2.0

[[mqtt.rules]]
topic = "{prefix}/+/telemetry"
stream = "{stream}"
partition_key = "${{topic(3)}}"
source_type = "iot"
"""
    )
    return path


@pytest.fixture
def bridge_setup(server, kinesis, stream_name, tmp_path):
    stream = create_stream(kinesis, stream_name, shards=2)
    client_id = f"hw-test-{uuid.uuid4().hex[:12]}"
    prefix = f"hwtest/{uuid.uuid4().hex[:8]}"
    _create_session(client_id, f"{prefix}/+/telemetry")
    proxy = TcpProxy(BROKER)
    config = _write_config(
        tmp_path / "bridge.toml", server.endpoint, client_id, prefix, stream, proxy.port
    )
    processes: list[SourceProcess] = []

    def start() -> SourceProcess:
        log = tmp_path / f"bridge-{len(processes)}.log"
        process = SourceProcess(["mqtt", str(config), "--log-level", "info"], log).start()
        processes.append(process)
        return process

    yield SimpleNamespace(stream=stream, prefix=prefix, start=start, proxy=proxy)
    for process in processes:
        process.kill()
    proxy.close()


def test_bridge_forwards_every_message_exactly_once(kinesis, bridge_setup) -> None:
    stream, prefix, start = bridge_setup.stream, bridge_setup.prefix, bridge_setup.start
    total = 300
    _publish(prefix, range(total))
    bridge = start()
    reader = StreamReader(kinesis, stream)
    poll(lambda: len(reader.read()) >= total or not bridge.alive(), timeout=30)
    assert bridge.stop() == 0, bridge.log()
    records = reader.read()
    bodies = [json.loads(record["Data"]) for record in records]
    assert sorted(body["seq"] for body in bodies) == list(range(total))  # exactly once
    for record, body in zip(records, bodies, strict=True):
        assert body["source_type"] == "iot"
        assert body["topic"] == f"{prefix}/line-{body['seq'] % 3}/telemetry"
        assert record["PartitionKey"] == f"line-{body['seq'] % 3}"
        assert body["received_at"].endswith("Z")


def test_bridge_killed_mid_stream_loses_nothing(kinesis, bridge_setup) -> None:
    stream, prefix, start = bridge_setup.stream, bridge_setup.prefix, bridge_setup.start
    first, second = range(0, 400), range(400, 600)
    _publish(prefix, first)
    bridge = start()
    reader = StreamReader(kinesis, stream)
    poll(lambda: len(reader.read()) >= 40, timeout=30)
    bridge.kill()  # SIGKILL mid-flow: received but unacked messages stay with the broker
    assert len(reader.read()) < len(first), "the bridge finished before it could be killed"
    _publish(prefix, second)  # published while the bridge is down
    bridge = start()
    want = set(range(600))
    poll(lambda: want <= {body["seq"] for body in reader.json()}, timeout=40)
    assert bridge.stop() == 0, bridge.log()
    counts = Counter(json.loads(record["Data"])["seq"] for record in reader.read())
    assert set(counts) == want  # at least once, nothing missing, nothing invented


def test_bridge_reconnects_with_back_off(kinesis, bridge_setup) -> None:
    setup = bridge_setup
    bridge = setup.start()
    _publish(setup.prefix, range(50))
    reader = StreamReader(kinesis, setup.stream)
    poll(lambda: len(reader.read()) >= 50, timeout=30)
    connections = setup.proxy.accepted
    setup.proxy.cut(refuse_next=2)  # the broker "goes away", then refuses twice
    _publish(setup.prefix, range(50, 100))  # queued by the broker for the persistent session
    want = set(range(100))
    poll(lambda: want <= {body["seq"] for body in reader.json()}, timeout=30)
    assert setup.proxy.accepted >= connections + 3  # two refused attempts, then a session
    assert bridge.alive()
    assert bridge.stop() == 0, bridge.log()
    assert "mqtt disconnected" in bridge.log()
    # acks in flight when the link broke may be lost: at least once, nothing missing
    assert {json.loads(r["Data"])["seq"] for r in reader.read()} == want
