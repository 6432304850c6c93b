"""The batch body layout and the storage URL: pure functions, checked without a server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.storage.base import StoredRecords
from headwater.storage.nats.frames import BatchMeta, decode_into, encode_body
from headwater.storage.nats.settings import parse_storage_url

records = st.lists(
    st.tuples(st.binary(max_size=300), st.binary(max_size=3000)), min_size=1, max_size=40
)


@given(records, st.data())
def test_a_batch_reads_back_from_any_index_within_any_bounds(batch, data) -> None:
    meta = BatchMeta(seq=7, first_position=100, count=len(batch), arrival_ms=5, codec=1)
    skip = data.draw(st.integers(0, len(batch) - 1))
    max_records = data.draw(st.integers(1, 50))
    max_bytes = data.draw(st.integers(0, 20_000))
    out = StoredRecords(100 + skip)
    decode_into(out, meta, encode_body(batch), skip, max_records, max_bytes)
    expected = batch[skip : skip + max_records]
    taken = len(out)
    assert 1 <= taken <= len(expected)
    assert list(zip(out.partition_keys, out.datas, strict=True)) == expected[:taken]
    assert out.size == sum(len(k) + len(d) for k, d in expected[:taken])
    assert taken == 1 or out.size <= max_bytes
    if taken < len(expected):  # stopped by bytes: the next record would not have fitted
        assert out.size + len(expected[taken][0]) + len(expected[taken][1]) > max_bytes
    assert out.codecs == [1] * taken and out.arrival_ms == [5] * taken


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
