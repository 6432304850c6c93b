"""Encoding of AWS event-stream messages (application/vnd.amazon.eventstream).

Each message: total length, headers length and a CRC32 of those (the prelude), then headers
(name, type 7 = string, value), the payload, and a CRC32 of everything before. No maintained
encoder exists for Python 3.11 (botocore only decodes), so this small writer is ours; the tests
decode its output with botocore's parser, the one boto3 uses.
"""

from __future__ import annotations

import struct
from binascii import crc32

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_PRELUDE = struct.Struct(">II")
_STRING_HEADER = 7


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return (
        struct.pack(">B", len(name_bytes))
        + name_bytes
        + struct.pack(">BH", _STRING_HEADER, len(value_bytes))
        + value_bytes
    )


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    header_bytes = b"".join(_header(name, value) for name, value in headers.items())
    total = _PRELUDE.size + 4 + len(header_bytes) + len(payload) + 4
    prelude = _PRELUDE.pack(total, len(header_bytes))
    message = prelude + struct.pack(">I", crc32(prelude)) + header_bytes + payload
    return message + struct.pack(">I", crc32(message))


def event(event_type: str, payload: bytes, content_type: str) -> bytes:
    return encode_message(
        {":event-type": event_type, ":content-type": content_type, ":message-type": "event"},
        payload,
    )


def exception(error_type: str, payload: bytes, content_type: str) -> bytes:
    return encode_message(
        {
            ":exception-type": error_type,
            ":content-type": content_type,
            ":message-type": "exception",
        },
        payload,
    )
