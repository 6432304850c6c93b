"""From a parsed INSERT to an executable plan: DuckDB SQL that carries each row's *rowtime*.

Every relation of the query gets a hidden column ``__rt``: the event time after which the
row can no longer change. A source row's rowtime is its event time; a window aggregate's
is ``window_end - 1 µs``; a join's is the greatest rowtime of the rows it joins (a
temporal join's is the probe side's). With watermark ``W`` (no event older than ``W`` will
come), every output row with ``__rt < W`` is final. So a stateful query is run over its
buffered input and emits the rows whose rowtime lies in ``[W_previous, W)``: each result
exactly once, as it becomes final — the same rows a batch run over all events gives.

Buffered input is trimmed to what an unfinished result can still use: rows younger than
``W - retention`` (retention = the longest window or join interval of the query), rows of
open sessions, and the latest version per key of a temporal join's versioned table.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from headwater.analytics.catalog import Table, interval_of
from headwater.analytics.dialect import TVF_PREFIX, Insert
from headwater.analytics.errors import AnalyticsError
from headwater.analytics.functions import to_duckdb
from headwater.analytics.windows import WINDOW_COLUMNS, WindowSpec, micros, spec_of, window_sql

ROWTIME = "__rt"
SOURCE_PREFIX = "__src_"
REFERENCE_PREFIX = "__ref_"


def source_relation(name: str) -> str:
    return f"{SOURCE_PREFIX}{name}"


def reference_relation(name: str) -> str:
    return f"{REFERENCE_PREFIX}{name}"


@dataclass
class _Relation:
    """What the planner knows of a relation: does it stream, which columns are windows."""

    streaming: bool
    starts: set[str] = field(default_factory=set)
    ends: dict[str, int | None] = field(default_factory=dict)  # window_end column → grid
    grid: int | None = None  # every rowtime is a multiple of this, minus 1 µs (None: any)


@dataclass
class Plan:
    """One INSERT: its DuckDB SQL (with ``__rt``) and the state it needs."""

    sink: str
    text: str
    sql: str
    sources: tuple[str, ...]
    references: tuple[str, ...]
    stateful: bool
    retention: int  # µs
    sessions: dict[str, WindowSpec]
    versioned: dict[str, tuple[str, ...]]  # versioned source → its primary key
    grid: int | None = None  # results become final only as the watermark crosses multiples

    def explain(self) -> str:
        if self.stateful:
            kind = "stateful: emits results once the watermark passes them"
        else:
            kind = "stateless: emits per record"
        lines = [
            f"INSERT INTO {self.sink}",
            f"  mode: {kind}",
            f"  sources: {', '.join(self.sources)}",
        ]
        if self.references:
            lines.append(f"  reference tables: {', '.join(self.references)}")
        if self.stateful:
            lines.append(f"  state kept: rows younger than watermark - {self.retention / 1e6:g} s")
        for source, spec in self.sessions.items():
            lines.append(f"  + open sessions of {source} (gap {spec.size / 1e6:g} s)")
        for source, keys in self.versioned.items():
            lines.append(f"  + latest version per {', '.join(keys)} of {source}")
        pretty = sqlglot.transpile(self.sql, read="duckdb", write="duckdb", pretty=True)[0]
        lines.append("  DuckDB SQL:")
        lines.extend(f"    {line}" for line in pretty.splitlines())
        return "\n".join(lines)


class _Rewriter:
    """Rewrites a query in place: sources → buffers, TVFs → SQL, ``__rt`` everywhere."""

    def __init__(self, tables: dict[str, Table], views: dict[str, exp.Query]) -> None:
        self.tables = tables
        self.views = views
        self.sources: list[str] = []
        self.references: list[str] = []
        self.sessions: dict[str, WindowSpec] = {}
        self.versioned: dict[str, tuple[str, ...]] = {}
        self.spans: list[int] = [0]
        self.stateful = False
        self._names = itertools.count()

    def query(self, node: exp.Expression) -> _Relation:
        if isinstance(node, exp.Subquery):
            return self.query(node.this)
        if isinstance(node, exp.Union):
            if node.args.get("distinct"):
                raise AnalyticsError("UNION needs windows to be bounded; use UNION ALL")
            left, right = self.query(node.this), self.query(node.expression)
            if left.streaming != right.streaming:
                raise AnalyticsError("UNION ALL of a stream and a reference table")
            ends = {k: _gcd(v, right.ends[k]) for k, v in left.ends.items() if k in right.ends}
            grid = _gcd(left.grid, right.grid)
            return _Relation(left.streaming, left.starts & right.starts, ends, grid)
        if isinstance(node, exp.Select):
            return self._select(node)
        raise AnalyticsError(f"unsupported query: {node.sql()[:80]}")

    def _alias(self, item: exp.Expression, default: str | None = None) -> str:
        return item.alias or default or f"__r{next(self._names)}"

    def _named(self, name: str, alias: str) -> tuple[exp.Expression, _Relation]:
        """A table or view by name, as a FROM item under ``alias``."""
        if name in self.views:
            query = to_duckdb(self.views[name])  # a copy, Flink functions translated
            relation = self.query(query)
            return exp.Subquery(this=query, alias=exp.TableAlias(this=_ident(alias))), relation
        table = self.tables.get(name)
        if table is None:
            raise AnalyticsError(f"unknown table {name}")
        if table.is_reference:
            _append_once(self.references, name)
            return exp.Table(this=_ident(reference_relation(name)), alias=_table_alias(alias)), (
                _Relation(False)
            )
        if not table.is_stream:
            raise AnalyticsError(f"table {name} ({table.connector}) can only be written")
        if table.watermark_column is None:
            raise AnalyticsError(f"table {name} is read as a stream: it needs a WATERMARK")
        _append_once(self.sources, name)
        return exp.Table(this=_ident(source_relation(name)), alias=_table_alias(alias)), (
            _Relation(True)
        )

    def _window(self, call: exp.Anonymous, alias: str) -> tuple[exp.Expression, _Relation]:
        spec = spec_of(call.name[len(TVF_PREFIX) :].upper(), list(call.expressions))
        inner, relation = self._named(spec.table, spec.table)
        if not relation.streaming:
            raise AnalyticsError(f"{spec.kind} over a reference table")
        self.spans.append(spec.span)
        if spec.kind == "SESSION":
            if spec.table not in self.tables or spec.table in self.sessions:
                raise AnalyticsError("SESSION reads a stream table directly, once per query")
            self.sessions[spec.table] = spec
            self.stateful = True
        source = exp.select("*").from_(inner).sql("duckdb")
        windowed = sqlglot.parse_one(window_sql(spec, source), read="duckdb")
        node = exp.Subquery(this=windowed, alias=exp.TableAlias(this=_ident(alias)))
        return node, _Relation(True, {"window_start"}, {"window_end": spec.grid})

    def _relation(self, item: exp.Expression) -> tuple[exp.Expression, str, _Relation]:
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Anonymous):
            if not item.this.name.upper().startswith(TVF_PREFIX):
                raise AnalyticsError(f"unsupported table function {item.this.name}")
            alias = self._alias(item)
            node, relation = self._window(item.this, alias)
            return node, alias, relation
        if isinstance(item, exp.Table):
            alias = self._alias(item, item.name)
            node, relation = self._named(item.name, alias)
            return node, alias, relation
        if isinstance(item, exp.Subquery):
            alias = self._alias(item)
            relation = self.query(item.this)
            item.set("alias", exp.TableAlias(this=_ident(alias)))
            return item, alias, relation
        raise AnalyticsError(f"unsupported FROM item: {item.sql()[:80]}")

    def _temporal(self, join: exp.Join, probe_time: exp.Expression) -> str:
        """``JOIN t FOR SYSTEM_TIME AS OF probe.ts`` → DuckDB ``ASOF JOIN`` on t's time."""
        item = join.this
        table = self.tables.get(item.name)
        if table is None or not table.is_stream or not table.primary_key:
            raise AnalyticsError(
                "FOR SYSTEM_TIME AS OF needs a stream table with a PRIMARY KEY and WATERMARK"
            )
        item.set("version", None)
        alias = self._alias(item, item.name)
        node, _ = self._named(item.name, alias)
        join.set("this", node)
        join.set("method", "ASOF")
        assert table.watermark_column is not None
        time = exp.column(table.watermark_column, table=alias, quoted=True)
        bound = exp.GTE(this=probe_time.copy(), expression=time)
        on = join.args.get("on")
        join.set("on", exp.and_(on, bound) if on is not None else bound)
        self.versioned[item.name] = tuple(table.primary_key)
        return alias

    def _select(self, node: exp.Select) -> _Relation:
        inputs: list[tuple[str, _Relation]] = []
        versioned: set[str] = set()
        from_ = node.args.get("from_")
        if from_ is None:
            raise AnalyticsError("a query needs FROM")
        new, alias, relation = self._relation(from_.this)
        from_.set("this", new)
        inputs.append((alias, relation))
        for join in node.args.get("joins") or []:
            version = join.this.args.get("version") if isinstance(join.this, exp.Table) else None
            if version is not None:
                alias = self._temporal(join, version.expression)
                versioned.add(alias)
                inputs.append((alias, _Relation(True)))
                continue
            new, alias, relation = self._relation(join.this)
            join.set("this", new)
            inputs.append((alias, relation))
        if not any(relation.streaming for _, relation in inputs):
            return _Relation(False)
        starts = set().union(*(r.starts for _, r in inputs))
        ends: dict[str, int | None] = {}
        for _, r in inputs:
            for name, grid in r.ends.items():
                ends[name] = _gcd(grid, ends[name]) if name in ends else grid
        _check_over(node, starts | set(ends))
        relation = _Relation(True)
        if node.args.get("group") or any(e.find(exp.AggFunc) for e in node.expressions):
            rowtime, relation.grid = self._window_rowtime(node, ends)
        else:
            rowtime = self._join_rowtime(node, inputs, versioned, starts | set(ends))
            streams = [r for a, r in inputs if r.streaming and a not in versioned]
            relation.grid = functools.reduce(_gcd, (r.grid for r in streams))
        for projection in node.expressions:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            star = _star(inner)
            if star is not None:
                owner = inner.table if isinstance(inner, exp.Column) else ""
                if not owner or dict(inputs).get(owner, _Relation(True)).streaming:
                    star.set("except_", [exp.column(ROWTIME)])  # the rowtime stays hidden
                relation.starts |= starts
                relation.ends |= ends
            elif isinstance(inner, exp.Column):
                if inner.name in starts:
                    relation.starts.add(projection.alias_or_name)
                if inner.name in ends:
                    relation.ends[projection.alias_or_name] = ends[inner.name]
        node.select(exp.alias_(rowtime, ROWTIME), copy=False)
        return relation

    def _window_rowtime(
        self, node: exp.Select, ends: dict[str, int | None]
    ) -> tuple[exp.Expression, int | None]:
        """``window_end - 1 µs`` of the grouped window, and the grid its ends lie on."""
        if node.args.get("having") is None and not node.args.get("group"):
            raise AnalyticsError("an aggregate over a stream needs GROUP BY window_end")
        group = node.args["group"].expressions
        end = next((g for g in group if isinstance(g, exp.Column) and g.name in ends), None)
        if end is None:
            raise AnalyticsError(
                "GROUP BY over a stream must include window_start and window_end of a window "
                "table function (TUMBLE, HOP, CUMULATE, SESSION); results are append-only"
            )
        self.stateful = True
        rowtime = exp.Sub(
            this=end.copy(),
            expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.var("MICROSECOND")),
        )
        return rowtime, ends[end.name]

    def _join_rowtime(
        self,
        node: exp.Select,
        inputs: list[tuple[str, _Relation]],
        versioned: set[str],
        window_columns: set[str],
    ) -> exp.Expression:
        if node.args.get("distinct"):
            raise AnalyticsError("SELECT DISTINCT over a stream needs a window GROUP BY")
        streams = [a for a, r in inputs if r.streaming and a not in versioned]
        if versioned:
            self.stateful = True
        if len(streams) > 1:
            self.stateful = True
            conditions = [j.args.get("on") for j in node.args.get("joins") or []]
            conditions.append(node.args.get("where"))
            bounds = [c for c in conditions if c is not None]
            intervals = [i for c in bounds for i in c.find_all(exp.Interval)]
            windowed = any(
                col.name in window_columns or col.name in WINDOW_COLUMNS
                for c in bounds
                for col in c.find_all(exp.Column)
            )
            if not intervals and not windowed:
                raise AnalyticsError(
                    "a join of two streams needs a time bound: an interval join "
                    "(a.ts BETWEEN b.ts - INTERVAL ... AND b.ts + INTERVAL ...) or a window join"
                )
            self.spans.extend(micros(interval_of(i)) for i in intervals)
        columns = [exp.column(ROWTIME, table=alias, quoted=True) for alias in streams]
        if len(columns) == 1:
            return columns[0]
        return exp.func("GREATEST", *columns)


