"""The incremental engine: decode micro-batches, keep state, emit results as they become final.

One engine runs every INSERT of an application over one DuckDB connection. A batch of a
source is decoded, late rows are dropped (and counted), then

- a *stateless* query (filters, projections, reference-table joins) runs over the batch and
  emits its rows at once;
- a *stateful* query (windows, stream joins) appends the batch to its buffer; whenever the
  query's watermark (the minimum over its sources) moves on, it runs over the buffer, emits
  the rows whose rowtime the watermark passed, and trims the buffer (see ``planner``).

**Late events**: an event older than its source's watermark when it arrives is dropped and
counted (``late``), and written to the table named by the source's ``'late-events'`` option
if there is one. A source's watermark is the minimum over its shards of the largest
``WATERMARK`` expression value seen so far; a shard opened (``open_shard``) but without an
event yet holds it back, a shard read to its end (``close_shard``) no longer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from headwater.analytics.catalog import Table, interval_of
from headwater.analytics.decode import Decoder, RecordMeta
from headwater.analytics.errors import AnalyticsError
from headwater.analytics.functions import to_duckdb
from headwater.analytics.planner import ROWTIME, Plan, reference_relation, source_relation
from headwater.analytics.reference import load_reference
from headwater.analytics.state import (
    QueryState,
    SourceState,
    dump,
    from_micros,
    load,
    to_micros,
)
from headwater.analytics.windows import micros, session_sql

if TYPE_CHECKING:
    from headwater.analytics.app import Application

Outputs = dict[str, list[pa.Table]]


class Engine:
    """State and execution of one application (not thread-safe: one caller at a time)."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")
        self.decoders: dict[str, Decoder] = {}
        self.sources: dict[str, SourceState] = {}
        for plan in app.plans:
            for name in plan.sources:
                if name not in self.decoders:
                    self.decoders[name] = Decoder(app.tables[name], self.connection)
                    self.sources[name] = SourceState()
        for name in {r for plan in app.plans for r in plan.references}:
            rows = load_reference(app.tables[name], app.base_dir, self.connection)
            self.connection.register(reference_relation(name), rows)
        self.queries = [QueryState() for _ in app.plans]
        for plan in app.plans:
            self._check_sink(plan)
        self._watermark_sql = {
            name: f"SELECT max({to_duckdb(app.tables[name].watermark).sql('duckdb')}) FROM __batch"
            for name in self.decoders
        }
        self._delays = {name: _fixed_delay(app.tables[name]) for name in self.decoders}

    def _check_sink(self, plan: Plan) -> None:
        """INSERT maps columns by position: a sink that declares columns needs as many."""
        declared = [c for c in self.app.tables[plan.sink].columns if c.computed is None]
        produced = self._run(plan, {}).num_columns
        if declared and len(declared) != produced:
            raise AnalyticsError(
                f"INSERT INTO {plan.sink}: the query gives {produced} columns, "
                f"the table has {len(declared)}"
            )

    # -- input ---------------------------------------------------------------------------

    def process(
        self, source: str, events: Sequence[Any], shard: str = "0"
    ) -> dict[str, list[dict[str, Any]]]:
        """Feed one batch of events (dicts or JSON) of ``shard``; the results now final."""
        return self.rows(self.process_batch(source, events, shard))

    def process_batch(
        self,
        source: str,
        payloads: Sequence[Any],
        shard: str = "0",
        metas: Sequence[RecordMeta] | None = None,
    ) -> Outputs:
        """``process`` with Arrow results and optional Kinesis attributes per record."""
        if source not in self.decoders:
            raise AnalyticsError(f"no query reads {source}")
        state = self.sources[source]
        state.idle.discard(shard)
        batch, malformed = self.decoders[source].decode(payloads, metas)
        state.events += len(payloads)
        state.malformed += malformed
        watermark = state.watermark()
        outputs: Outputs = {}
        if watermark is not None and batch.num_rows:
            on_time = _since(batch, watermark)
            if on_time.num_rows < batch.num_rows:
                state.late += batch.num_rows - on_time.num_rows
                self._side_output(outputs, source, batch, watermark)
            batch = on_time
        if batch.num_rows:
            moved = self._max_watermark(source, batch)
            before = state.shards.get(shard)
            if moved is not None:
                state.shards[shard] = moved if before is None else max(before, moved)
        for plan, query in zip(self.app.plans, self.queries, strict=True):
            if source not in plan.sources:
                continue
            if not plan.stateful:
                self._emit(outputs, plan, query, self._run(plan, {source: batch}))
                continue
            if batch.num_rows:
                held = query.buffers.get(source)
                query.buffers[source] = batch if held is None else pa.concat_tables([held, batch])
            watermark = self._query_watermark(plan)
            if watermark is not None:
                self._advance(outputs, plan, query, watermark)
        return outputs

    def _side_output(self, outputs: Outputs, source: str, batch: pa.Table, watermark: int) -> None:
        """Late rows go to the table named by the source's ``'late-events'`` option, if any."""
        sink = self.app.tables[source].options.get("late-events")
        if sink is not None:
            late = batch.filter(pc.invert(_at_or_after(batch, watermark)))
            outputs.setdefault(sink, []).append(late.drop_columns([ROWTIME]))

    def finish(self) -> dict[str, list[dict[str, Any]]]:
        """End of input: the watermark goes to +∞, every open window and join fires."""
        outputs: Outputs = {}
        for plan, query in zip(self.app.plans, self.queries, strict=True):
            if plan.stateful:
                self._advance(outputs, plan, query, None)
        return self.rows(outputs)

    # -- execution -----------------------------------------------------------------------

    def _max_watermark(self, source: str, batch: pa.Table) -> int | None:
        delay = self._delays[source]
        if delay is not None:  # WATERMARK FOR ts AS ts [- INTERVAL ...]: no SQL needed
            latest = pc.max(batch.column(ROWTIME)).as_py()
            return None if latest is None else to_micros(latest) - delay
        self.connection.register("__batch", batch)
        try:
            value = self.connection.sql(self._watermark_sql[source]).fetchall()
        finally:
            self.connection.unregister("__batch")
        return to_micros(value[0][0]) if value and value[0][0] is not None else None

    def _query_watermark(self, plan: Plan) -> int | None:
        """The minimum over the query's sources (idle ones aside); none until each has one."""
        active = [self.sources[n] for n in plan.sources if not self.sources[n].all_idle]
        marks = [source.watermark() for source in active]
        if not marks or any(mark is None for mark in marks):
            return None
        return min(mark for mark in marks if mark is not None)

    def _empty(self, source: str) -> pa.Table:
        return self.decoders[source].output_schema.empty_table()

    def _run(self, plan: Plan, tables: dict[str, pa.Table], where: str = "") -> pa.Table:
        """The plan's SQL over ``tables`` (by source), rows ordered, rowtime dropped."""
        for name in plan.sources:
            self.connection.register(source_relation(name), tables.get(name, self._empty(name)))
        try:
            if plan.stateful:
                sql = (
                    f"SELECT {ROWTIME}, * EXCLUDE ({ROWTIME}) FROM ({plan.sql}) {where} "
                    "ORDER BY ALL"
                )
                result = self.connection.sql(sql).to_arrow_table().drop_columns([ROWTIME])
            else:
                sql = f"SELECT * EXCLUDE ({ROWTIME}) FROM ({plan.sql}) {where}"
                result = self.connection.sql(sql).to_arrow_table()
        finally:
            for name in plan.sources:
                self.connection.unregister(source_relation(name))
        return result

    def _advance(
        self, outputs: Outputs, plan: Plan, query: QueryState, watermark: int | None
    ) -> None:
        """Emit what ``watermark`` (None: +∞) made final since the last emission; trim."""
        if watermark is not None and query.emitted is not None:
            if watermark <= query.emitted:
                return
            if plan.grid and watermark // plan.grid == query.emitted // plan.grid:
                return  # no window end in (emitted, watermark]: nothing can be final yet
        bounds = []
        if query.emitted is not None:
            bounds.append(f"{ROWTIME} >= make_timestamp({query.emitted})")
        if watermark is not None:
            bounds.append(f"{ROWTIME} < make_timestamp({watermark})")
        where = f"WHERE {' AND '.join(bounds)}" if bounds else ""
        self._emit(outputs, plan, query, self._run(plan, query.buffers, where))
        if watermark is None:
            query.buffers.clear()
            return
        query.emitted = watermark
        for source in list(query.buffers):
            query.buffers[source] = self._trim(plan, source, query.buffers[source], watermark)

    def _trim(self, plan: Plan, source: str, buffer: pa.Table, watermark: int) -> pa.Table:
        keep = f"{ROWTIME} >= make_timestamp({watermark - plan.retention})"
        if source in plan.sessions:
            windows = session_sql(plan.sessions[source], "SELECT * FROM __batch")
            sql = (
                f"SELECT * EXCLUDE (window_start, window_end, window_time) FROM ({windows}) "
                f"WHERE window_end > make_timestamp({watermark}) OR {keep}"
            )
        elif source in plan.versioned:
            by = ", ".join(f'"{key}"' for key in plan.versioned[source])
            older = f"CASE WHEN {ROWTIME} < make_timestamp({watermark}) THEN {ROWTIME} END"
            sql = (
                f"SELECT * FROM __batch QUALIFY {keep} OR {ROWTIME} >= make_timestamp({watermark})"
                f" OR {ROWTIME} = max({older}) OVER (PARTITION BY {by})"
            )
        else:
            return _since(buffer, watermark - plan.retention)
        self.connection.register("__batch", buffer)
        try:
            return self.connection.sql(sql).to_arrow_table().cast(buffer.schema)
        finally:
            self.connection.unregister("__batch")

    def _emit(self, outputs: Outputs, plan: Plan, query: QueryState, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        rows = _plain_numbers(rows)
        sink = self.app.tables[plan.sink]
        names = [c.name for c in sink.columns if c.computed is None]
        if names:
            rows = rows.rename_columns(names)  # INSERT maps columns by position
        query.rows_out += rows.num_rows
        outputs.setdefault(plan.sink, []).append(rows)

    @staticmethod
    def rows(outputs: Outputs) -> dict[str, list[dict[str, Any]]]:
        return {
            sink: [row for t in tables for row in t.to_pylist()] for sink, tables in outputs.items()
        }

    # -- batch (the oracle) --------------------------------------------------------------

    def run_batch(self, events: dict[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
        """Every query once over all events: no watermarks, nothing late."""
        tables = {}
        for name, payloads in events.items():
            if name in self.decoders:
                tables[name] = self.decoders[name].decode(payloads)[0]
        outputs: Outputs = {}
        for plan, query in zip(self.app.plans, self.queries, strict=True):
            self._emit(outputs, plan, query, self._run(plan, tables))
        return self.rows(outputs)

    # -- state and metrics ---------------------------------------------------------------

    def snapshot(self) -> dict[str, bytes]:
        return dump(self.sources, self.queries)

    def restore(self, blobs: dict[str, bytes]) -> None:
        self.sources = {name: SourceState() for name in self.sources}
        self.queries = [QueryState() for _ in self.app.plans]
        load(blobs, self.sources, self.queries)

    def watermark(self, source: str) -> int | None:
        return self.sources[source].watermark()

    def open_shard(self, source: str, shard: str) -> None:
        """A shard about to be read: the source's watermark waits for its first event."""
        self.sources[source].shards.setdefault(shard, None)

    def set_idle(self, source: str, shard: str) -> Outputs:
        """The shard is caught up and quiet (no event for the source's idle timeout): it no
        longer holds the watermark back until its next event. Returns what that made final."""
        state = self.sources[source]
        if shard in state.idle:
            return {}
        state.idle.add(shard)
        return self._refresh(source)

    def close_shard(self, source: str, shard: str) -> Outputs:
        """A shard read to its end no longer holds its source's watermark back."""
        self.sources[source].shards.pop(shard, None)
        self.sources[source].idle.discard(shard)
        return self._refresh(source)

    def _refresh(self, source: str) -> Outputs:
        """Emit what a move of the source's watermark made final."""
        outputs: Outputs = {}
        for plan, query in zip(self.app.plans, self.queries, strict=True):
            watermark = self._query_watermark(plan) if plan.stateful else None
            if source in plan.sources and watermark is not None:
                self._advance(outputs, plan, query, watermark)
        return outputs

    def metrics(self) -> dict[str, Any]:
        """Counters and gauges: events, late, malformed, watermarks, state size, rows out."""
        sources = {
            name: {
                "events": s.events,
                "late": s.late,
                "malformed": s.malformed,
                "watermark": _iso(s.watermark()),
            }
            for name, s in self.sources.items()
        }
        queries = [
            {
                "sink": plan.sink,
                "rows_out": q.rows_out,
                "state_rows": q.rows(),
                "state_bytes": q.bytes(),
                "emitted_until": _iso(q.emitted),
            }
            for plan, q in zip(self.app.plans, self.queries, strict=True)
        ]
        return {"sources": sources, "queries": queries}


def _at_or_after(table: pa.Table, moment: int) -> pa.Array:
    bound = pa.scalar(from_micros(moment), pa.timestamp("us"))
    return pc.greater_equal(table.column(ROWTIME), bound)


def _since(table: pa.Table, moment: int) -> pa.Table:
    """The rows whose rowtime is at or after ``moment`` (µs)."""
    return table.filter(_at_or_after(table, moment))


def _fixed_delay(table: Table) -> int | None:
    """The delay of a ``WATERMARK FOR ts AS ts [- INTERVAL ...]`` (µs); None if another form."""
    expression = table.watermark
    if isinstance(expression, exp.Column) and expression.name == table.watermark_column:
        return 0
    if (
        isinstance(expression, exp.Sub)
        and isinstance(expression.this, exp.Column)
        and expression.this.name == table.watermark_column
        and isinstance(expression.expression, exp.Interval)
    ):
        return micros(interval_of(expression.expression))
    return None


def _plain_numbers(rows: pa.Table) -> pa.Table:
    """DuckDB sums integers into HUGEINT (decimal(38, 0) in Arrow): BIGINT, as in Flink."""
    fields = []
    for item in rows.schema:
        kind = item.type
        if pa.types.is_decimal(kind) and kind.scale == 0:
            kind = pa.int64()
        fields.append(item.with_type(kind))
    schema = pa.schema(fields)
    return rows if schema == rows.schema else rows.cast(schema)


def _iso(value: int | None) -> str | None:
    return from_micros(value).isoformat() if value is not None else None
