"""The input every query is measured on: Nexmark events as JSON, in micro-batches per table.

Events are generated and JSON-encoded before any clock starts (the engine decodes JSON, as it
does reading a stream). Each table is its own stream, so a micro-batch is up to
``batch_size`` consecutive records of one table, handed over when full, as a stream reader
would; the engine orders the tables by their watermarks.

Event time spans ``span_s`` seconds whatever the number of events: Flink's published run
(100M events generated at 10M events/s) spans 10 s, so windows hold the same share of events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import msgspec

from headwater.sources import nexmark

FLINK_SPAN_S = 10.0


@dataclass(frozen=True)
class Workload:
    batches: list[tuple[str, list[bytes]]]

    def events_of(self, tables: list[str]) -> int:
        return sum(len(records) for table, records in self.batches if table in tables)

    def whole(self, tables: list[str]) -> dict[str, list[bytes]]:
        """Every event of these tables at once (for the batch oracle)."""
        out: dict[str, list[bytes]] = defaultdict(list)
        for table, records in self.batches:
            if table in tables:
                out[table].extend(records)
        return dict(out)


def build(count: int, batch_size: int, seed: int = 0, span_s: float = FLINK_SPAN_S) -> Workload:
    encode = msgspec.json.Encoder().encode
    config = nexmark.NexmarkConfig(events_per_second=count / span_s)
    batches: list[tuple[str, list[bytes]]] = []
    pending: dict[str, list[bytes]] = defaultdict(list)
    for table, record in nexmark.events(count, seed=seed, config=config):
        pending[table].append(encode(record))
        if len(pending[table]) == batch_size:
            batches.append((table, pending.pop(table)))
    batches.extend((table, records) for table, records in pending.items() if records)
    return Workload(batches)
