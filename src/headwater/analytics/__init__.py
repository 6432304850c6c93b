"""Continuous SQL over streams: a subset of Flink SQL, run on DuckDB micro-batches.

See docs/analytics.md for the dialect. The Python API::

    from headwater.analytics import Application

    app = Application.from_sql(text, base_dir=None)  # parse and plan; AnalyticsError if not
    app = Application.from_file("app.sql")            # base_dir: the file's directory
    print(app.explain())                              # the plan of every INSERT

    # In memory, no server (tests, benchmarks):
    engine = app.engine()                             # state, watermarks, one DuckDB connection
    out = engine.process("bids", events, shard="0")   # events: dicts, or JSON bytes/str
    # -> dict[sink table name, list[dict]]: the rows that became final with this batch
    out = engine.finish()                             # end of input: every open window fires
    engine.metrics()                                  # events, late, malformed, state rows, ...

    app.run([("bids", events), ...])                  # process each batch, then finish
    app.run_batch({"bids": events, ...})              # the query once over all events (oracle)

    # Against streams (Headwater or AWS):
    runner = app.runner(endpoint_url="http://127.0.0.1:4567", state_dir="state",
                        name="app", checkpoint_interval=1.0)  # runtime.RunnerConfig fields
    await runner.run()                                # until runner.stop()
    runner.metrics()                                  # + events/s, watermark lag, checkpoint

Output rows are dicts; TIMESTAMP values are naive UTC ``datetime`` objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.analytics.app import Application
    from headwater.analytics.errors import AnalyticsError

__all__ = ["AnalyticsError", "Application"]


def __getattr__(name: str) -> Any:
    """Lazy: ``headwater.analytics.spark`` must not pay for DuckDB and sqlglot."""
    if name == "Application":
        from headwater.analytics.app import Application

        return Application
    if name == "AnalyticsError":
        from headwater.analytics.errors import AnalyticsError

        return AnalyticsError
    raise AttributeError(name)
