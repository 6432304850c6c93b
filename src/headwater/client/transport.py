"""One signed HTTP exchange with the Kinesis API, and its errors as exceptions.

The only module that knows about HTTP, SigV4 and error bodies: everything above it calls
``call(operation, payload)`` and gets a decoded body or a ``KinesisError``. Signing uses
botocore's own signer on credentials from botocore's chain, so whatever works for the AWS
CLI works here.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session

from headwater import errors as shared_errors
from headwater.client.config import ClientConfig
from headwater.client.errors import ConnectionFailure, ServiceError
from headwater.errors import KinesisError

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Kinesis_20131202."
SERVICE = "kinesis"
DEFAULT_REGION = "us-east-1"
#: Used only when nothing in botocore's chain has credentials and an endpoint is given:
#: a local Headwater without configured credentials accepts any well-formed signature.
LOCAL_CREDENTIALS = Credentials("headwater-local", "headwater-local")


def _error_classes() -> dict[str, list[type[KinesisError]]]:
    found: dict[str, list[type[KinesisError]]] = {}
    pending: list[type[KinesisError]] = [shared_errors.KinesisError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__ == shared_errors.__name__:
            found.setdefault(cls.type_name, []).append(cls)
    return found


_CLASSES = _error_classes()


def error_from_response(status: int, body: bytes, header_type: str | None) -> KinesisError:
    """The exception for a non-200 answer; the shared class when one has that type name."""
    type_name = header_type or ""
    message: str | None = None
    try:
        document = msgspec.json.decode(body) if body else {}
    except msgspec.DecodeError:
        document = {}
    if isinstance(document, dict):
        type_name = str(document.get("__type") or type_name)
        raw = document.get("message", document.get("Message"))
        message = None if raw is None else str(raw)
    type_name = type_name.split("#")[-1].split(":")[0] or f"HTTP{status}"
    candidates = _CLASSES.get(type_name)
    if candidates:
        return min(candidates, key=lambda cls: cls.status != status)(message)
    return ServiceError(type_name, status, message)


class Transport:
    """Signs and sends AWS JSON 1.1 requests over one pooled ``httpx.AsyncClient``."""

    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config or ClientConfig()
        session = Session(profile=self.config.profile)
        self.region = self.config.region or session.get_config_variable("region") or DEFAULT_REGION
        self.endpoint = self.config.endpoint_url or f"https://kinesis.{self.region}.amazonaws.com"
        self._credentials = self._resolve_credentials(session)
        self._encoder = msgspec.json.Encoder()
        timeout = httpx.Timeout(
            self.config.read_timeout, connect=self.config.connect_timeout, pool=None
        )
        limits = httpx.Limits(
            max_connections=self.config.max_connections,
            max_keepalive_connections=self.config.max_connections,
        )
        self._http = httpx.AsyncClient(timeout=timeout, limits=limits, http2=self._use_http2())

    def _use_http2(self) -> bool:
        if self.config.http2 is not None:
            return self.config.http2
        return self.endpoint.startswith("https://") and importlib.util.find_spec("h2") is not None

    def _resolve_credentials(self, session: Session) -> Any:
        config = self.config
        if config.aws_access_key_id and config.aws_secret_access_key:
            return Credentials(
                config.aws_access_key_id, config.aws_secret_access_key, config.aws_session_token
            )
        found = session.get_credentials()
        if found is not None:
            return found
        if config.endpoint_url:
            log.info("no AWS credentials found; signing with placeholder local credentials")
            return LOCAL_CREDENTIALS
        raise ValueError("no AWS credentials found (environment, profile or instance role)")

    def _signed_headers(self, operation: str, body: bytes) -> dict[str, str]:
        request = AWSRequest(
            method="POST",
            url=self.endpoint,
            data=body,
            headers={"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation},
        )
        credentials = self._credentials
        if hasattr(credentials, "get_frozen_credentials"):
            credentials = credentials.get_frozen_credentials()
        SigV4Auth(credentials, SERVICE, self.region).add_auth(request)
        return dict(request.headers.items())

    def encode(self, payload: Any) -> bytes:
        return self._encoder.encode(payload)

    async def call(self, operation: str, payload: Any) -> bytes:
        """POST one operation; the raw JSON body of a 200 answer, else a raised KinesisError."""
        body = payload if isinstance(payload, bytes) else self._encoder.encode(payload)
        headers = self._signed_headers(operation, body)
        try:
            response = await self._http.post(self.endpoint, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise ConnectionFailure(f"{operation}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise error_from_response(
                response.status_code, response.content, response.headers.get("x-amzn-ErrorType")
            )
        return response.content

    @asynccontextmanager
    async def stream(self, operation: str, payload: Any) -> AsyncIterator[httpx.Response]:
        """POST an operation whose answer is read incrementally (SubscribeToShard)."""
        body = self._encoder.encode(payload)
        headers = self._signed_headers(operation, body)
        request = self._http.build_request("POST", self.endpoint, content=body, headers=headers)
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise ConnectionFailure(f"{operation}: {type(exc).__name__}: {exc}") from exc
        try:
            if response.status_code != 200:
                content = await response.aread()
                raise error_from_response(
                    response.status_code, content, response.headers.get("x-amzn-ErrorType")
                )
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
