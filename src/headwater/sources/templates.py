"""Partition key templates in the style of AWS IoT Core rules.

``${topic()}`` is the whole topic, ``${topic(2)}`` its second level (1-based, like IoT Core),
``${newuuid()}`` a random UUID, and ``${a.b}`` a field of the JSON payload (dotted path).
Text outside ``${...}`` is kept: ``"${topic(2)}-${sensor}"``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_TOPIC_LEVEL = re.compile(r"topic\((\d*)\)")

Part = Callable[[str, Any], str]


class TemplateError(ValueError):
    """A template that cannot be compiled."""


def _literal(text: str) -> Part:
    return lambda topic, payload: text


def _topic(level: int | None) -> Part:
    def render(topic: str, payload: Any) -> str:
        if level is None:
            return topic
        levels = topic.split("/")
        return levels[level - 1] if level <= len(levels) else ""

    return render


def _newuuid(topic: str, payload: Any) -> str:
    return str(uuid.uuid4())


def _field(path: list[str]) -> Part:
    def render(topic: str, payload: Any) -> str:
        value = payload
        for name in path:
            if not isinstance(value, dict) or name not in value:
                return ""
            value = value[name]
        return "" if value is None else str(value)

    return render


def _compile_expression(expression: str) -> Part:
    expression = expression.strip()
    if expression == "newuuid()":
        return _newuuid
    topic = _TOPIC_LEVEL.fullmatch(expression)
    if topic:
        digits = topic.group(1)
        if digits and int(digits) < 1:
            raise TemplateError("topic levels count from 1: ${topic(1)} is the first")
        return _topic(int(digits) if digits else None)
    if not expression or "(" in expression:
        raise TemplateError(f"unknown template expression ${{{expression}}}")
    return _field(expression.split("."))


class KeyTemplate:
    """A compiled partition key template; ``render`` never returns an empty key."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._parts: list[Part] = []
        position = 0
        for match in _PLACEHOLDER.finditer(template):
            if match.start() > position:
                self._parts.append(_literal(template[position : match.start()]))
            self._parts.append(_compile_expression(match.group(1)))
            position = match.end()
        if position < len(template):
            self._parts.append(_literal(template[position:]))
        if not self._parts:
            raise TemplateError("a partition key template may not be empty")

    def render(self, topic: str, payload: Any = None) -> str:
        key = "".join(part(topic, payload) for part in self._parts)
        # Kinesis keys are 1..256 characters; a missing field falls back to the topic.
        return (key or topic or "-")[:256]
