"""Raw, SigV4-signed Kinesis requests over one keep-alive HTTP connection.

boto3 validates and reshapes what it sends, so tests that need exact bytes on the wire
(malformed bodies, CBOR, oversized requests) or many requests per second (fault tests) use
this instead. Requests are signed with botocore's own signer, so they pass a server with
credentials configured as well as one in open mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

JSON_TYPE = "application/x-amz-json-1.1"
CBOR_TYPE = "application/x-amz-cbor-1.1"
TARGET_PREFIX = "Kinesis_20131202."
_CREDENTIALS = Credentials("AKIDTEST", "secret")


class KinesisHTTPError(Exception):
    """A non-200 answer to ``SignedClient.call``."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:500]!r}")
        self.status = status
        self.body = body


def sign(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    region: str = "us-east-1",
) -> dict[str, str]:
    """``headers`` plus X-Amz-Date and Authorization for a POST of ``body`` to ``url``."""
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(_CREDENTIALS, "kinesis", region).add_auth(request)
    return dict(request.headers.items())


class SignedClient:
    """One httpx client (keep-alive) posting signed Kinesis requests to ``endpoint``."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.url = self.endpoint + "/"
        self.http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SignedClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def post(
        self,
        target: str | None,
        body: bytes,
        content_type: str | None = JSON_TYPE,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """POST ``body`` as is; ``target`` is the full X-Amz-Target value (None: absent)."""
        headers: dict[str, str] = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if target is not None:
            headers["X-Amz-Target"] = target
        headers.update(extra_headers or {})
        return self.http.post(
            self.url,
            content=body,
            headers=sign(self.url, body, headers),
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )

    def post_chunked(
        self, target: str, chunks: Iterable[bytes], content_type: str = JSON_TYPE
    ) -> httpx.Response:
        """POST a chunked body (no Content-Length): its size is only known while reading it.

        The signature covers an empty body, so only a server in open mode accepts it as
        signed; a body over the size limit is refused before the signature is checked.
        """
        headers = sign(self.url, b"", {"Content-Type": content_type, "X-Amz-Target": target})
        return self.http.post(self.url, content=iter(chunks), headers=headers)

    def call(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON 1.1 call; the decoded response, or KinesisHTTPError for a non-200."""
        response = self.post(TARGET_PREFIX + operation, json.dumps(payload).encode())
        if response.status_code != 200:
            raise KinesisHTTPError(response.status_code, response.content)
        return response.json() if response.content else {}
