"""Online learning over a stream with River: predict, then learn, one record at a time.

Each labelled record is first scored by the current model (progressive validation: the score
never saw the record's label), then learned. Scores go to an output stream and to the online
store; rolling metrics compare the model with a constant baseline (the label prior).

Checkpoints. The learner's whole state — model, feature extractor (which may keep per-entity
history), metrics and the last learned position of every shard — is pickled to one file,
written atomically (temporary file, fsync, rename). Consumer checkpoints only move *after* a
state save, and never beyond what the saved state learned. After a crash the learner reloads
the state, skips records the state already learned and learns the rest: each record is learned
exactly once. Scores of records after the saved state are produced again after a crash; the
model that produces them is the same saved state fed the same records, so the repeats are
identical and carry the same id (at-least-once output, idempotent by id).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from river import dummy, metrics

from headwater.client import Consumer, ConsumerConfig, Producer, Record, open_lease_store
from headwater.client.consumer.checkpointer import Checkpointer
from headwater.client.consumer.processor import (
    InitializationInput,
    ProcessRecordsInput,
    RecordProcessorBase,
)
from headwater.delivery.online.store import OnlineStore, Write, open_store

log = logging.getLogger(__name__)
_decoder = msgspec.json.Decoder()

Features = Callable[[dict[str, Any]], dict[str, float]]


@dataclass(frozen=True, slots=True)
class Score:
    """One record's score, made before its label was learned."""

    id: str
    entity: str | None
    score: float
    label: bool | None
    event_time: float  # epoch seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity": self.entity,
            "score": self.score,
            "label": self.label,
            "ts": datetime.fromtimestamp(self.event_time, UTC).isoformat(),
        }


def _log_loss_metric() -> metrics.LogLoss:
    return metrics.LogLoss()


@dataclass(slots=True)
class LearnerState:
    """Everything a restart needs; pickled as one unit."""

    model: Any
    features: Features
    baseline: dummy.PriorClassifier = field(default_factory=dummy.PriorClassifier)
    model_auc: metrics.ROCAUC = field(default_factory=metrics.ROCAUC)
    baseline_auc: metrics.ROCAUC = field(default_factory=metrics.ROCAUC)
    model_log_loss: metrics.LogLoss = field(default_factory=_log_loss_metric)
    baseline_log_loss: metrics.LogLoss = field(default_factory=_log_loss_metric)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    learned: int = 0
    scored: int = 0


def _clip(p: float) -> float:
    return min(max(p, 1e-7), 1 - 1e-7)


class ProgressiveLearner:
    """Predict-then-learn over events (dicts); no I/O, so it also runs over a list."""

    def __init__(
        self,
        state: LearnerState,
        *,
        label_field: str,
        id_field: str,
        entity_field: str | None = None,
        time_field: str | None = None,
    ) -> None:
        self.state = state
        self.label_field = label_field
        self.id_field = id_field
        self.entity_field = entity_field
        self.time_field = time_field

    def _event_time(self, event: dict[str, Any], fallback: float) -> float:
        value = event.get(self.time_field) if self.time_field else None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return fallback
        return fallback

    def step(self, event: dict[str, Any], arrival: float = 0.0) -> Score:
        """Score ``event``, then learn its label (when it has one)."""
        state = self.state
        x = state.features(event)
        score = float(state.model.predict_proba_one(x).get(True, 0.0))
        raw_label = event.get(self.label_field)
        label = None if raw_label is None else bool(raw_label)
        if label is not None:
            prior = float(state.baseline.predict_proba_one(x).get(True, 0.5))
            state.model_auc.update(label, score)
            state.baseline_auc.update(label, prior)
            state.model_log_loss.update(label, _clip(score))
            state.baseline_log_loss.update(label, _clip(prior))
            state.model.learn_one(x, label)
            state.baseline.learn_one(x, label)
            state.learned += 1
        state.scored += 1
        entity = event.get(self.entity_field) if self.entity_field else None
        return Score(
            str(event.get(self.id_field)),
            None if entity is None else str(entity),
            score,
            label,
            self._event_time(event, arrival),
        )

    def report(self) -> dict[str, float | int]:
        """Metrics over everything scored so far: model against the constant baseline."""
        state = self.state

        def value(metric: Any) -> float:
            result = metric.get()
            return result if math.isfinite(result) else float("nan")

        return {
            "scored": state.scored,
            "learned": state.learned,
            "model_roc_auc": value(state.model_auc),
            "baseline_roc_auc": value(state.baseline_auc),
            "model_log_loss": value(state.model_log_loss),
            "baseline_log_loss": value(state.baseline_log_loss),
        }


