"""The files destination: partitioned JSON Lines (gzip) or Parquet (zstd) objects via fsspec."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from headwater.delivery.config import DeliveryStream
from headwater.delivery.error_objects import as_prefix, object_name, write_errors
from headwater.delivery.formats import EXTENSIONS, Schema, TypeConflict, encode_jsonl
from headwater.delivery.formats import encode_parquet as _encode_parquet
from headwater.delivery.paths import PartitionError, render
from headwater.delivery.processor import Destination, Prepared
from headwater.delivery.sink import open_sink

log = logging.getLogger(__name__)


class FilesDestination(Destination):
    def __init__(self, settings: DeliveryStream) -> None:
        self.settings = settings
        self.sink = open_sink(settings.destination, settings.storage_options)
        self.state = f"_delivery/{settings.name}"
        self.schema: Schema | None = None
        self.schema_saved = False
        if settings.format == "parquet":
            stored = self.sink.read_json(f"{self.state}/schema.json")
            self.schema = Schema(stored or settings.schema or {})
            if settings.schema:  # columns given later in the config are added
                for column, kind in settings.schema.items():
                    self.schema.columns.setdefault(column, kind)

    def _intent_key(self, shard_id: str) -> str:
        return f"{self.state}/intents/{shard_id}.json"

    def recover(self, shard_id: str) -> tuple[int, int] | None:
        intent = self.sink.read_json(self._intent_key(shard_id))
        if not intent:
            return None
        sequence, sub = intent["last"]
        return int(sequence), int(sub)

    def write(self, shard_id: str, batch: list[Prepared]) -> None:
        if not batch:
            return
        last = batch[-1].record
        first = batch[0].record
        self.sink.write_json(
            self._intent_key(shard_id),
            {
                "first": [first.sequence_number, first.sub_sequence_number],
                "last": [last.sequence_number, last.sub_sequence_number],
            },
        )
        groups: dict[str, list[Prepared]] = defaultdict(list)
        errors: list[Prepared] = []
        for item in batch:
            if item.value is None:
                if item.error_code != "Dropped":
                    errors.append(item)
                continue
            try:
                prefix = as_prefix(render(self.settings.prefix, item.event_time, item.value))
            except PartitionError as error:
                item.error, item.error_code = str(error), "Partitioning"
                errors.append(item)
                continue
            groups[prefix].append(item)
        if self.schema is not None:
            rows_by_group = self._parquet(shard_id, groups, errors)
        else:
            rows_by_group = {
                prefix: (items, [item.value for item in items]) for prefix, items in groups.items()
            }
        extension = EXTENSIONS[self.settings.format]
        for prefix, (items, rows) in rows_by_group.items():
            if not items:
                continue
            data = (
                _encode_parquet(rows, self.schema)
                if self.schema is not None
                else encode_jsonl(rows)
            )
            self.sink.commit(object_name(self.settings, prefix, shard_id, items, extension), data)
        write_errors(self.sink, self.settings, shard_id, errors)

    def _parquet(
        self, shard_id: str, groups: dict[str, list[Prepared]], errors: list[Prepared]
    ) -> dict[str, tuple[list[Prepared], list[dict[str, Any]]]]:
        assert self.schema is not None
        schema = self.schema
        out: dict[str, tuple[list[Prepared], list[dict[str, Any]]]] = {}
        with schema.lock:
            values = [item.value for items in groups.values() for item in items]
            if not schema.columns or self.settings.evolve_schema:
                changed = schema.evolve(values)
            else:
                changed = False
            if changed or not self.schema_saved:
                self.sink.write_json(f"{self.state}/schema.json", schema.columns)
                self.schema_saved = True
            for prefix, items in groups.items():
                kept, rows = [], []
                for item in items:
                    try:
                        rows.append(schema.conform(item.value))
                        kept.append(item)
                    except TypeConflict as error:
                        item.error, item.error_code = str(error), "SchemaMismatch"
                        errors.append(item)
                out[prefix] = (kept, rows)
        errors.sort(key=lambda item: item.record.position)
        return out
