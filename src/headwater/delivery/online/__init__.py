"""The online store: the latest value per entity key (last write by event time wins), TTL."""

from headwater.delivery.online.store import (
    Feature,
    OnlineStore,
    RedisStore,
    SQLiteStore,
    open_store,
)

__all__ = ["Feature", "OnlineStore", "RedisStore", "SQLiteStore", "open_store"]
