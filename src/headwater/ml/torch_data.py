"""A PyTorch ``IterableDataset`` over a stream's shards, split across DataLoader workers.

Needs ``torch`` (imported here only, so the rest of ``headwater.ml`` works without it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from torch.utils.data import IterableDataset, get_worker_info

from headwater.client import KinesisClient
from headwater.client.positions import epoch_seconds
from headwater.ml.readers import iter_shard_rows


def assign_shards(shard_ids: list[str], worker: int, workers: int) -> list[str]:
    """The shards worker ``worker`` of ``workers`` reads: every shard goes to exactly one."""
    return sorted(shard_ids)[worker::workers]


class StreamShardDataset(IterableDataset):
    """Yields each record of a stream once per epoch, its shards spread over the workers.

    Every DataLoader worker lists the stream's shards (sorted by id) and reads the ones with
    ``index % num_workers == worker_id``, each from ``start`` (arrival; else TRIM_HORIZON) to
    ``end`` or the end of data, in shard order — so across workers every record comes exactly
    once. With ``num_workers=0`` the main process reads every shard. ``transform`` maps each
    row (the record's JSON fields plus ``_shard_id``, ``_sequence_number``, …) to a sample.
    More workers than shards leaves the extra workers idle.
    """

    def __init__(
        self,
        stream: str,
        *,
        start: datetime | float | None = None,
        end: datetime | float | None = None,
        source_type: str | None = None,
        source_type_field: str = "source_type",
        transform: Callable[[dict[str, Any]], Any] | None = None,
        timeout: float = 300.0,
        **client_options: Any,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.start = None if start is None else epoch_seconds(start)
        self.end = None if end is None else epoch_seconds(end)
        self.source_type = source_type
        self.source_type_field = source_type_field
        self.transform = transform
        self.timeout = timeout
        self.client_options = client_options

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        loop = asyncio.new_event_loop()  # one per worker process; pages are pulled lazily
        try:
            client = KinesisClient(**self.client_options)
            try:
                shards = loop.run_until_complete(client.list_shards(self.stream))
                mine = assign_shards([s.ShardId for s in shards], worker, workers)
                for shard_id in mine:
                    rows = iter_shard_rows(
                        client,
                        self.stream,
                        shard_id,
                        start=self.start,
                        end=self.end,
                        source_type=self.source_type,
                        source_type_field=self.source_type_field,
                        timeout=self.timeout,
                    )
                    while True:
                        try:
                            row = loop.run_until_complete(anext(rows))
                        except StopAsyncIteration:
                            break
                        yield row if self.transform is None else self.transform(row)
            finally:
                loop.run_until_complete(client.aclose())
        finally:
            loop.close()


__all__ = ["StreamShardDataset", "assign_shards"]
