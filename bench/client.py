"""A small SigV4-signed Kinesis JSON client over one keep-alive ``http.client`` connection.

boto3 costs more CPU per call than the servers under test; this client signs each body
with botocore's signer and sends it on a kept-alive connection, nothing more.
"""

from __future__ import annotations

import http.client
import time
from typing import Any

import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

JSON_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Kinesis_20131202."
REGION = "us-east-1"
_CREDENTIALS = Credentials("AKIDBENCH", "bench-secret")


class KinesisCallError(Exception):
    """A non-200 answer from a server."""

    def __init__(self, operation: str, status: int, body: bytes) -> None:
        super().__init__(f"{operation}: HTTP {status}: {body[:300]!r}")
        self.operation = operation
        self.status = status
        self.body = body

    def __reduce__(self) -> tuple[type, tuple[str, int, bytes]]:
        """Picklable, so a worker process can hand it to the parent."""
        return KinesisCallError, (self.operation, self.status, self.body)

    @property
    def error_type(self) -> str:
        try:
            kind = msgspec.json.decode(self.body).get("__type", "")
        except (msgspec.DecodeError, AttributeError):
            return ""
        return str(kind).rsplit("#", 1)[-1]


def signed_headers(port: int, operation: str, body: bytes) -> dict[str, str]:
    """Headers for a POST of ``body`` to 127.0.0.1:``port``, SigV4-signed."""
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:{port}/",
        data=body,
        headers={
            "Content-Type": JSON_TYPE,
            "X-Amz-Target": TARGET_PREFIX + operation,
            "Host": f"127.0.0.1:{port}",
        },
    )
    SigV4Auth(_CREDENTIALS, "kinesis", REGION).add_auth(request)
    return dict(request.headers.items())


class KinesisClient:
    """Signed JSON calls to one server on loopback, on one kept-alive connection."""

    def __init__(self, port: int, timeout_s: float = 30.0) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> KinesisClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def post(self, operation: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Send a pre-built request; reconnect once if the server closed the connection."""
        for attempt in range(2):
            try:
                self._conn.request("POST", "/", body, headers)
                response = self._conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def raw(self, operation: str, payload: dict[str, Any]) -> bytes:
        """Call ``operation`` and return the response body (raises on a non-200)."""
        body = msgspec.json.encode(payload)
        status, answer = self.post(operation, body, signed_headers(self.port, operation, body))
        if status != 200:
            raise KinesisCallError(operation, status, answer)
        return answer

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.raw(operation, payload)
        return msgspec.json.decode(answer) if answer else {}

    # -- the few operations the benchmarks need -----------------------------------------

    def create_stream(self, name: str, shards: int, timeout_s: float = 30.0) -> None:
        """Create a stream and wait until it is ACTIVE."""
        self.call("CreateStream", {"StreamName": name, "ShardCount": shards})
        self.wait_active(name, timeout_s)

    def wait_active(self, name: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            summary = self.call("DescribeStreamSummary", {"StreamName": name})
            if summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                return
            time.sleep(0.05)
        raise TimeoutError(f"stream {name} not ACTIVE after {timeout_s} s")

    def shard_ids(self, name: str) -> list[str]:
        shards = self.call("DescribeStream", {"StreamName": name})["StreamDescription"]["Shards"]
        return [shard["ShardId"] for shard in shards]

    def shard_hash_starts(self, name: str) -> list[int]:
        """The first hash key of each shard, in shard order (to aim records at a shard)."""
        shards = self.call("DescribeStream", {"StreamName": name})["StreamDescription"]["Shards"]
        return [int(shard["HashKeyRange"]["StartingHashKey"]) for shard in shards]

    def iterator(self, name: str, shard_id: str, kind: str = "TRIM_HORIZON") -> str:
        answer = self.call(
            "GetShardIterator",
            {"StreamName": name, "ShardId": shard_id, "ShardIteratorType": kind},
        )
        return answer["ShardIterator"]
