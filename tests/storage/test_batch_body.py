"""The batch body both storage backends keep: columns that read back exactly, or not at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.storage import batch_body
from headwater.storage.base import StoredRecords

records = st.lists(
    st.tuples(st.binary(max_size=300), st.binary(max_size=3000)), min_size=1, max_size=40
)


@given(records, st.data())
def test_a_batch_reads_back_from_any_index_within_any_bounds(batch, data) -> None:
    skip = data.draw(st.integers(0, len(batch) - 1))
    max_records = data.draw(st.integers(1, 50))
    max_bytes = data.draw(st.integers(0, 20_000))
    body = b"".join(batch_body.encode_body([k for k, _ in batch], [d for _, d in batch]))
    out = StoredRecords(100 + skip)
    taken = batch_body.decode_into(out, body, 0, len(body), skip, max_records, max_bytes, 5, 1)
    expected = batch[skip : skip + max_records]
    assert taken == len(out) and 1 <= taken <= len(expected)
    assert list(zip(out.partition_keys, out.datas, strict=True)) == expected[:taken]
    assert out.size == sum(len(k) + len(d) for k, d in expected[:taken])
    assert taken == 1 or out.size <= max_bytes
    if taken < len(expected):  # stopped by bytes: the next record would not have fitted
        assert out.size + len(expected[taken][0]) + len(expected[taken][1]) > max_bytes
    assert out.codecs == [1] * taken and out.arrival_ms == [5] * taken


def test_a_full_reader_takes_nothing_more() -> None:
    body = b"".join(batch_body.encode_body([b"k", b"k"], [b"a", b"b"]))
    out = StoredRecords(0)
    assert batch_body.decode_into(out, body, 0, len(body), 0, 1, 1 << 20, 0, 0) == 1
    assert batch_body.decode_into(out, body, 0, len(body), 1, 1, 1 << 20, 0, 0) == 0
    assert out.datas == [b"a"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x01\x00",
        b"\xff\xff\xff\xff" + b"\x00" * 60,  # a huge count: refused before anything is allocated
        b"".join(batch_body.encode_body([b"key"], [b"data"])) + b"x",
        b"".join(batch_body.encode_body([b"key"], [b"data"]))[:-1],
    ],
)
def test_a_body_whose_lengths_do_not_add_up_is_refused(body: bytes) -> None:
    with pytest.raises(batch_body.CorruptBatch):
        batch_body.decode_into(StoredRecords(0), body, 0, len(body), 0, 10, 1 << 20, 0, 0)
