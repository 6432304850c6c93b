"""What exists: streams, their shards (hash ranges and lineage) and consumers, as JSON values.

Read straight from the service's registry (read-only). Hash keys stay decimal strings (they
exceed a double's precision) and come with their fraction of the key space for drawing.
"""

from __future__ import annotations

from headwater.service.consumers import consumer_status
from headwater.service.hashing import HASH_KEY_MAX
from headwater.service.model import Shard, Stream
from headwater.service.service import StreamService

_KEY_SPACE = HASH_KEY_MAX + 1


def _shard(shard: Shard) -> dict:
    return {
        "id": shard.shard_id,
        "start": shard.hash_start,
        "end": shard.hash_end,
        "from": int(shard.hash_start) / _KEY_SPACE,
        "to": (int(shard.hash_end) + 1) / _KEY_SPACE,
        "parent": shard.parent,
        "adjacent_parent": shard.adjacent_parent,
        "open": shard.is_open,
        "created_ms": shard.created_ms,
        "closed_ms": shard.closed_ms,
    }


def _stream(service: StreamService, stream: Stream, now_ms: int) -> dict:
    return {
        "name": stream.name,
        "status": stream.status(now_ms),
        "mode": stream.mode,
        "retention_hours": stream.retention_hours,
        "encryption": stream.encryption_type,
        "created_ms": stream.created_ms,
        "open_shards": stream.open_shard_count,
        "shards": [_shard(shard) for shard in stream.shards],
        "consumers": [
            {
                "name": consumer.name,
                "status": consumer_status(consumer, now_ms),
                "created_ms": consumer.created_ms,
            }
            for consumer in service.consumers.live(stream)
        ],
    }


def topology(service: StreamService) -> dict:
    """Every stream the registry holds (deleted ones vanish once their deletion is due)."""
    now_ms = service.clock.now_ms()
    streams = [
        stream
        for stream in service.registry.streams.values()
        if stream.deleting_at_ms is None or now_ms < stream.deleting_at_ms
    ]
    streams.sort(key=lambda s: s.name)
    return {"streams": [_stream(service, stream, now_ms) for stream in streams]}
