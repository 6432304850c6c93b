"""The columnar PutRecords path accepts only what the generic validator accepts, cleaned to
the same columns; anything else falls to the generic path (and its AWS messages)."""

from __future__ import annotations

import base64
import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.errors import KinesisError
from headwater.protocol.codecs import JSON
from headwater.service.record_columns import (
    RecordColumns,
    decode_base64_column,
    decode_put_records,
)
from headwater.service.validation import validate

from .test_validation import BASE64_TEXT, kinesalite_base64


def _generic(body: bytes) -> dict | None:
    try:
        return validate("PutRecords", JSON.decode(body))
    except KinesisError:
        return None


def _agrees(body: bytes) -> None:
    fast = decode_put_records(body)
    if fast is None:
        return
    generic = _generic(body)
    assert generic is not None, body
    columns = fast.pop("Records")
    assert columns == RecordColumns.from_entries(generic.pop("Records"))
    assert fast == generic


ENTRY_VALUES = {
    "Data": st.one_of(
        BASE64_TEXT,
        st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
        st.just(None),
        st.integers(),
    ),
    "PartitionKey": st.one_of(st.text(max_size=300), st.just(""), st.just(None), st.integers()),
    "ExplicitHashKey": st.one_of(
        st.integers(0, 2**129).map(str), st.text(max_size=5), st.just(None)
    ),
    "Unknown": st.text(max_size=3),
}
entries = st.dictionaries(st.sampled_from(sorted(ENTRY_VALUES)), st.none()).flatmap(
    lambda keys: st.fixed_dictionaries({key: ENTRY_VALUES[key] for key in keys})
)
requests = st.fixed_dictionaries(
    {"Records": st.lists(entries, max_size=6) | st.just(None) | st.just("x")},
    optional={
        "StreamName": st.sampled_from(["s", "bad name", "", "a" * 129]),
        "StreamARN": st.sampled_from(["arn:aws:kinesis:us-east-1:123456789012:stream/s", "x"]),
        "StreamId": st.sampled_from(["abcdefghij0123456789-abc", "nope"]),
        "DryRun": st.sampled_from([True, False, 1, None]),
    },
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_whatever_the_fast_path_accepts_the_generic_path_accepts_alike(request: dict) -> None:
    _agrees(json.dumps(request).encode())


def test_a_plain_request_takes_the_fast_path() -> None:
    records = [
        {"Data": base64.b64encode(bytes([i % 256]) * (i % 150)).decode(), "PartitionKey": f"k{i}"}
        for i in range(500)
    ]
    records[7]["ExplicitHashKey"] = "12345"
    body = json.dumps({"StreamName": "s", "Records": records}).encode()
    fast = decode_put_records(body)
    assert fast is not None and fast["StreamName"] == "s"
    columns = fast["Records"]
    assert columns.datas == [bytes([i % 256]) * (i % 150) for i in range(500)]
    assert columns.partition_keys[499] == b"k499"
    assert columns.explicit_hash_keys[7] == "12345" and columns.explicit_hash_keys[0] is None
    _agrees(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"Records": [{"Data": "QR==", "PartitionKey": "k"}]}',  # unused bits set
        b'{"Records": [{"Data": "QQ==QQ==", "PartitionKey": "k"}]}',
        b'{"Records": [{"Data": "QQ\\u003d\\u003d", "PartitionKey": "\xc3\xa9"}]}',  # non-ASCII key
        b'{"Records": [{"Data": "QQ==", "PartitionKey": ""}]}',
        b'{"Records": [{"Data": "QQ==", "PartitionKey": "k", "ExplicitHashKey": "01"}]}',
        b'{"Records": [{"Data": "QQ==", "PartitionKey": "k", "ExplicitHashKey": ""}]}',
        b'{"Records": []}',
        b'{"Records": [{"Data": "QQ==", "PartitionKey": "k"}], "StreamName": "a b"}',
        b'{"Records": [{"Data": null, "PartitionKey": "k"}]}',
        b'{"Records": [' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]}",
    ],
)
def test_anything_unusual_is_left_to_the_generic_path(body: bytes) -> None:
    assert decode_put_records(body) is None


@settings(max_examples=3000)
@given(st.lists(BASE64_TEXT, min_size=1, max_size=5))
def test_base64_columns_decode_exactly_the_canonical_texts(texts: list[str]) -> None:
    decoded = decode_base64_column(texts)
    expected = [kinesalite_base64(text) for text in texts]
    if decoded is not None:
        assert decoded == expected
    elif all(isinstance(item, bytes) for item in expected):
        # refused valid texts only where the column path steps aside: long texts
        assert sum(map(len, texts)) > 256 * len(texts)


def test_escaped_digits_decode_like_plain_ones() -> None:
    body = b'{"Records": [{"Data": "Q\\u0051==", "PartitionKey": "k"}]}'
    fast = decode_put_records(body)
    assert fast is not None and fast["Records"].datas == [b"A"]
    assert msgspec.json.decode(body)["Records"][0]["Data"] == "QQ=="
