"""After an ingest run: is every acknowledged record readable, exactly as sent?"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bench.readback import read_stream


@dataclass(frozen=True)
class Verification:
    acked: int
    read: int
    lost: int  # acknowledged but not read back (or read back changed)
    unexpected: int  # read back but never acknowledged as such (duplicates, corruption)
    complete: bool  # the read-back finished within its time bound

    @property
    def ok(self) -> bool:
        return self.complete and self.lost == 0 and self.unexpected == 0


def compare(expected: Counter[bytes], found: Counter[bytes], complete: bool) -> Verification:
    """Count and content comparison of two multisets of record data."""
    return Verification(
        acked=sum(expected.values()),
        read=sum(found.values()),
        lost=sum((expected - found).values()),
        unexpected=sum((found - expected).values()),
        complete=complete,
    )


def verify_stream(
    port: int, stream: str, expected: Counter[bytes], timeout_s: float
) -> Verification:
    found, complete = read_stream(port, stream, timeout_s)
    return compare(expected, found, complete)
