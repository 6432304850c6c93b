"""Running an application against Kinesis streams, with checkpoints that survive ``kill -9``.

One process runs the whole application: every shard of every source stream is read with the
client library's polling reader (GetRecords: throttling, expired iterators, de-aggregation),
because the watermark is a minimum over all shards and joins span shards — so the state is
one, and so is its checkpoint. (Beyond one machine, run the same SQL on Spark.)

The loop: read a round from every shard → feed the engine, shard by shard in a fixed order
→ every ``checkpoint_interval`` commit positions, state and the results made since the last
commit (``checkpoint``) → write those results to their sinks (``sinks``) → record them as
delivered. A restart resumes from the last commit: the input after it is read again and
re-processed from the committed state, and results committed but perhaps not yet written
are completed without duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from headwater.analytics.checkpoint import CheckpointStore, Position, Result
from headwater.analytics.decode import RecordMeta
from headwater.analytics.errors import AnalyticsError
from headwater.analytics.sinks import (
    BlackholeSink,
    OnlineStoreSink,
    PrintSink,
    Sink,
    StreamSink,
    results_of,
)
from headwater.analytics.state import to_micros
from headwater.client import KinesisClient, Record, StartingPosition
from headwater.client.consumer.config import ConsumerConfig
from headwater.client.consumer.readers.base import ReadBatch, user_records
from headwater.client.consumer.readers.polling import PollingReader

if TYPE_CHECKING:
    from headwater.analytics.app import Application

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (source table, shard id)


@dataclass
class RunnerConfig:
    endpoint_url: str | None = None
    region: str | None = "us-east-1"
    state_dir: Path | str = "analytics-state"
    name: str = "analytics"  # names the checkpoint file and prefixes every result id
    checkpoint_interval: float = 1.0  # seconds between commits (results wait for them)
    poll_interval: float = 0.2  # pause after an empty or caught-up GetRecords
    max_records: int = 10_000
    shard_sync_interval: float = 10.0
    metrics_interval: float = 10.0
    client: dict[str, Any] = field(default_factory=dict)  # more ClientConfig settings


class StreamRunner:
    def __init__(self, app: Application, config: RunnerConfig) -> None:
        self.app = app
        self.config = config
        self.engine = app.engine()
        self.positions: dict[Key, Position] = {}
        self.readers: dict[Key, PollingReader] = {}
        self.number = 0
        self._stop = asyncio.Event()
        self._pending: dict[str, list[pa.Table]] = {}
        self._rate: tuple[float, int, float] | None = None  # (when, events, events/s)
        self._last_event: dict[Key, float] = {}
        self._resync = False
        self._idle_timeouts = {
            name: idle_timeout(app.tables[name].options.get("watermark.idle-timeout"))
            for name in app.sources
        }

    def stop(self) -> None:
        self._stop.set()

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.config.state_dir) / f"{self.config.name}.checkpoint.sqlite"

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        store = CheckpointStore(self.checkpoint_path)
        try:
            checkpoint = store.load()
            if checkpoint.state:
                self.engine.restore(checkpoint.state)
            self.positions, self.number = checkpoint.positions, checkpoint.number
            options = {"endpoint_url": self.config.endpoint_url, "region": self.config.region}
            async with KinesisClient(**options, **self.config.client) as client:
                written = dict(checkpoint.written)
                sinks = self._sinks(client, written)
                if checkpoint.pending:
                    log.info("checkpoint %d: completing its results", self.number)
                    await self._deliver(sinks, checkpoint.pending, uncertain=True)
                    store.delivered(written)
                await self._loop(client, store, sinks, written)
        finally:
            store.close()

    async def _loop(
        self,
        client: KinesisClient,
        store: CheckpointStore,
        sinks: dict[str, Sink],
        written: dict[tuple[str, str], str],
    ) -> None:
        next_sync = next_commit = next_metrics = time.monotonic()
        dirty = False
        while True:
            now = time.monotonic()
            if now >= next_sync or self._resync:
                self._resync = False
                await self._sync_shards(client)
                next_sync = now + self.config.shard_sync_interval
            stopping = self._stop.is_set()
            if not stopping:
                dirty |= await self._round()
            if dirty and (stopping or time.monotonic() >= next_commit):
                results = self._results()
                self.number += 1
                store.commit(self.number, self.positions, self.engine.snapshot(), results)
                await self._deliver(sinks, results, uncertain=False)
                store.delivered(written)
                next_commit = time.monotonic() + self.config.checkpoint_interval
                dirty = False
            if time.monotonic() >= next_metrics:
                log.info("analytics %s %s", self.config.name, self.metrics())
                next_metrics = time.monotonic() + self.config.metrics_interval
            if stopping:
                return
            if not self.readers:
                await self._idle()

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.config.poll_interval)

    async def _round(self) -> bool:
        """One read of every open shard, fed to the engine in a fixed order; any input?"""
        keys = sorted(self.readers)
        if not keys:
            return False
        batches = await asyncio.gather(*(self.readers[key].next_batch() for key in keys))
        consumed = False
        for key, batch in zip(keys, batches, strict=True):
            consumed |= self._feed(key, batch)
        return consumed

    def _feed(self, key: Key, batch: ReadBatch) -> bool:
        source, shard = key
        now = time.monotonic()
        position = self.positions.get(key)
        after = (int(position.sequence), position.sub) if position and position.sequence else None
        records = user_records(batch.records, shard, after)
        if records:
            metas = [_meta(record) for record in records]
            outputs = self.engine.process_batch(source, [r.data for r in records], shard, metas)
            self._collect(outputs)
            self._last_event[key] = now
            last = records[-1]
            self.positions[key] = Position(last.sequence_number, last.sub_sequence_number)
        timeout = self._idle_timeouts[source]
        quiet = now - self._last_event.setdefault(key, now)
        caught_up = not records and not batch.millis_behind_latest
        if timeout is not None and caught_up and quiet >= timeout:
            outputs = self.engine.set_idle(source, shard)
            self._collect(outputs)
            if outputs:
                return True
        if batch.shard_end:
            last_sequence = self.positions.get(key, Position(None)).sequence
            self.positions[key] = Position(last_sequence, 0, ended=True)
            self._collect(self.engine.close_shard(source, shard))
            del self.readers[key]
            self._resync = True  # its children can start now
            return True
        return bool(records)

    def _collect(self, outputs: dict[str, list[pa.Table]]) -> None:
        for sink, tables in outputs.items():
            self._pending.setdefault(sink, []).extend(tables)

    def _results(self) -> dict[str, list[Result]]:
        """The results since the last commit, with their ids, ready to commit."""
        results: dict[str, list[Result]] = {}
        for sink, tables in self._pending.items():
            prefix = f"{self.config.name}/{self.number + 1}/{sink}"
            index = 0
            for table in tables:
                chunk = results_of(self.app.tables[sink], table, prefix, index)
                results.setdefault(sink, []).extend(chunk)
                index += len(chunk)
        self._pending = {}
        return results

    async def _deliver(
        self, sinks: dict[str, Sink], results: dict[str, list[Result]], uncertain: bool
    ) -> None:
        for sink, items in results.items():
            await sinks[sink].deliver(items, uncertain)

    # -- shards and sinks ----------------------------------------------------------------

    async def _sync_shards(self, client: KinesisClient) -> None:
        """Open a reader for every shard not yet read to its end whose parents are done."""
        reader_config = ConsumerConfig(
            max_records=self.config.max_records,
            idle_time_between_reads=self.config.poll_interval,
        )
        for source in self.app.sources:
            table = self.app.tables[source]
            shards = await client.list_shards(table.stream)
            known = {shard.ShardId for shard in shards}
            for shard in shards:
                key = (source, shard.ShardId)
                position = self.positions.get(key)
                if key in self.readers or (position is not None and position.ended):
                    continue
                parents = [(source, p) for p in shard.parent_ids if p in known]
                if any(not self.positions.get(p, Position(None)).ended for p in parents):
                    continue  # children start once their parents are read to the end
                start = self._start(table.options.get("start", "TRIM_HORIZON"), position)
                self.readers[key] = PollingReader(
                    client, table.stream, shard.ShardId, start, reader_config
                )
                self.engine.open_shard(source, shard.ShardId)

    @staticmethod
    def _start(option: str, position: Position | None) -> StartingPosition:
        if position is not None and position.sequence is not None:
            return StartingPosition.at_sequence(position.sequence)  # sub-records: skipped
        if option.upper() == "LATEST":
            return StartingPosition.latest()
        if option.upper() == "TRIM_HORIZON":
            return StartingPosition.trim_horizon()
        raise AnalyticsError(f"'start' = {option!r}: TRIM_HORIZON or LATEST")

    def _sinks(self, client: KinesisClient, written: dict[tuple[str, str], str]) -> dict[str, Sink]:
        sinks: dict[str, Sink] = {}
        names = {plan.sink for plan in self.app.plans}
        names |= {
            t.options["late-events"] for t in self.app.tables.values() if "late-events" in t.options
        }
        for name in sorted(names):
            table = self.app.tables[name]
            if table.is_stream:
                sinks[name] = StreamSink(client, table.stream, written)
            elif table.connector == "print":
                sinks[name] = PrintSink(name)
            elif table.connector == "online-store":
                sinks[name] = OnlineStoreSink(table, self.app.base_dir)
            else:
                sinks[name] = BlackholeSink()
        return sinks

    # -- metrics -------------------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """The engine's counters plus events/s, watermark lag (wall clock) and the checkpoint."""
        metrics = self.engine.metrics()
        events = sum(s["events"] for s in metrics["sources"].values())
        now = time.monotonic()
        if self._rate is None:  # the first call: the baseline (restored counters included)
            self._rate = (now, events, 0.0)
        then, before, rate = self._rate
        if now - then >= 1.0:
            rate = (events - before) / (now - then)
            self._rate = (now, events, rate)
        wall = to_micros(datetime.now(UTC).replace(tzinfo=None))
        for name, source in metrics["sources"].items():
            mark = self.engine.watermark(name)
            source["watermark_lag_s"] = None if mark is None else round((wall - mark) / 1e6, 3)
        metrics["events_per_s"] = round(rate, 1)
        metrics["checkpoint"] = self.number
        metrics["shards_open"] = len(self.readers)
        return metrics


def idle_timeout(text: str | None) -> float | None:
    """``'watermark.idle-timeout'``: seconds, or a number with ``ms``/``s``/``min``."""
    if text is None:
        return None
    value = text.strip().lower()
    for unit, scale in (("ms", 0.001), ("min", 60.0), ("s", 1.0)):
        if value.endswith(unit):
            return float(value.removesuffix(unit).strip()) * scale
    return float(value)


def _meta(record: Record) -> RecordMeta:
    return RecordMeta(
        record.arrival_time, record.partition_key, record.shard_id, record.sequence_number
    )
