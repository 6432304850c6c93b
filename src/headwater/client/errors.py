"""Errors the client raises, beside the Kinesis error types of ``headwater.errors``.

Service answers become the shared ``KinesisError`` classes (so code catching
``ProvisionedThroughputExceededException`` works whatever raised it); an error type the
shared hierarchy does not name (KMS errors, ``ServiceUnavailable``) becomes a
``ServiceError`` carrying AWS' type name. Failures that never reached the service and the
client's own conditions (full buffer, expired record, lost lease) have their own classes.
"""

from __future__ import annotations

from headwater.errors import KinesisError

#: Error types worth trying again later: throttling and transient service trouble.
RETRYABLE_TYPES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ThrottlingException",
        "KMSThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ConnectionFailure",
    }
)


class ServiceError(KinesisError):
    """An error type without a class of its own; ``type_name`` is AWS' name for it."""

    def __init__(self, type_name: str, status: int, message: str | None = None) -> None:
        super().__init__(message or type_name)
        self.type_name = type_name
        self.status = status


class ConnectionFailure(KinesisError):
    """The request did not get an answer (refused, reset, timed out)."""

    type_name = "ConnectionFailure"
    status = 0


def is_retryable(error: BaseException) -> bool:
    """Whether the same request may succeed later."""
    if isinstance(error, KinesisError):
        return error.type_name in RETRYABLE_TYPES or error.status >= 500 or error.status == 0
    return False


def error_code(error: BaseException) -> str:
    """The name metrics count an error under."""
    return error.type_name if isinstance(error, KinesisError) else type(error).__name__


class HeadwaterClientError(Exception):
    """A condition of the client library itself, not an answer from the service."""


class BufferFullError(HeadwaterClientError):
    """``put_nowait`` found the producer's buffer full (the caller chose not to wait)."""


class ProducerClosedError(HeadwaterClientError):
    """A record was offered to a producer that is closing or closed."""


class RecordFailedError(HeadwaterClientError):
    """A record will not be written: a permanent error, or retries ran past its TTL."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RecordExpiredError(RecordFailedError):
    """The record's time to live ran out before the service accepted it."""


class LeaseLostError(HeadwaterClientError):
    """The worker no longer owns the shard, so it may not checkpoint (KCL's ShutdownException)."""


class InvalidCheckpointError(HeadwaterClientError):
    """A checkpoint names a position the processor was never given (KCL's InvalidStateException)."""


class ProcessorFailedError(HeadwaterClientError):
    """The processor cannot go on (its process died): the shard restarts from its checkpoint."""
