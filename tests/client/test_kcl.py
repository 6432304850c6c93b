"""``headwater kcl``: kclpy-style record processors run and checkpoint, with no Java."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.client.kcl.properties import KclSettings, parse_properties
from tests.support.waiting import poll_until

REPO = Path(__file__).resolve().parents[2]
APPS = Path(__file__).parent / "kcl_app"
HAS_KCLPY = importlib.util.find_spec("amazon_kclpy") is not None


def test_properties_syntax_follows_java():
    text = (
        "# comment\n! also a comment\n"
        "executableName = python app.py\n"
        "streamName:orders\n"
        "applicationName   billing\n"
        "long = first \\\n    second\n"
        "escaped\\ key = tab\\there \\u00e9\n"
        "empty =\n"
    )
    assert parse_properties(text) == {
        "executableName": "python app.py",
        "streamName": "orders",
        "applicationName": "billing",
        "long": "first second",
        "escaped key": "tab\there é",
        "empty": "",
    }


def test_kcl_property_names_map_to_consumer_settings(tmp_path):
    (tmp_path / "app.py").write_text("")
    settings = KclSettings.from_properties(
        {
            "executableName": "app.py",
            "streamName": "orders",
            "streamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/orders",
            "applicationName": "billing",
            "initialPositionInStream": "TRIM_HORIZON",
            "failoverTimeMillis": "4000",
            "idleTimeBetweenReadsInMillis": "250",
            "maxRecords": "500",
            "retrievalMode": "FANOUT",
            "regionName": "eu-west-1",
        },
        tmp_path,
    )
    assert settings.command == [sys.executable, str(tmp_path / "app.py")]
    assert settings.stream.startswith("arn:")  # streamArn wins, as in the KCL
    assert settings.config.failover_time == 4.0
    assert settings.config.idle_time_between_reads == 0.25
    assert settings.config.max_records == 500
    assert settings.config.retrieval == "fanout"
    assert settings.region == "eu-west-1"
    assert settings.lease_store == str(tmp_path / "billing.leases.sqlite")


def checkpoints(lease_db: Path, application: str) -> dict[str, str]:
    if not lease_db.exists():
        return {}
    with sqlite3.connect(lease_db, timeout=10) as db:
        try:
            rows = db.execute(
                "SELECT shard_id, checkpoint FROM headwater_leases WHERE application = ?",
                (application,),
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
    return dict(rows)


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(
            "kclpy_sample.py",
            marks=pytest.mark.skipif(not HAS_KCLPY, reason="amazon_kclpy not installed"),
        ),
        "standin_processor.py",
    ],
)
def test_a_kclpy_processor_runs_under_headwater_kcl_and_checkpoints(
    script, kinesis, make_stream, server, tmp_path
):
    stream = make_stream(2)
    sent = [f"record-{i}" for i in range(60)]
    for i in range(0, 60, 20):
        kinesis.put_records(
            StreamName=stream,
            Records=[
                {"Data": d.encode(), "PartitionKey": f"k{j}"}
                for j, d in enumerate(sent[i : i + 20])
            ],
        )
    last = {}
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator)["Records"]
        if records:
            last[shard["ShardId"]] = records[-1]["SequenceNumber"]

    output = tmp_path / "processed.txt"
    lease_db = tmp_path / "leases.sqlite"
    application = f"kcl-{script.split('.')[0]}"
    properties = tmp_path / "app.properties"
    properties.write_text(
        f"executableName = {APPS / script}\n"
        f"streamName = {stream}\n"
        f"applicationName = {application}\n"
        "initialPositionInStream = TRIM_HORIZON\n"
        "regionName = us-east-1\n"
        f"kinesisEndpoint = {server.endpoint}\n"
        f"headwaterLeaseStore = {lease_db}\n"
        "failoverTimeMillis = 3000\n"
        "idleTimeBetweenReadsInMillis = 200\n"
    )
    env = {
        **os.environ,
        "KCL_SAMPLE_OUTPUT": str(output),
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    log = open(tmp_path / "kcl.log", "ab")  # noqa: SIM115 - given to the child
    daemon = subprocess.Popen(
        [sys.executable, "-m", "headwater", "kcl", str(properties)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        poll_until(
            lambda: output.exists() and len(output.read_text().splitlines()) >= 60,
            30,
            "every record to reach the processor",
        )
        poll_until(
            lambda: checkpoints(lease_db, application) == last, 30, "checkpoints at the ends"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{(tmp_path / 'kcl.log').read_text()[-4000:]}") from None
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    assert code == 0, (tmp_path / "kcl.log").read_text()[-4000:]
    processed = output.read_text().splitlines()
    assert sorted(line.split(" ")[4] for line in processed) == sorted(sent)
    assert all(line.split(" ")[2] == "0" for line in processed)
