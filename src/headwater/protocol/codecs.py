"""The two body encodings Kinesis clients speak: AWS JSON 1.1 and AWS CBOR 1.1.

Decoding turns bytes into plain Python values for the validator (JSON: blobs as base64 text,
timestamps as epoch seconds; CBOR: blobs as bytes, timestamps as epoch milliseconds, the
AWS SDKs' reading of tag 1). Encoding turns handler results back, with ``Timestamp``,
``Records`` and ``PutResults`` values written the way each format's SDKs expect.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import cbor2
import msgspec
from pybase64 import b64encode  # SIMD: 6x binascii on 1 KiB records

from headwater.errors import SerializationException
from headwater.protocol.values import PutResults, Records, Timestamp

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
CBOR_CONTENT_TYPE = "application/x-amz-cbor-1.1"
_MAX_DEPTH = 64

# Sequence numbers are written as a run's shared digits + their last 8 (numbers that small
# are single-digit Python ints, the cheapest to make and format).
_LOW = 10**8
_PLAIN_KEY_BYTES = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')  # as-is in JSON
_JSON_FIELDS = 6  # parts per record in _json_records
_JSON_BETWEEN = b'"},{"SequenceNumber":"'
_JSON_AFTER_DATA = b'","PartitionKey":"'
_JSON_AFTER_DATA_KMS = b'","EncryptionType":"KMS","PartitionKey":"'
_CBOR_FIELDS = 8  # parts per record in _cbor_records
_CBOR_SEQUENCE_KEY = cbor2.dumps("SequenceNumber")
_CBOR_ARRIVAL_KEY = cbor2.dumps("ApproximateArrivalTimestamp")
_CBOR_DATA_KEY = cbor2.dumps("Data")
_CBOR_PARTITION_KEY_KEY = cbor2.dumps("PartitionKey")
_CBOR_KMS = cbor2.dumps("EncryptionType") + cbor2.dumps("KMS")
_CBOR_PUT_ENTRY_HEAD = b"\xa2" + cbor2.dumps("ShardId")  # a map of 2: ShardId, SequenceNumber


def _json_default(value: object) -> object:
    if isinstance(value, Records):
        return msgspec.Raw(_json_records(value))
    if isinstance(value, PutResults):
        return msgspec.Raw(_json_put_results(value))
    if isinstance(value, Timestamp):
        return msgspec.Raw(_json_seconds(value.ms))
    raise TypeError(f"cannot encode {type(value).__name__}")


def _cbor_default(encoder: cbor2.CBOREncoder, value: object) -> None:
    if isinstance(value, Records):
        encoder.write(_cbor_records(value))
        return
    if isinstance(value, PutResults):
        encoder.write(_cbor_put_results(value))
        return
    if isinstance(value, Timestamp):
        encoder.encode(_cbor_timestamp(value.ms))
        return
    raise cbor2.CBOREncodeTypeError(f"cannot encode {type(value).__name__}")


def _json_seconds(ms: int) -> bytes:
    """Epoch milliseconds as JSON epoch seconds: a plain decimal with three fraction digits,
    exact and never in exponent notation (as a float could be)."""
    seconds, millis = divmod(abs(ms), 1000)
    return b"%s%d.%03d" % (b"-" if ms < 0 else b"", seconds, millis)


def _cbor_timestamp(ms: int) -> cbor2.CBORTag:
    """Tag 1 around epoch milliseconds, the AWS SDKs' reading of it."""
    return cbor2.CBORTag(1, ms)


# -- Records and PutResults: rendered column by column ------------------------------------
#
# The renderers lay each record out as a fixed number of parts in one list, fill each kind
# of part for all records at once (slice assignment from shared constants, per-value caches
# and C-level maps), and join once: per record only its sequence digits (and in JSON its
# base64) are new objects. The output is what the encoders would write for one map per
# record (field order aside).


def _json_records(records: Records) -> bytes:
    """A Records array as JSON text (each record's first part also closes the one before)."""
    count = len(records)
    if not count:
        return b"[]"
    fields = _JSON_FIELDS
    parts: list[bytes] = [b""] * (fields * count)
    _put_sequence_numbers(parts, fields, 0, records, lambda prefix, _: _JSON_BETWEEN + prefix)
    parts[0] = b"[" + parts[0].removeprefix(b'"},')
    blocks = {
        ms: b'","ApproximateArrivalTimestamp":' + _json_seconds(ms) + b',"Data":"'
        for ms in set(records.arrival_ms)
    }
    parts[2::fields] = map(blocks.__getitem__, records.arrival_ms)
    parts[3::fields] = map(b64encode, records.datas)
    encrypted = records.encrypted
    parts[4::fields] = (
        repeat(_JSON_AFTER_DATA, count)
        if encrypted is None
        else [_JSON_AFTER_DATA_KMS if kms else _JSON_AFTER_DATA for kms in encrypted]
    )
    parts[5::fields] = _json_keys(records.partition_keys)
    parts.append(b'"}]')
    return b"".join(parts)


