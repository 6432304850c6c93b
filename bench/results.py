"""The numbers one benchmark run collects: metric x server, plus notes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# A measured number, a word in its place ("n/a", "failed"), or None when not run.
Value = float | int | str | None

NOT_APPLICABLE = "n/a"
FAILED = "failed"


@dataclass
class Results:
    values: dict[str, dict[str, Value]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def set(self, metric: str, server: str, value: Value) -> None:
        self.values.setdefault(metric, {})[server] = value

    def get(self, metric: str, server: str) -> Value:
        return self.values.get(metric, {}).get(server)

    def number(self, metric: str, server: str) -> float | None:
        value = self.get(metric, server)
        return float(value) if isinstance(value, int | float) else None

    def note(self, text: str) -> None:
        self.notes.append(text)

    def save(self, path: Path, header: list[str]) -> None:
        """Write the results as JSON (for the README or later comparison)."""
        document = {"header": header, "values": self.values, "notes": self.notes}
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


@dataclass
class ServerResults:
    """The part of ``Results`` that one server's measurements write to."""

    results: Results
    server: str

    def set(self, metric: str, value: Value) -> None:
        self.results.set(metric, self.server, value)

    def note(self, text: str) -> None:
        self.results.note(f"{self.server}: {text}")
