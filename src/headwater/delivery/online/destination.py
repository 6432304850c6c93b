"""The online store as a delivery destination: upsert each record's object by its key.

Writes are idempotent (last by event time wins), so re-delivery after a crash is harmless.
Records that fail (malformed, transform failure, no key) go as error objects under the error
prefix of ``destination`` when the delivery names one, else they are logged and skipped.
"""

from __future__ import annotations

import logging

from headwater.delivery.config import DeliveryStream
from headwater.delivery.error_objects import write_errors
from headwater.delivery.online.store import OnlineStore, Write, open_store
from headwater.delivery.paths import field_value
from headwater.delivery.processor import Destination, Prepared
from headwater.delivery.sink import Sink, open_sink

log = logging.getLogger(__name__)


class OnlineStoreDestination(Destination):
    def __init__(self, settings: DeliveryStream, store: OnlineStore | None = None) -> None:
        assert settings.online_store is not None
        self.target = settings.online_store
        self.store = store or open_store(self.target.store)
        self.settings = settings
        self.errors: Sink | None = (
            open_sink(settings.destination, settings.storage_options)
            if settings.destination
            else None
        )

    def write(self, shard_id: str, batch: list[Prepared]) -> None:
        writes, failed = [], []
        for item in batch:
            if item.value is None:
                if item.error_code != "Dropped":
                    failed.append(item)
                continue
            key = field_value(item.value, self.target.key_field)
            if key is None or isinstance(key, dict | list):
                item.error = f"no value for the key field {self.target.key_field!r}"
                item.error_code = "MissingKey"
                failed.append(item)
                continue
            writes.append(Write(str(key), item.value, item.event_time.timestamp(), self.target.ttl))
        if writes:
            self.store.put_many(self.target.table, writes)
        if not failed:
            return
        if self.errors is not None:
            write_errors(self.errors, self.settings, shard_id, failed)
            return
        for item in failed:
            log.warning("%s: skipped %s (%s)", shard_id, item.record.sequence_number, item.error)
