"""Failed records as objects under the error prefix, with the reason beside the raw record.

Object names derive from the shard and the positions of the records they hold, exactly like
delivered objects, so a replayed flush overwrites its error objects instead of adding more.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from headwater.delivery.config import DeliveryStream
from headwater.delivery.formats import encode_jsonl
from headwater.delivery.paths import render
from headwater.delivery.processor import Prepared, position_text
from headwater.delivery.sink import Sink


def as_prefix(template: str) -> str:
    return template if not template or template.endswith("/") else template + "/"


def object_name(
    settings: DeliveryStream, prefix: str, shard_id: str, items: list[Prepared], extension: str
) -> str:
    """``<prefix><delivery>-<shard>-<first position>-<last position>.<extension>``."""
    first, last = items[0].record, items[-1].record
    return (
        f"{prefix}{settings.name}-{shard_id}-"
        f"{position_text(first)}-{position_text(last)}.{extension}"
    )


def error_row(item: Prepared) -> dict[str, Any]:
    record = item.record
    arrival = record.arrival_time or datetime.fromtimestamp(0, UTC)
    return {
        "errorCode": item.error_code,
        "errorMessage": item.error,
        "rawData": base64.b64encode(record.data).decode(),
        "partitionKey": record.partition_key,
        "shardId": record.shard_id,
        "sequenceNumber": record.sequence_number,
        "subSequenceNumber": record.sub_sequence_number,
        "approximateArrivalTimestamp": int(arrival.timestamp() * 1000),
    }


def write_errors(
    sink: Sink, settings: DeliveryStream, shard_id: str, errors: list[Prepared]
) -> None:
    """Commit ``errors`` as JSON Lines (gzip) objects, grouped by their error prefix."""
    groups: dict[str, list[Prepared]] = defaultdict(list)
    for item in errors:
        arrival = item.record.arrival_time or datetime.fromtimestamp(0, UTC)
        prefix = as_prefix(render(settings.error_prefix, arrival, None, item.error_code))
        groups[prefix].append(item)
    for prefix, items in groups.items():
        rows = [error_row(item) for item in items]
        sink.commit(object_name(settings, prefix, shard_id, items, "jsonl.gz"), encode_jsonl(rows))
