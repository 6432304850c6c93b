"""How JetStream trouble reaches clients: a retryable Kinesis-shaped 503, never a crash."""

from __future__ import annotations

from headwater.errors import KinesisError


class StorageUnavailableException(KinesisError):
    """JetStream did not answer in time (leader election, lost quorum) or refused the write
    because another node closed the shard; SDKs retry a 503 ServiceUnavailable."""

    type_name = "ServiceUnavailable"
    status = 503


class WrongLastSequence(Exception):
    """Another node appended first: the optimistic append must re-read the tail."""


class ShardSealed(Exception):
    """The shard's stream was sealed by a reshard; it takes no more records."""
