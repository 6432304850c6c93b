"""The one error type of the analytics package: a statement the dialect cannot run."""

from __future__ import annotations


class AnalyticsError(ValueError):
    """An SQL application that cannot be parsed, planned or run (the message says why)."""
