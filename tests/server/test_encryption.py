"""Encryption at rest: records put while a stream is encrypted never reach disk in the clear."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support.server import HeadwaterServer

SECRET = b"top-secret-sensor-reading-"


@pytest.fixture(scope="module")
def encrypted_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("kms")
    keys = root / "keys.json"
    keys.write_text(json.dumps({"alias/ml-data": base64.b64encode(os.urandom(32)).decode()}))
    server = HeadwaterServer(root / "data", "--limits", "off", "--kms-keys", str(keys)).start()
    yield server
    server.stop()


def _read_all(kinesis, stream: str) -> list[dict]:
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return kinesis.get_records(ShardIterator=iterator)["Records"]


def _disk_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (data_dir / "streams").rglob("*.seg"))


def test_encrypted_records_are_sealed_on_disk_and_read_back(encrypted_server):
    kinesis = encrypted_server.client()
    kinesis.create_stream(StreamName="enc", ShardCount=1)
    kinesis.put_record(StreamName="enc", Data=SECRET + b"plain", PartitionKey="plain-key")
    kinesis.start_stream_encryption(StreamName="enc", EncryptionType="KMS", KeyId="alias/ml-data")
    summary = kinesis.describe_stream_summary(StreamName="enc")["StreamDescriptionSummary"]
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", "alias/ml-data")
    put = kinesis.put_record(StreamName="enc", Data=SECRET + b"sealed", PartitionKey="secret-key")
    assert put["EncryptionType"] == "KMS"

    on_disk = _disk_bytes(encrypted_server.data_dir)
    assert SECRET + b"plain" in on_disk  # written before encryption was on
    assert SECRET + b"sealed" not in on_disk
    assert b"secret-key" not in on_disk

    records = _read_all(kinesis, "enc")
    assert [r["Data"] for r in records] == [SECRET + b"plain", SECRET + b"sealed"]
    assert [r["PartitionKey"] for r in records] == ["plain-key", "secret-key"]
    assert "EncryptionType" not in records[0] and records[1]["EncryptionType"] == "KMS"

    kinesis.stop_stream_encryption(StreamName="enc", EncryptionType="KMS", KeyId="alias/ml-data")
    kinesis.put_record(StreamName="enc", Data=SECRET + b"after", PartitionKey="k")
    assert [r["Data"] for r in _read_all(kinesis, "enc")][-1] == SECRET + b"after"


def test_managed_key_survives_restart(encrypted_server):
    kinesis = encrypted_server.client()
    kinesis.create_stream(StreamName="managed", ShardCount=1)
    kinesis.start_stream_encryption(
        StreamName="managed", EncryptionType="KMS", KeyId="alias/aws/kinesis"
    )
    kinesis.put_records(
        StreamName="managed",
        Records=[{"Data": SECRET + bytes([i]), "PartitionKey": f"k{i}"} for i in range(20)],
    )
    encrypted_server.stop()
    encrypted_server.start()
    kinesis = encrypted_server.client()
    assert [r["Data"] for r in _read_all(kinesis, "managed")] == [
        SECRET + bytes([i]) for i in range(20)
    ]


def test_unknown_key_is_refused(encrypted_server):
    kinesis = encrypted_server.client()
    kinesis.create_stream(StreamName="nokey", ShardCount=1)
    with pytest.raises(ClientError) as caught:
        kinesis.start_stream_encryption(
            StreamName="nokey", EncryptionType="KMS", KeyId="alias/does-not-exist"
        )
    assert caught.value.response["Error"]["Code"] == "KMSNotFoundException"
    summary = kinesis.describe_stream_summary(StreamName="nokey")["StreamDescriptionSummary"]
    assert summary["EncryptionType"] == "NONE"