def _json_keys(keys: list[bytes]) -> list[bytes]:
    """Partition keys as JSON string contents: as stored when every one is plain printable
    ASCII (one check over the whole batch), else each escaped by msgspec."""
    if not b"".join(keys).translate(None, _PLAIN_KEY_BYTES):
        return keys
    return [_json_encoder.encode(key.decode())[1:-1] for key in keys]


def _cbor_records(records: Records) -> bytes:
    """A Records array as CBOR: definite-length maps, text keys, tag 1 timestamps."""
    count = len(records)
    fields = _CBOR_FIELDS
    parts: list[bytes] = [b""] * (fields * count)
    encrypted = records.encrypted
    map_heads = (_cbor_head(5, 4), _cbor_head(5, 5))  # without, with EncryptionType
    parts[0::fields] = (
        repeat(map_heads[0], count) if encrypted is None else map(map_heads.__getitem__, encrypted)
    )
    _put_sequence_numbers(
        parts,
        fields,
        1,
        records,
        lambda prefix, length: _CBOR_SEQUENCE_KEY + _cbor_head(3, length) + prefix,
    )
    blocks = {
        ms: _CBOR_ARRIVAL_KEY + cbor2.dumps(_cbor_timestamp(ms)) + _CBOR_DATA_KEY
        for ms in set(records.arrival_ms)
    }
    parts[3::fields] = map(blocks.__getitem__, records.arrival_ms)
    parts[4::fields] = _cbor_heads(2, records.datas, b"")
    parts[5::fields] = records.datas
    keys = records.partition_keys
    parts[6::fields] = _cbor_heads(3, keys, _CBOR_PARTITION_KEY_KEY)
    if encrypted is not None:
        keys = [key + _CBOR_KMS if kms else key for key, kms in zip(keys, encrypted, strict=True)]
    parts[7::fields] = keys
    array_head = _cbor_head(4, count)
    if parts:
        parts[0] = array_head + parts[0]
        return b"".join(parts)
    return array_head


def _json_put_results(results: PutResults) -> bytes:
    """A PutRecords Records array as JSON text.

    Each entry's part ends inside its sequence number, so the next part starts by closing
    it (an error entry ends in a string too, and loses its closing characters to that).
    """
    if not results.count:
        return b"[]"
    parts = _put_result_parts(
        results,
        lambda shard_id, prefix, _: (
            b'"},{"ShardId":' + _json_encoder.encode(shard_id) + b',"SequenceNumber":"' + prefix
        ),
        lambda code, message: (
            b'"},' + _json_encoder.encode({"ErrorCode": code, "ErrorMessage": message})[:-2]
        ),
    )
    parts[0] = b"[" + parts[0].removeprefix(b'"},')
    parts.append(b'"}]')
    return b"".join(parts)


def _cbor_put_results(results: PutResults) -> bytes:
    """A PutRecords Records array as CBOR."""
    parts = _put_result_parts(
        results,
        lambda shard_id, prefix, length: (
            _CBOR_PUT_ENTRY_HEAD
            + cbor2.dumps(shard_id)
            + _CBOR_SEQUENCE_KEY
            + _cbor_head(3, length)
            + prefix
        ),
        lambda code, message: cbor2.dumps({"ErrorCode": code, "ErrorMessage": message}),
    )
    return _cbor_head(4, results.count) + b"".join(parts)


def _put_result_parts(
    results: PutResults,
    head: Callable[[str, bytes, int], bytes],
    error: Callable[[str, str], bytes],
) -> list[bytes]:
    """Two parts per entry in request order: ``head(shard id, shared digits, number
    length)`` and the rest of its sequence number's digits, or ``error(code, message)``
    and nothing."""
    heads: list[bytes] = [b""] * results.count
    digits: list[bytes] = [b""] * results.count
    for shard_id, first, indexes in results.batches:
        done = 0
        for prefix, run in _sequence_runs(first, len(indexes)):
            at = indexes[done : done + len(run)]
            _place(heads, at, repeat(head(shard_id, prefix, len(prefix) + len(run[0]))))
            _place(digits, at, run)
            done += len(run)
    for index, (code, message) in results.errors.items():
        heads[index] = error(code, message)
    parts: list[bytes] = [b""] * (2 * results.count)
    parts[0::2] = heads
    parts[1::2] = digits
    return parts


