"""The web dashboard: a page served by the server itself, fed by JSON and SSE endpoints.

It reads the stream service in-process and read-only (streams, shard lineage, counters,
records through the service's read path); it never changes anything.
"""

from headwater.dashboard.routes import Dashboard

__all__ = ["Dashboard"]
