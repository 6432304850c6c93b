"""Where the Kinesis API is and who we are to it.

Everything is optional so the same code runs against AWS (region and credentials from the
usual botocore chain: environment, profile, instance role) and against a local Headwater
(``endpoint_url="http://127.0.0.1:4567"``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Where the API is and whose credentials: the settings a config file or option may give.
CONNECTION_KEYS = (
    "endpoint_url",
    "region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "profile",
)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Connection settings shared by the producer, the consumer and the low-level client."""

    endpoint_url: str | None = None
    region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    profile: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_connections: int = 64
    #: None: HTTP/2 for https endpoints when ``h2`` is installed (AWS serves SubscribeToShard
    #: only over HTTP/2), HTTP/1.1 otherwise.
    http2: bool | None = None
