"""The Kinesis API endpoint: one POST pipeline in AWS' order of checks.

method → Content-Type → X-Amz-Target → body parse → SigV4 → shape validation → handler.
Every failure becomes a Kinesis error in the request's own encoding, in this one place.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from headwater.errors import (
    AccessDeniedException,
    InternalFailureException,
    KinesisError,
    MissingAuthenticationTokenException,
    RequestEntityTooLargeException,
    SerializationException,
    UnknownOperationException,
)
from headwater.protocol import eventstream
from headwater.protocol.codecs import JSON, WireFormat, wire_format_for
from headwater.protocol.sigv4 import IncomingRequest, SigV4Verifier
from headwater.service.handlers import HANDLERS, STREAMING
from headwater.service.handlers.policies import authorize
from headwater.service.record_columns import decode_put_records
from headwater.service.service import StreamService
from headwater.service.shapes import OPERATIONS
from headwater.service.subscriptions import Event
from headwater.service.validation import validate

log = logging.getLogger(__name__)

TARGET_PREFIX = "Kinesis_20131202."
# The largest legitimate body is a PutRecord(s) of one 10 MiB record (a stream's largest
# record size), base64-encoded: about 13.4 MiB; anything past this is refused before it is
# buffered.
MAX_BODY_BYTES = 14 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True, slots=True)
class StreamingResponse:
    """A 200 whose body is a sequence of event-stream messages, sent as they come."""

    headers: list[tuple[bytes, bytes]]
    chunks: AsyncIterator[bytes]


def _response(status: int, content_type: str | None, body: bytes) -> Response:
    headers = [(b"x-amzn-requestid", str(uuid.uuid4()).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    return Response(status, headers, body)


def _error(error: KinesisError, wire: WireFormat) -> Response:
    return _response(error.status, wire.content_type, wire.encode(error.to_body()))


def _xml_error(error: KinesisError) -> Response:
    """AWS answers requests it cannot route with a 403 XML body, before looking at auth."""
    body = f"<{error.type_name}>\n  <Message>{error.message}</Message>\n</{error.type_name}>\n"
    return _response(403, None, body.encode())


def _unroutable(headers: dict[str, str]) -> Response:
    signed = "authorization" in headers
    if signed:
        return _xml_error(
            AccessDeniedException("Unable to determine service/operation name to be authorized")
        )
    return _xml_error(MissingAuthenticationTokenException("Missing Authentication Token"))


class KinesisEndpoint:
    """Turns one HTTP request into one Kinesis operation call."""

    def __init__(
        self,
        service: StreamService,
        verifier: SigV4Verifier,
        user_names: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self.verifier = verifier
        self.user_names = user_names or {}

    async def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        header_list: list[tuple[str, str]],
        body: bytes | None,
    ) -> Response | StreamingResponse:
        """``body`` is None when it was larger than ``MAX_BODY_BYTES``."""
        headers = dict(header_list)
        wire = wire_format_for(headers.get("content-type"))
        if method != "POST" or wire is None:
            return _unroutable(headers)
        if body is None:
            return _error(
                RequestEntityTooLargeException(
                    f"Request body exceeds the limit of {MAX_BODY_BYTES} bytes."
                ),
                wire,
            )
        target = headers.get("x-amz-target", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        handler = HANDLERS.get(operation)
        if handler is None and operation not in STREAMING:
            message = None
            if operation in OPERATIONS:
                message = f"{operation} is not supported by Headwater (see docs/service.md)."
            return _error(UnknownOperationException(message), wire)
        try:
            if not body:
                raise SerializationException()
            # The common PutRecords takes a columnar fast path; anything else (and anything
            # it does not accept) the generic one, in AWS' order: parse, SigV4, validation.
            columnar = operation == "PutRecords" and not wire.is_cbor
            request = decode_put_records(body) if columnar else None
            decoded = wire.decode(body) if request is None else None
            access_key = self.verifier.verify(
                IncomingRequest(method, path, query_string, header_list, body)
            )
            if request is None:
                request = validate(operation, decoded, cbor=wire.is_cbor)
            authorize(self.service, operation, request, self.user_names.get(access_key))
            if handler is None:
                events = await self.service.subscriptions.open(request)
                return StreamingResponse(
                    _response(200, eventstream.CONTENT_TYPE, b"").headers,
                    _encode_events(events, wire),
                )
            result = await handler(self.service, request)
        except KinesisError as error:
            return _error(error, wire)
        except Exception:
            log.exception("unexpected failure in %s", operation)
            return _error(InternalFailureException(), wire)
        payload = b"" if result is None and not wire.is_cbor else wire.encode(result or {})
        return _response(200, wire.content_type, payload)


async def _encode_events(events: AsyncIterator[Event], wire: WireFormat) -> AsyncIterator[bytes]:
    """Event-stream frames for each event; a failure mid-stream becomes an exception frame."""
    try:
        async for item in events:
            yield eventstream.event(item.event_type, wire.encode(item.body), wire.content_type)
    except KinesisError as error:
        yield eventstream.exception(
            error.type_name, wire.encode(error.to_body()), wire.content_type
        )
    except Exception:
        log.exception("subscription failed")
        failure = InternalFailureException()
        yield eventstream.exception(
            failure.type_name, wire.encode(failure.to_body()), wire.content_type
        )
    finally:
        await events.aclose()


__all__ = ["JSON", "MAX_BODY_BYTES", "KinesisEndpoint", "Response", "StreamingResponse"]
