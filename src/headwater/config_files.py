"""Reading the TOML configuration files of the ``headwater`` commands."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: str | Path, error: type[Exception]) -> dict[str, Any]:
    """The file as a dict; a missing, unreadable or malformed file raises ``error`` naming it."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise error(f"cannot read {path}: {exc}") from None
