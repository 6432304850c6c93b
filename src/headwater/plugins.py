"""User code named in config files and options as ``module:function``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def load_callable(spec: str, what: str) -> Callable[..., Any]:
    """Import ``module:function``; ``what`` names the setting in error messages."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{what} must be 'module:function', got {spec!r}")
    function = getattr(importlib.import_module(module_name), attr)
    if not callable(function):
        raise ValueError(f"{what} {spec} is not callable")
    return function
