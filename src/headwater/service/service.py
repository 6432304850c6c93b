"""The stream service: wiring of registry, data plane and housekeeping over a storage backend."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from headwater.service.autoscale import OnDemandScaler
from headwater.service.clock import Clock, SystemClock
from headwater.service.config import ServiceConfig
from headwater.service.consumers import ConsumerRegistry
from headwater.service.encryption import KeyRing
from headwater.service.iterators import IteratorCodec
from headwater.service.metrics import KinesisMetrics
from headwater.service.model import Stream
from headwater.service.records import HOUR_MS, RecordPlane
from headwater.service.registry import StreamRegistry
from headwater.service.resharding import Resharder
from headwater.service.subscriptions import Subscriptions
from headwater.service.tokens import TokenSigner
from headwater.storage.base import Storage

log = logging.getLogger(__name__)

_TOKEN_KEY_SETTING = "token-key"


class StreamService:
    """Everything an API handler needs: streams, records, clock and settings."""

    def __init__(
        self,
        storage: Storage,
        config: ServiceConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.storage = storage
        self.config = config or ServiceConfig()
        self.clock = clock or SystemClock()
        self.registry = StreamRegistry(storage, self.clock, self.config)
        self.signer = TokenSigner(self._token_key())
        self.keys = KeyRing(self.config.kms_keys, storage.metadata)
        self.metrics = KinesisMetrics()
        self.records = RecordPlane(
            self.registry, IteratorCodec(self.signer), self.keys, self.metrics
        )
        self.resharder = Resharder(self.registry)
        self.consumers = ConsumerRegistry(self.registry, self.config.consumer_delay_ms)
        self.subscriptions = Subscriptions(self.records, self.consumers)
        self.control_lock = asyncio.Lock()
        self.scaler = OnDemandScaler(self)
        self._housekeeping: asyncio.Task[None] | None = None

    def _token_key(self) -> bytes:
        key = self.storage.metadata.load_setting(_TOKEN_KEY_SETTING)
        if key is None:
            key = os.urandom(32)
            self.storage.metadata.save_setting(_TOKEN_KEY_SETTING, key)
        return key

    async def start(self) -> None:
        self.registry.load()
        log.info("service started", extra={"streams": len(self.registry.streams)})
        self._housekeeping = asyncio.create_task(self._housekeeping_loop())
        self.scaler.start()

    async def close(self) -> None:
        await self.scaler.stop()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.storage.close()

    async def housekeep(self) -> None:
        """Finish due deletions and drop segments older than each stream's retention."""
        now = self.clock.now_ms()
        for stream in list(self.registry.streams.values()):
            if stream.deleting_at_ms is not None:
                if now >= stream.deleting_at_ms:
                    self.registry.forget(stream)
                continue
            cutoff = now - stream.retention_hours * HOUR_MS
            await self._drop_aged_shards(stream, cutoff)
            for shard in stream.shards:
                shard_log = await self.registry.shard_log(stream, shard)
                await shard_log.trim_before(cutoff)

    async def _drop_aged_shards(self, stream: Stream, cutoff_ms: int) -> None:
        """Closed shards whose every record is past retention disappear, data and all."""
        aged = [
            s
            for s in stream.shards
            if s.closed_ms is not None and s.closed_ms < cutoff_ms and s.end_position is not None
        ]
        if not aged:
            return
        async with self.control_lock:
            for shard in aged:
                stream.shards.remove(shard)
                await self.registry.drop_shard_data(stream, shard)
            self.registry.save(stream)
            log.info("aged out stream=%s shards=%s", stream.name, [s.shard_id for s in aged])

    async def _housekeeping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.housekeeping_interval_s)
            try:
                await self.housekeep()
            except Exception:
                log.exception("housekeeping failed")