def _place(target: list[bytes], indexes: Sequence[int], values: Iterable[bytes]) -> None:
    """``target[indexes[i]] = values[i]`` for each i, looping in C (a deque of length 0
    drains the map)."""
    deque(map(target.__setitem__, indexes, values), maxlen=0)


def _cbor_head(major: int, length: int) -> bytes:
    """A CBOR item's head: major type and length, in the shortest form (as cbor2 writes)."""
    if length < 24:
        return bytes((major << 5 | length,))
    size = 1 if length < 1 << 8 else 2 if length < 1 << 16 else 4 if length < 1 << 32 else 8
    return bytes((major << 5 | 23 + size.bit_length(),)) + length.to_bytes(size, "big")


def _cbor_heads(major: int, items: list[bytes], before: bytes) -> Iterable[bytes]:
    """``before`` + the head of each string in ``items``, built once per distinct length."""
    heads = {length: before + _cbor_head(major, length) for length in set(map(len, items))}
    return map(heads.__getitem__, map(len, items))


def _put_sequence_numbers(
    parts: list[bytes],
    fields: int,
    slot: int,
    records: Records,
    run_head: Callable[[bytes, int], bytes],
) -> None:
    """Fill part ``slot`` of each record with ``run_head(shared digits, number length)`` of
    its run (see ``_sequence_runs``) and part ``slot + 1`` with the rest of its digits."""
    start = 0
    for prefix, digits in _sequence_runs(records.first_sequence_number, len(records)):
        end = start + len(digits)
        head = run_head(prefix, len(prefix) + len(digits[0]))
        parts[fields * start + slot : fields * end : fields] = repeat(head, end - start)
        parts[fields * start + slot + 1 : fields * end : fields] = digits
        start = end


def _sequence_runs(first: int, count: int) -> Iterator[tuple[bytes, list[bytes]]]:
    """The numbers ``first .. first + count - 1`` in runs of equal length that share all
    but their last 8 digits: (shared digits, the other digits of each number).

    msgspec formats a run in one call: offset by 10**8 each number has 9 digits with a
    leading 1, so splitting the array at ",1" both separates them and keeps zero padding.
    Numbers below 10**8 share nothing and run up to the next power of ten.
    """
    while count > 0:
        high, low = divmod(first, _LOW)
        if high:
            run = min(count, _LOW - low)
            text = _json_encoder.encode(list(range(_LOW + low, _LOW + low + run)))
            yield str(high).encode(), text[2:-1].split(b",1")
        else:
            run = min(count, 10 ** len(str(low)) - low)
            yield b"", _json_encoder.encode(list(range(low, low + run)))[1:-1].split(b",")
        first += run
        count -= run


def _epoch_millis(value: object, _immutable: bool) -> object:
    """Tag 1 as the AWS SDKs send it: epoch milliseconds, kept as the number it wraps."""
    return value


def _decode_cbor(body: bytes) -> Any:
    """One CBOR item filling the whole body (trailing bytes are refused, as in JSON)."""
    stream = io.BytesIO(body)
    decoder = cbor2.CBORDecoder(
        stream,
        semantic_decoders={1: _epoch_millis},
        max_depth=_MAX_DEPTH,
        strict_hashable_types=True,
    )
    value = decoder.decode()
    if stream.tell() != len(body):
        raise ValueError("trailing bytes after the CBOR body")
    return value


_json_encoder = msgspec.json.Encoder(enc_hook=_json_default)
_json_decoder = msgspec.json.Decoder()


@dataclass(frozen=True)
class WireFormat:
    content_type: str
    is_cbor: bool

    def decode(self, body: bytes) -> Any:
        """Parse a request body; anything unparsable is a SerializationException."""
        try:
            if self.is_cbor:
                return _decode_cbor(body)
            return _json_decoder.decode(body)
        except (msgspec.DecodeError, cbor2.CBORError, ValueError, TypeError, RecursionError):
            raise SerializationException() from None

    def encode(self, value: Any) -> bytes:
        if self.is_cbor:
            return cbor2.dumps(value, default=_cbor_default)
        return _json_encoder.encode(value)


JSON = WireFormat(JSON_CONTENT_TYPE, is_cbor=False)
CBOR = WireFormat(CBOR_CONTENT_TYPE, is_cbor=True)


def wire_format_for(content_type: str | None) -> WireFormat | None:
    """The format named by a Content-Type header (parameters ignored), if it is one."""
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON_CONTENT_TYPE:
        return JSON
    if media == CBOR_CONTENT_TYPE:
        return CBOR
    return None
