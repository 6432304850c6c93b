"""What every source shares: where the Kinesis API is, config files, enrichment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from headwater.client import ProducerConfig
from headwater.client.config import CONNECTION_KEYS

PRODUCER_KEYS = ("linger", "record_ttl", "shard_rate", "ordered", "aggregation")


class ConfigError(ValueError):
    """A source configuration file that cannot be used."""


def client_options(document: dict[str, Any]) -> dict[str, Any]:
    """The ``[kinesis]`` table as keyword arguments for the client."""
    table = document.get("kinesis", {})
    unknown = set(table) - set(CONNECTION_KEYS) - {"producer"}
    if unknown:
        raise ConfigError(f"unknown keys in [kinesis]: {', '.join(sorted(unknown))}")
    return {key: table[key] for key in CONNECTION_KEYS if key in table}


def producer_config(document: dict[str, Any], **defaults: Any) -> ProducerConfig:
    """``[kinesis.producer]`` over the source's defaults."""
    table = document.get("kinesis", {}).get("producer", {})
    unknown = set(table) - set(PRODUCER_KEYS)
    if unknown:
        raise ConfigError(f"unknown keys in [kinesis.producer]: {', '.join(sorted(unknown))}")
    return ProducerConfig(**{**defaults, **table})


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds (``2026-11-25T16:01:15.123Z``)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
