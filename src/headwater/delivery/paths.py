"""Object paths: ``!{timestamp:yyyy/MM/dd/HH}`` and ``!{partitionKeyFromQuery:field}``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_EXPRESSION = re.compile(r"!\{([A-Za-z]+)(?::([^}]*))?\}")
_DATE_TOKENS = re.compile(r"yyyy|MM|dd|HH|mm|ss")
_STRFTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]")


class PartitionError(ValueError):
    """A record whose fields cannot fill the path (the reason goes to the error prefix)."""


def field_value(obj: Any, path: str) -> Any:
    """``a.b.c`` looked up in nested dicts; None when missing."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def format_time(when: datetime, pattern: str) -> str:
    return _DATE_TOKENS.sub(lambda m: when.strftime(_STRFTIME[m.group(0)]), pattern)


def render(template: str, event_time: datetime, obj: Any, error: str | None = None) -> str:
    """The prefix for one record; raises PartitionError when a queried field is missing."""

    def expand(match: re.Match[str]) -> str:
        kind, argument = match.group(1), match.group(2) or ""
        if kind == "timestamp":
            return format_time(event_time, argument or "yyyy/MM/dd/HH")
        if kind == "partitionKeyFromQuery":
            value = field_value(obj, argument)
            if value is None or isinstance(value, dict | list):
                raise PartitionError(f"partition field {argument!r} missing or not a scalar")
            return _UNSAFE.sub("_", str(value)) or "_"
        if kind == "error":
            return error or "error"
        raise PartitionError(f"unknown path expression !{{{kind}}}")

    return _EXPRESSION.sub(expand, template)


def parse_event_time(value: Any) -> datetime:
    """Epoch seconds or milliseconds (numbers) or ISO 8601 text, as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        raise PartitionError("event time field missing")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PartitionError(f"event time {value!r} is not ISO 8601") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise PartitionError("event time field has an unsupported type")
