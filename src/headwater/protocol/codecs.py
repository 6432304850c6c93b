"""The two body encodings Kinesis clients speak: AWS JSON 1.1 and AWS CBOR 1.1.

Decoding turns bytes into plain Python values for the validator (JSON: blobs as base64 text,
timestamps as epoch seconds; CBOR: blobs as bytes, timestamps as epoch milliseconds, the
AWS SDKs' reading of tag 1). Encoding turns handler results back, with ``Timestamp`` values
written the way each format's SDKs expect.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import cbor2
import msgspec

from headwater.errors import SerializationException
from headwater.protocol.values import Timestamp

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
CBOR_CONTENT_TYPE = "application/x-amz-cbor-1.1"
_MAX_DEPTH = 64


def _json_default(value: object) -> object:
    if isinstance(value, Timestamp):
        return value.ms / 1000
    raise TypeError(f"cannot encode {type(value).__name__}")


def _cbor_default(encoder: cbor2.CBOREncoder, value: object) -> None:
    if isinstance(value, Timestamp):
        encoder.encode(cbor2.CBORTag(1, value.ms))
        return
    raise cbor2.CBOREncodeTypeError(f"cannot encode {type(value).__name__}")


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
