"""The options a Spark query passes to the Headwater source and sink.

Spark hands options over as strings; this turns them into the client's ``ClientConfig`` once,
so the reader and writer (pickled to every executor) carry plain, picklable settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from headwater.client.config import CONNECTION_KEYS, ClientConfig
from headwater.client.positions import LATEST, TRIM_HORIZON

STARTS = (TRIM_HORIZON, LATEST)


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Which stream, where a new query starts reading it, and how to reach the Kinesis API."""

    stream: str
    start: str
    client: ClientConfig
    #: The sink's pacing per shard against AWS' write limits (``ProducerConfig.shard_rate``);
    #: None (option ``shard_rate=off``) for a Headwater server running ``--limits off``.
    shard_rate: float | None = 1.0

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> StreamOptions:
        stream = options.get("stream")
        if not stream:
            raise ValueError("the headwater data source needs option 'stream' (a name or ARN)")
        start = options.get("start", TRIM_HORIZON).upper()
        if start not in STARTS:
            raise ValueError(f"option 'start' must be one of {', '.join(STARTS)}, not {start!r}")
        given = {name: options[name] for name in CONNECTION_KEYS if options.get(name)}
        rate = options.get("shard_rate", "1.0")
        shard_rate = None if rate.lower() == "off" else float(rate)
        return cls(stream, start, ClientConfig(**given), shard_rate)
