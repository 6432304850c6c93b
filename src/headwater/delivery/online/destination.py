"""The online store as a delivery destination: upsert each record's object by its key.

Writes are idempotent (last by event time wins), so re-delivery after a crash is harmless.
Records that fail (malformed, transform failure, missing key) are logged and skipped.
"""

from __future__ import annotations

import logging

from headwater.delivery.config import DeliveryStream
from headwater.delivery.online.store import OnlineStore, Write, open_store
from headwater.delivery.paths import field_value
from headwater.delivery.processor import Destination, Prepared

log = logging.getLogger(__name__)


class OnlineStoreDestination(Destination):
    def __init__(self, settings: DeliveryStream, store: OnlineStore | None = None) -> None:
        assert settings.online_store is not None
        self.target = settings.online_store
        self.store = store or open_store(self.target.store)

    def write(self, shard_id: str, batch: list[Prepared]) -> None:
        writes = []
        for item in batch:
            if item.value is None:
                if item.error_code != "Dropped":
                    log.warning(
                        "%s: skipped %s (%s)", shard_id, item.record.sequence_number, item.error
                    )
                continue
            key = field_value(item.value, self.target.key_field)
            if key is None or isinstance(key, dict | list):
                log.warning("%s: no key field in %s", shard_id, item.record.sequence_number)
                continue
            writes.append(Write(str(key), item.value, item.event_time.timestamp(), self.target.ttl))
        if writes:
            self.store.put_many(self.target.table, writes)
