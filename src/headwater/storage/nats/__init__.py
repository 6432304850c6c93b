"""Distributed storage: one JetStream stream per shard, metadata in a JetStream KV bucket.

Several Headwater API nodes share one NATS cluster; each opens the shards it is asked about.
Nodes announce every append's new tail on a plain NATS subject so that the others' end
positions (LATEST iterators, GetRecords bounds, SubscribeToShard wake-ups) follow within a
message hop; JetStream itself remains the only source of truth.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.msg import Msg

from headwater.storage.nats.client import JetStreamClient, connect
from headwater.storage.nats.frames import BatchMeta
from headwater.storage.nats.metadata import KvMetadataStore
from headwater.storage.nats.settings import NatsSettings, parse_storage_url
from headwater.storage.nats.shard_log import NatsShardLog

__all__ = ["NatsSettings", "NatsShardLog", "NatsStorage", "parse_storage_url"]

log = logging.getLogger(__name__)


class NatsStorage:
    """The ``Storage`` backend over a NATS JetStream cluster."""

    def __init__(self, settings: NatsSettings) -> None:
        self.settings = settings
        self.metadata = KvMetadataStore(settings)
        self._client: JetStreamClient | None = None
        self._logs: dict[tuple[str, str], NatsShardLog] = {}
        # Shards being opened: creating an R3 stream takes tens of ms, so shards open
        # concurrently, and concurrent callers for one shard share its opening.
        self._opening: dict[tuple[str, str], asyncio.Future[NatsShardLog]] = {}
        self._connecting = asyncio.Lock()

    async def _connected(self) -> JetStreamClient:
        """The data-plane connection, made on first use on the serving loop."""
        async with self._connecting:
            if self._client is None:
                self._client = await self._connect()
        return self._client

    async def _connect(self) -> JetStreamClient:
        nc = await connect(self.settings, "headwater")
        await nc.subscribe(self.settings.tail_wildcard, cb=self._on_tail)
        return JetStreamClient(nc, self.settings)

    async def _on_tail(self, msg: Msg) -> None:
        """Another node's append: move that shard's tail on, if this node has it open."""
        _, _, stream_id, shard_id = msg.subject.split(".", 3)
        shard_log = self._logs.get((stream_id, shard_id))
        if shard_log is not None:
            seq, header = msg.data.decode().split(" ", 1)
            shard_log.learn(BatchMeta.parse(int(seq), header))

    async def open_shard(self, stream_id: str, shard_id: str) -> NatsShardLog:
        key = (stream_id, shard_id)
        shard_log = self._logs.get(key)
        if shard_log is not None:
            return shard_log
        opening = self._opening.get(key)
        if opening is None:
            opening = self._opening[key] = asyncio.ensure_future(self._open(key))
            opening.add_done_callback(lambda _: self._opening.pop(key, None))
        return await asyncio.shield(opening)

    async def _open(self, key: tuple[str, str]) -> NatsShardLog:
        stream_id, shard_id = key
        settings = self.settings
        shard_log = NatsShardLog(
            await self._connected(),
            settings.shard_stream(stream_id, shard_id),
            settings.shard_subject(stream_id, shard_id),
            settings.tail_subject(stream_id, shard_id),
            shard_id,
        )
        await shard_log.open()
        self._logs[key] = shard_log
        return shard_log

    async def drop_stream(self, stream_id: str) -> None:
        # Let shards still being opened finish first, so that none is created after the drop.
        opening = [future for key, future in self._opening.items() if key[0] == stream_id]
        await asyncio.gather(*opening, return_exceptions=True)
        for key in [k for k in self._logs if k[0] == stream_id]:
            del self._logs[key]
        client = await self._connected()
        for name in await client.stream_names(self.settings.stream_subjects(stream_id)):
            await client.delete_stream(name)

    async def drop_shard(self, stream_id: str, shard_id: str) -> None:
        self._logs.pop((stream_id, shard_id), None)
        client = await self._connected()
        await client.delete_stream(self.settings.shard_stream(stream_id, shard_id))

    async def close(self) -> None:
        self._logs.clear()
        client, self._client = self._client, None
        if client is not None:
            await client.nc.drain()
        self.metadata.close()
