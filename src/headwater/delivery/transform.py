"""The optional per-record transform (``module:function``) and its three outcomes.

The function receives a ``headwater.client.Record`` and returns ``Ok(value)`` (a dict, or
bytes / str holding a JSON object), ``Dropped()`` or ``ProcessingFailed(reason)``. It must be
deterministic: after a crash the same records are transformed again and must land in the same
objects.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headwater.client import Record


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
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"transform must be 'module:function', got {spec!r}")
    function = getattr(importlib.import_module(module_name), attr)
    if not callable(function):
        raise ValueError(f"{spec} is not callable")
    return function
