"""Value types whose wire form differs between JSON 1.1 and CBOR."""

from __future__ import annotations


class Timestamp:
    """A point in time: JSON carries epoch seconds (a float), AWS CBOR epoch milliseconds."""

    __slots__ = ("ms",)

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and other.ms == self.ms

    def __hash__(self) -> int:
        return hash(self.ms)

    def __repr__(self) -> str:
        return f"Timestamp({self.ms})"
