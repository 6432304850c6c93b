"""The batch body layout and the storage URL: pure functions, checked without a server."""

from __future__ import annotations

import pytest

from headwater.storage.base import StoredRecords
from headwater.storage.batch_body import CorruptBatch
from headwater.storage.nats.frames import BatchMeta, decode_into, encode_body
from headwater.storage.nats.settings import parse_storage_url


def test_a_batch_reads_back_with_its_meta_and_must_hold_its_count() -> None:
    meta = BatchMeta(seq=7, first_position=100, count=2, arrival_ms=5, codec=1)
    out = StoredRecords(101)
    decode_into(out, meta, encode_body([b"a", b"b"], [b"1", b"2"]), 1, 10, 1 << 20)
    assert (out.partition_keys, out.datas, out.arrival_ms, out.codecs) == ([b"b"], [b"2"], [5], [1])
    with pytest.raises(CorruptBatch):
        decode_into(StoredRecords(100), meta, encode_body([b"a"], [b"1"]), 0, 10, 1 << 20)


def test_batch_meta_travels_in_one_header() -> None:
    meta = BatchMeta(seq=3, first_position=10, count=4, arrival_ms=1234, codec=1)
    assert BatchMeta.parse(3, meta.header()) == meta
    assert meta.next_position == 14


def test_storage_url() -> None:
    settings = parse_storage_url("nats://10.0.0.1:4222,10.0.0.2:4222?replicas=3&prefix=prod")
    assert settings.servers == ("nats://10.0.0.1:4222", "nats://10.0.0.2:4222")
    assert (settings.replicas, settings.prefix) == (3, "prod")
    assert settings.shard_stream("abc", "shardId-000000000001") == "prod-abc-shardId-000000000001"


def test_storage_url_credentials_stay_out_of_logs() -> None:
    settings = parse_storage_url("nats://hw:s3cret@10.0.0.1:4222,hw:s3cret@10.0.0.2:4222")
    assert settings.servers[0] == "nats://hw:s3cret@10.0.0.1:4222"
    assert "s3cret" not in settings.describe() and "10.0.0.2:4222" in settings.describe()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4222",
        "nats://",
        "nats://127.0.0.1:4222?replicas=2",
        "nats://127.0.0.1:4222?colour=blue",
        "nats://127.0.0.1:4222?prefix=a.b",
        "nats://127.0.0.1:4222?timeout_s=1&attempt_timeout_s=2",
    ],
)
def test_bad_storage_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_storage_url(url)