def _check_over(node: exp.Select, window_columns: set[str]) -> None:
    """``OVER`` on a stream only within a window (window Top-N): a window's rows are all
    there when it is emitted; other partitions would see a changing part of the stream."""
    for over in (w for e in node.expressions for w in e.find_all(exp.Window)):
        keys = {c.name for p in over.args.get("partition_by") or [] for c in p.find_all(exp.Column)}
        if not keys & window_columns:
            raise AnalyticsError(
                "OVER (...) on a stream must PARTITION BY window_start, window_end"
            )


def _gcd(a: int | None, b: int | None) -> int | None:
    return math.gcd(a, b) if a and b else None


def _star(node: exp.Expression) -> exp.Star | None:
    """The star of ``*`` or ``t.*``."""
    if isinstance(node, exp.Star):
        return node
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
        return node.this
    return None


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=name.startswith("__"))


def _table_alias(name: str) -> exp.TableAlias:
    return exp.TableAlias(this=_ident(name))


def _append_once(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)


def plan_insert(insert: Insert, tables: dict[str, Table], views: dict[str, exp.Query]) -> Plan:
    """The plan of one ``INSERT INTO sink SELECT ...``."""
    sink = tables.get(insert.sink)
    if sink is None:
        raise AnalyticsError(f"INSERT INTO {insert.sink}: no such table")
    if sink.is_reference:
        raise AnalyticsError(f"INSERT INTO {insert.sink}: reference tables are read-only")
    query = to_duckdb(insert.query)
    rewriter = _Rewriter(tables, views)
    relation = rewriter.query(query)
    if not relation.streaming:
        raise AnalyticsError(f"INSERT INTO {insert.sink}: the query reads no stream")
    return Plan(
        sink=insert.sink,
        text=insert.text,
        sql=query.sql("duckdb"),
        sources=tuple(rewriter.sources),
        references=tuple(rewriter.references),
        stateful=rewriter.stateful,
        retention=max(rewriter.spans),
        sessions=rewriter.sessions,
        versioned=rewriter.versioned,
        grid=relation.grid,
    )