def save_state(state: LearnerState, path: Path) -> None:
    """Write the state atomically: a crash leaves the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        pickle.dump(state, file, protocol=pickle.HIGHEST_PROTOCOL)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load_state(path: Path) -> LearnerState | None:
    """The saved state (only this application's own files: pickle runs code when loaded)."""
    if not path.exists():
        return None
    with open(path, "rb") as file:
        return pickle.load(file)


@dataclass(frozen=True, slots=True)
class OnlineLearningSettings:
    stream: str
    application: str
    state_path: Path
    label_field: str
    id_field: str
    entity_field: str | None = None
    time_field: str | None = None
    output_stream: str | None = None
    online_store: str | None = None  # "sqlite:///path" or "redis://host:port/db"
    store_table: str = "scores"
    store_ttl: float | None = None
    checkpoint_records: int = 1000
    checkpoint_interval: float = 5.0
    initial_position: str = "TRIM_HORIZON"
    failover_time: float = 10.0


class OnlineLearner:
    """Consumes a stream with the client library; one shared model for every shard it holds."""

    def __init__(
        self,
        settings: OnlineLearningSettings,
        new_state: Callable[[], LearnerState],
        *,
        lease_store: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.settings = settings
        state = load_state(settings.state_path) or new_state()
        self.learner = ProgressiveLearner(
            state,
            label_field=settings.label_field,
            id_field=settings.id_field,
            entity_field=settings.entity_field,
            time_field=settings.time_field,
        )
        self.saved_positions: dict[str, tuple[int, int]] = dict(state.positions)
        self._unsaved = 0
        self._saved_at = time.monotonic()
        self._lock = asyncio.Lock()
        self._publishing = False
        client = {"endpoint_url": endpoint_url, "region": region}
        self.producer = (
            Producer(settings.output_stream, **client) if settings.output_stream else None
        )
        self.store: OnlineStore | None = (
            open_store(settings.online_store) if settings.online_store else None
        )
        self.consumer = Consumer(
            settings.stream,
            settings.application,
            processor_factory=lambda: _LearnerProcessor(self),
            config=ConsumerConfig(
                initial_position=settings.initial_position,
                failover_time=settings.failover_time,
                call_process_records_even_for_empty_list=True,
                idle_time_between_reads=0.2,
            ),
            lease_store=open_lease_store(lease_store),
            **client,
        )
        self._stop = asyncio.Event()

    @property
    def state(self) -> LearnerState:
        return self.learner.state

    def report(self) -> dict[str, float | int]:
        return self.learner.report()

    async def run(self) -> None:
        """Learn until ``stop()``; then save the state and checkpoint what it covers."""
        if self.producer is not None:
            await self.producer.start()
        try:
            await self.consumer.start()
            await self._stop.wait()
        finally:
            await self.consumer.stop()
            if self.producer is not None:
                await self.producer.close()
            if self.store is not None:
                self.store.close()

    def stop(self) -> None:
        self._stop.set()

    async def learn_and_publish(self, shard_id: str, records: list[Record]) -> None:
        """Learn a chunk and publish its scores, as one step no state save can split.

        The lock keeps other shards' saves out while this chunk's scores are in flight; if
        publishing fails or is cancelled, the state is marked unsaveable and a restart resumes
        from the last save (the model cannot unlearn the chunk).
        """
        async with self._lock:
            self._publishing = True
            await self.publish(self.learn(shard_id, records))
            self._publishing = False

    def learn(self, shard_id: str, records: list[Record]) -> list[Score]:
        """Predict-then-learn the records the saved state has not learned yet."""
        done = self.state.positions.get(shard_id)
        scores = []
        for record in records:
            if done is not None and record.position <= done:
                continue
            try:
                event = _decoder.decode(record.data)
            except msgspec.DecodeError:
                event = None
            if isinstance(event, dict):
                arrival = record.arrival_time.timestamp() if record.arrival_time else 0.0
                scores.append(self.learner.step(event, arrival))
            self.state.positions[shard_id] = record.position
            self._unsaved += 1
        return scores

    async def publish(self, scores: list[Score]) -> None:
        """Scores to the output stream (awaited: durable before the next save) and the store."""
        if not scores:
            return
        if self.producer is not None:
            pending = [await self.producer.put_json(score.as_dict(), score.id) for score in scores]
            await asyncio.gather(*pending)
        if self.store is not None:
            writes = [
                Write(
                    s.entity, {"score": s.score, "id": s.id}, s.event_time, self.settings.store_ttl
                )
                for s in scores
                if s.entity is not None
            ]
            await asyncio.to_thread(self.store.put_many, self.settings.store_table, writes)

    async def save_if_due(self, force: bool = False) -> None:
        """Save the state when enough records or time have passed since the last save."""
        async with self._lock:
            due = self._unsaved >= self.settings.checkpoint_records or (
                self._unsaved
                and time.monotonic() - self._saved_at >= self.settings.checkpoint_interval
            )
            if not (due or (force and self._unsaved)):
                return
            if self._publishing:
                log.warning(
                    "online learner: scores of learned records were not all published;"
                    " not saving (a restart resumes from the last save)"
                )
                return
            positions = dict(self.state.positions)
            await asyncio.to_thread(save_state, self.state, self.settings.state_path)
            self.saved_positions = positions
            self._unsaved = 0
            self._saved_at = time.monotonic()
            log.info("online learner %s: state saved %s", self.settings.application, self.report())


class _LearnerProcessor(RecordProcessorBase):
    """One shard: learn its records in order and checkpoint behind the saved state."""

    def __init__(self, owner: OnlineLearner) -> None:
        self.owner = owner
        self.shard_id = ""

    async def initialize(self, initialization: InitializationInput) -> None:
        self.shard_id = initialization.shard_id

    async def _checkpoint_saved(self, checkpointer: Checkpointer) -> None:
        saved = self.owner.saved_positions.get(self.shard_id)
        last = checkpointer.last_delivered
        if saved is None or last is None:
            return
        target = min(saved, last.position)
        if checkpointer.current.is_sentinel or target > checkpointer.current.position:
            await checkpointer.checkpoint(str(target[0]), target[1])

    async def process_records(self, batch: ProcessRecordsInput) -> None:
        # Chunks of at most checkpoint_records, so a large read still saves on schedule.
        step = self.owner.settings.checkpoint_records
        for start in range(0, len(batch.records), step):
            await self.owner.learn_and_publish(self.shard_id, batch.records[start : start + step])
            await self.owner.save_if_due()
        await self._checkpoint_saved(batch.checkpointer)

    async def shard_ended(self, checkpointer: Checkpointer) -> None:
        await self.owner.save_if_due(force=True)
        await checkpointer.checkpoint()

    async def shutdown_requested(self, checkpointer: Checkpointer) -> None:
        await self.owner.save_if_due(force=True)
        await self._checkpoint_saved(checkpointer)
