"""PutRecords entries as columns, and a JSON request decoded straight into them.

The generic validator walks a dict per record to produce AWS' exact messages; for a
500-record PutRecords that walk (about 1 µs a record) costs more than everything else the
request needs. ``decode_put_records`` accepts the common well-formed JSON request with a
typed decode (in C) and whole-column checks instead. Whatever it does not accept in full —
a wrong type, a bound, unusual base64, a non-ASCII key — makes it return None, and the request
takes the generic path, which reports exactly as AWS does. So it only ever accepts what the
generic path accepts, cleaned to the same values (the tests compare the two).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec
from pybase64 import b64encode

from headwater.service import shapes
from headwater.service.validation import member_test


@dataclass(slots=True)
class RecordColumns:
    """The entries of a PutRecords request, one list per member."""

    partition_keys: list[bytes]  # UTF-8
    datas: list[bytes]
    explicit_hash_keys: list[str | None] | None  # None: no entry has one

    @classmethod
    def from_entries(cls, entries: list[dict[str, Any]]) -> RecordColumns:
        """Columns of validated entries (each with its PartitionKey)."""
        hash_keys = None
        if any("ExplicitHashKey" in entry for entry in entries):
            hash_keys = [entry.get("ExplicitHashKey") for entry in entries]
        return cls(
            [entry["PartitionKey"].encode() for entry in entries],
            [entry["Data"] for entry in entries],
            hash_keys,
        )


class _Entry(msgspec.Struct, gc=False):
    Data: str
    PartitionKey: str
    ExplicitHashKey: str | None = None


class _PutRecords(msgspec.Struct, gc=False):
    Records: list[_Entry]
    StreamName: str | None = None
    StreamARN: str | None = None
    StreamId: str | None = None
    DryRun: bool | None = None


_decoder = msgspec.json.Decoder(_PutRecords)
_DATA = attrgetter("Data")
_PARTITION_KEY = attrgetter("PartitionKey")
_EXPLICIT_HASH_KEY = attrgetter("ExplicitHashKey")
_blobs = msgspec.json.Decoder(list[bytes])
_ONE_CALL_MAX_AVERAGE = 256  # digits a text (192 bytes of data); see decode_base64_column
_ZERO_FILL = (b"", b"\0\0", b"\0")  # by length % 3: zero bytes completing the last group
_INPUT = shapes.OPERATIONS["PutRecords"]
_RECORDS = _INPUT.members["Records"]
_STREAM_MEMBERS: tuple[tuple[str, Callable[[Any], bool] | None], ...] = tuple(
    (name, member_test(_INPUT.members[name])) for name in ("StreamName", "StreamARN", "StreamId")
)
_HASH_KEY_TEST = member_test(shapes.HASH_KEY)
_KEY_MIN, _KEY_MAX = shapes.PARTITION_KEY.min or 0, shapes.PARTITION_KEY.max or 0
_DATA_MAX = shapes.DATA.max or 0


def decode_put_records(body: bytes) -> dict[str, Any] | None:
    """The cleaned PutRecords request of a JSON body, with ``Records`` as ``RecordColumns``;
    None when the body is anything but plainly valid (then the generic path decides)."""
    try:
        request = _decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):  # the generic path reports either
        return None
    entries = request.Records
    if not (_RECORDS.min or 0) <= len(entries) <= (_RECORDS.max or len(entries)):
        return None
    cleaned: dict[str, Any] = {}
    for name, test in _STREAM_MEMBERS:
        value = getattr(request, name)
        if value is not None:
            if test is not None and not test(value):
                return None
            cleaned[name] = value
    if request.DryRun is not None:
        cleaned["DryRun"] = request.DryRun
    columns = _columns(entries)
    if columns is None:
        return None
    cleaned["Records"] = columns
    return cleaned


def _columns(entries: list[_Entry]) -> RecordColumns | None:
    keys = list(map(_PARTITION_KEY, entries))
    lengths = list(map(len, keys))
    if not "".join(keys).isascii() or min(lengths) < _KEY_MIN or max(lengths) > _KEY_MAX:
        return None  # Java counts non-ASCII lengths differently: the generic path knows how
    hash_keys: list[str | None] | None = list(map(_EXPLICIT_HASH_KEY, entries))
    if hash_keys.count(None) == len(entries):
        hash_keys = None
    elif _HASH_KEY_TEST is not None and not all(
        _HASH_KEY_TEST(key) for key in hash_keys if key is not None
    ):
        return None
    datas = decode_base64_column(list(map(_DATA, entries)))
    if datas is None or max(map(len, datas)) > _DATA_MAX:
        return None
    return RecordColumns(list(map(str.encode, keys)), datas, hash_keys)


def decode_base64_column(texts: list[str]) -> list[bytes] | None:
    """Every text decoded as strictly as AWS decodes a Blob, in two calls for them all; None
    if any text is not canonical base64, or if the texts are long (see below).

    msgspec decodes the texts as one JSON array of blobs: strict about the alphabet, the
    length and the padding, but not about the unused bits of a padded text's last digit,
    which AWS requires to be zero. So the data is encoded back in one call, each record
    filled with zero bytes to whole 3-byte groups: a text is canonical exactly when its
    digits are those (its "=" read as the "A" a zero fill encodes to). Past
    ``_ONE_CALL_MAX_AVERAGE`` digits a text, msgspec's decoding (about 4 ns a digit) and the
    check cost more than a call per record saves, so long texts are left to the generic path.
    """
    joined = "".join(texts)
    if (
        len(joined) > _ONE_CALL_MAX_AVERAGE * len(texts)
        or any(map((3).__and__, map(len, texts)))  # whole 4-digit groups: texts align below
        or '"' in joined
        or "\\" in joined  # kept out of the array built here
    ):
        return None
    try:
        datas = _blobs.decode(('["' + '","'.join(texts) + '"]').encode())
    except msgspec.DecodeError:
        return None
    parts: list[bytes] = [b""] * (2 * len(datas))
    parts[0::2] = datas
    parts[1::2] = map(_ZERO_FILL.__getitem__, map((3).__rmod__, map(len, datas)))
    if b64encode(b"".join(parts)) != joined.encode().replace(b"=", b"A"):
        return None
    return datas
