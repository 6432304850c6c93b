"""One exception hierarchy mirroring Kinesis' error types.

Every layer raises these; the server turns them into ``{"__type", "message"}`` bodies with
the status AWS uses, in one place. Keeping the AWS type name and status on the class means a
new error needs no change anywhere else.
"""

from __future__ import annotations


class KinesisError(Exception):
    """An error a client sees as a Kinesis error response."""

    type_name: str = "InternalFailure"
    status: int = 500
    message_key: str = "message"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.type_name)
        self.message = message

    def to_body(self) -> dict[str, str]:
        body = {"__type": self.type_name}
        if self.message is not None:
            body[self.message_key] = self.message
        return body


class _ClientError(KinesisError):
    status = 400


class ResourceNotFoundException(_ClientError):
    type_name = "ResourceNotFoundException"


class ResourceInUseException(_ClientError):
    type_name = "ResourceInUseException"


class LimitExceededException(_ClientError):
    type_name = "LimitExceededException"


class InvalidArgumentException(_ClientError):
    type_name = "InvalidArgumentException"


class ProvisionedThroughputExceededException(_ClientError):
    type_name = "ProvisionedThroughputExceededException"


class ExpiredIteratorException(_ClientError):
    type_name = "ExpiredIteratorException"


class ExpiredNextTokenException(_ClientError):
    type_name = "ExpiredNextTokenException"


class ValidationException(_ClientError):
    type_name = "ValidationException"


class SerializationException(_ClientError):
    """AWS spells the key ``Message`` in this one error's body."""

    type_name = "SerializationException"
    message_key = "Message"


class UnknownOperationException(_ClientError):
    type_name = "UnknownOperationException"


class AccessDeniedException(_ClientError):
    type_name = "AccessDeniedException"


class MissingAuthenticationTokenException(_ClientError):
    type_name = "MissingAuthenticationTokenException"


class IncompleteSignatureException(_ClientError):
    type_name = "IncompleteSignatureException"


class InvalidSignatureException(_ClientError):
    type_name = "InvalidSignatureException"


class UnrecognizedClientException(_ClientError):
    type_name = "UnrecognizedClientException"


class RequestEntityTooLargeException(_ClientError):
    """A body over the size Kinesis accepts; AWS answers 413."""

    type_name = "SerializationException"
    status = 413


class KMSNotFoundException(_ClientError):
    type_name = "KMSNotFoundException"


class InternalFailureException(KinesisError):
    type_name = "InternalFailure"
    status = 500
