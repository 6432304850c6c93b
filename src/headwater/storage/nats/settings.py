"""``nats://host:port,host:port?replicas=3`` → how to reach JetStream and name things there."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

SCHEME = "nats"


@dataclass(frozen=True)
class NatsSettings:
    """Servers to connect to and how to lay streams out; every API node uses the same."""

    servers: tuple[str, ...]
    replicas: int = 1  # JetStream replicas per shard stream and for the metadata bucket
    prefix: str = "hw"  # namespace of streams, subjects and the bucket
    timeout_s: float = 15.0  # an operation, retries included: outlasts a Raft election (4-9 s)
    attempt_timeout_s: float = 1.0  # one request; a reply lost with a dying server costs this

    def __post_init__(self) -> None:
        if not 0 < self.attempt_timeout_s <= self.timeout_s:
            raise ValueError("attempt_timeout_s must be positive and at most timeout_s")

    def describe(self) -> str:
        """For logs: servers without any credentials in their addresses."""
        hosts = ",".join(
            server.rsplit("@", 1)[-1].removeprefix("nats://") for server in self.servers
        )
        return f"nats://{hosts} replicas={self.replicas} prefix={self.prefix}"

    @property
    def metadata_bucket(self) -> str:
        return f"{self.prefix}-meta"

    def shard_stream(self, stream_id: str, shard_id: str) -> str:
        return f"{self.prefix}-{stream_id}-{shard_id}"

    def shard_subject(self, stream_id: str, shard_id: str) -> str:
        return f"{self.prefix}.{stream_id}.{shard_id}"

    def stream_subjects(self, stream_id: str) -> str:
        """The subject filter matching every shard of a stream."""
        return f"{self.prefix}.{stream_id}.*"

    def tail_subject(self, stream_id: str, shard_id: str) -> str:
        """Where nodes announce a shard's new tail (never captured by a stream)."""
        return f"{self.prefix}.tail.{stream_id}.{shard_id}"

    @property
    def tail_wildcard(self) -> str:
        return f"{self.prefix}.tail.*.*"


def parse_storage_url(url: str) -> NatsSettings:
    """Read ``nats://h1:p1,h2:p2?replicas=3&prefix=hw&timeout_s=15&attempt_timeout_s=1``;
    ValueError if malformed."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME or not parts.netloc:
        raise ValueError(f"expected nats://host:port[,host:port...], got {url!r}")
    servers = tuple(f"nats://{host.strip()}" for host in parts.netloc.split(",") if host.strip())
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"replicas", "prefix", "timeout_s", "attempt_timeout_s"}
    if unknown:
        raise ValueError(f"unknown storage option(s): {', '.join(sorted(unknown))}")
    replicas = int(query.get("replicas", "1"))
    if replicas not in (1, 3, 5):
        raise ValueError("replicas must be 1, 3 or 5")
    prefix = query.get("prefix", "hw")
    if not prefix.isalnum():
        raise ValueError("prefix must be letters and digits")
    return NatsSettings(
        servers,
        replicas,
        prefix,
        float(query.get("timeout_s", "15")),
        float(query.get("attempt_timeout_s", "1")),
    )
