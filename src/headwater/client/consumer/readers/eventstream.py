"""SubscribeToShard's answer, an AWS event stream, as a sequence of typed events.

Framing and CRC checks are botocore's (``EventStreamBuffer``), the parser boto3 uses; this
module only maps messages to ``SubscribeToShardEvent`` values or raises the exception an
``exception`` message carries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
from botocore.eventstream import EventStreamBuffer, EventStreamMessage

from headwater.client.shapes import SubscribeToShardEvent
from headwater.client.transport import error_from_response

_decode_event = msgspec.json.Decoder(SubscribeToShardEvent)


def _header(message: EventStreamMessage, name: str) -> str | None:
    value = message.headers.get(name)
    return None if value is None else str(value)


def parse_message(message: EventStreamMessage) -> SubscribeToShardEvent | None:
    """The event a message carries; None for the initial response and unknown events."""
    kind = _header(message, ":message-type")
    if kind in ("exception", "error"):
        type_name = _header(message, ":exception-type") or _header(message, ":error-code")
        raise error_from_response(400, message.payload, type_name)
    if _header(message, ":event-type") == "SubscribeToShardEvent":
        return _decode_event.decode(message.payload)
    return None


async def subscription_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[SubscribeToShardEvent]:
    """Events from the raw response body, in order, until the service ends the stream."""
    buffer = EventStreamBuffer()
    async for chunk in chunks:
        buffer.add_data(chunk)
        for message in buffer:
            event = parse_message(message)
            if event is not None:
                yield event
