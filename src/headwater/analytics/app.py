"""An analytics application: the tables, views and INSERTs of one SQL script, planned."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from headwater.analytics.catalog import Table, table_from
from headwater.analytics.dialect import CreateTable, CreateView, Insert, parse_script
from headwater.analytics.engine import Engine
from headwater.analytics.errors import AnalyticsError
from headwater.analytics.planner import Plan, plan_insert

if TYPE_CHECKING:
    from headwater.analytics.runtime import StreamRunner


@dataclass
class Application:
    tables: dict[str, Table]
    views: dict[str, exp.Query]
    plans: list[Plan]
    base_dir: Path

    @classmethod
    def from_sql(cls, text: str, base_dir: Path | str | None = None) -> Application:
        """Parse and plan a script (relative file paths resolve against ``base_dir``)."""
        tables: dict[str, Table] = {}
        views: dict[str, exp.Query] = {}
        plans: list[Plan] = []
        for statement in parse_script(text):
            if isinstance(statement, CreateTable):
                table = table_from(statement)
                if table.name in tables or table.name in views:
                    raise AnalyticsError(f"{table.name} is defined twice")
                tables[table.name] = table
            elif isinstance(statement, CreateView):
                views[statement.name] = statement.query
            elif isinstance(statement, Insert):
                plans.append(plan_insert(statement, tables, views))
        if not plans:
            raise AnalyticsError("the application has no INSERT INTO")
        for table in tables.values():
            late = table.options.get("late-events")
            if late is not None and (late not in tables or tables[late].is_reference):
                raise AnalyticsError(f"table {table.name}: 'late-events' names no sink table")
        return cls(tables, views, plans, Path(base_dir or Path.cwd()))

    @classmethod
    def from_file(cls, path: Path | str) -> Application:
        path = Path(path)
        return cls.from_sql(path.read_text(), base_dir=path.parent)

    @property
    def sources(self) -> list[str]:
        """The stream tables the application reads, in order of first use."""
        return list(dict.fromkeys(name for plan in self.plans for name in plan.sources))

    def explain(self) -> str:
        return "\n\n".join(plan.explain() for plan in self.plans)

    def engine(self) -> Engine:
        return Engine(self)

    def run(self, batches: Iterable[tuple[str, Sequence[Any]]]) -> dict[str, list[dict[str, Any]]]:
        """Each ``(source, events)`` batch in order, then the end of input: every result."""
        engine = self.engine()
        results: dict[str, list[dict[str, Any]]] = {}
        for source, events in batches:
            for sink, rows in engine.process(source, events).items():
                results.setdefault(sink, []).extend(rows)
        for sink, rows in engine.finish().items():
            results.setdefault(sink, []).extend(rows)
        return results

    def run_batch(self, events: dict[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
        """The queries once over all events in DuckDB (the reference a continuous run meets)."""
        return self.engine().run_batch(events)

    def runner(self, **options: Any) -> StreamRunner:
        """Run against streams: ``endpoint_url``, ``region``, ``state_dir``, ... (see runtime)."""
        from headwater.analytics.runtime import RunnerConfig, StreamRunner

        return StreamRunner(self, RunnerConfig(**options))
