"""The optional per-record transform (``module:function``) and its three outcomes.

The function receives a ``headwater.client.Record`` and returns ``Ok(value)`` (a dict, or
bytes / str holding a JSON object), ``Dropped()`` or ``ProcessingFailed(reason)``. It must be
deterministic: after a crash the same records are transformed again and must land in the same
objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headwater.client import Record
from headwater.plugins import load_callable


@dataclass(frozen=True, slots=True)
class Ok:
    value: Any


@dataclass(frozen=True, slots=True)
class Dropped:
    pass


@dataclass(frozen=True, slots=True)
class ProcessingFailed:
    reason: str


Outcome = Ok | Dropped | ProcessingFailed
Transform = Callable[[Record], Outcome]


def load_transform(spec: str) -> Transform:
    return load_callable(spec, "transform")
