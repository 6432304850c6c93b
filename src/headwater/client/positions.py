"""Where reading a shard starts, as GetShardIterator and SubscribeToShard name it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TRIM_HORIZON = "TRIM_HORIZON"
LATEST = "LATEST"
AT_SEQUENCE_NUMBER = "AT_SEQUENCE_NUMBER"
AFTER_SEQUENCE_NUMBER = "AFTER_SEQUENCE_NUMBER"
AT_TIMESTAMP = "AT_TIMESTAMP"


def epoch_seconds(value: datetime | float) -> float:
    """A timestamp as the epoch seconds AWS JSON carries (naive datetimes are local time)."""
    return value.timestamp() if isinstance(value, datetime) else float(value)


@dataclass(frozen=True, slots=True)
class StartingPosition:
    """One of the five iterator types, with its sequence number or timestamp."""

    type: str
    sequence_number: str | None = None
    timestamp: float | None = None

    @classmethod
    def trim_horizon(cls) -> StartingPosition:
        return cls(TRIM_HORIZON)

    @classmethod
    def latest(cls) -> StartingPosition:
        return cls(LATEST)

    @classmethod
    def at_sequence(cls, sequence_number: str) -> StartingPosition:
        return cls(AT_SEQUENCE_NUMBER, sequence_number=sequence_number)

    @classmethod
    def after_sequence(cls, sequence_number: str) -> StartingPosition:
        return cls(AFTER_SEQUENCE_NUMBER, sequence_number=sequence_number)

    @classmethod
    def at_timestamp(cls, when: datetime | float) -> StartingPosition:
        return cls(AT_TIMESTAMP, timestamp=epoch_seconds(when))

    def iterator_fields(self) -> dict[str, object]:
        """The GetShardIterator request fields for this position."""
        fields: dict[str, object] = {"ShardIteratorType": self.type}
        if self.sequence_number is not None:
            fields["StartingSequenceNumber"] = self.sequence_number
        if self.timestamp is not None:
            fields["Timestamp"] = self.timestamp
        return fields

    def subscribe_fields(self) -> dict[str, object]:
        """The SubscribeToShard ``StartingPosition`` object for this position."""
        fields: dict[str, object] = {"Type": self.type}
        if self.sequence_number is not None:
            fields["SequenceNumber"] = self.sequence_number
        if self.timestamp is not None:
            fields["Timestamp"] = self.timestamp
        return fields
