"""Kinesis sequence numbers: 56-digit decimal strings encoding (shard epoch, shard, position).

``value = BASE + (epoch_ms << 84 | shard_index << 64 | position)``. A shard's epoch is its
creation time (made strictly increasing per stream), so every child shard's numbers sit
above its parents', positions make them strictly increasing within a shard, and the shard
index lets a number used on the wrong shard be recognised. A batch's numbers are
``first + i``: pure integer arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE = 4 * 10**55
_POSITION_BITS = 64
_SHARD_BITS = 20
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_SHARD_MASK = (1 << _SHARD_BITS) - 1
MAX_SHARD_INDEX = _SHARD_MASK


@dataclass(frozen=True, slots=True)
class SequenceParts:
    epoch_ms: int
    shard_index: int
    position: int


def shard_base(epoch_ms: int, shard_index: int) -> int:
    """The integer value of position 0 of a shard."""
    return BASE + (epoch_ms << (_POSITION_BITS + _SHARD_BITS) | shard_index << _POSITION_BITS)


def encode(epoch_ms: int, shard_index: int, position: int) -> str:
    return str(shard_base(epoch_ms, shard_index) + position)


def decode(sequence_number: str) -> SequenceParts | None:
    """The parts of a number this server issued; None if it cannot be one."""
    if not sequence_number.isdigit() or len(sequence_number) > 80:
        return None
    value = int(sequence_number) - BASE
    if value < 0:
        return None
    return SequenceParts(
        epoch_ms=value >> (_POSITION_BITS + _SHARD_BITS),
        shard_index=(value >> _POSITION_BITS) & _SHARD_MASK,
        position=value & _POSITION_MASK,
    )
