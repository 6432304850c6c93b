"""Consumer applications' lag as Prometheus gauges, refreshed from their lease stores.

A process that can reach the lease stores (the Headwater server with ``--lag-lease-store``,
or any process of the user's) runs ``LagWatcher``; every ``interval`` seconds it lists the
applications in each store and measures their lag per shard through the Kinesis API
(``headwater.client.consumer.lag``), so a stopped or crashed application shows its growing
lag as well as a running one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import Gauge

from headwater.client.api import KinesisClient
from headwater.client.consumer.lag import shard_lags
from headwater.client.consumer.leases import open_lease_store
from headwater.errors import KinesisError

log = logging.getLogger(__name__)

#: Shards reported per refresh, across every application: bounds a store's cost on scrapes.
MAX_SHARDS = 10_000


class LagWatcher:
    """Sets ``gauge`` (labels: application, stream, shard) from the lease stores."""

    def __init__(
        self, lease_stores: list[str], gauge: Gauge, interval: float = 15.0, **client_options: Any
    ) -> None:
        self.lease_stores = lease_stores
        self.gauge = gauge
        self.interval = interval
        self.client_options = client_options
        self._reported: set[tuple[str, str, str]] = set()

    async def refresh(self) -> int:
        """Measure every application once; returns the number of shards measured."""
        seen: set[tuple[str, str, str]] = set()
        async with KinesisClient(**self.client_options) as client:
            for location in self.lease_stores:
                store = open_lease_store(location)
                await store.open()
                try:
                    for scope in await store.list_scopes():
                        if len(seen) >= MAX_SHARDS:
                            break
                        try:
                            lags = await shard_lags(client, store, scope.application, scope.stream)
                        except KinesisError as error:  # the stream is gone, say
                            log.info("lag of %s on %s: %s", scope.application, scope.stream, error)
                            continue
                        for lag in lags:
                            if lag.millis_behind is None:
                                continue
                            labels = (scope.application, scope.stream, lag.shard_id)
                            self.gauge.labels(*labels).set(lag.millis_behind)
                            seen.add(labels)
                finally:
                    await store.close()
        for labels in self._reported - seen:  # shards and applications that left
            self.gauge.remove(*labels)
        self._reported = seen
        return len(seen)

    async def run(self) -> None:
        """Refresh every interval until cancelled (the first after one interval, once the
        server it may call is listening); a failed round is logged and retried."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception as error:  # a lease store down must not stop the server
                log.warning("consumer lag refresh failed: %r", error)
