"""Embedded storage: per-shard segment files plus SQLite metadata, in one data directory."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from headwater.storage.local.group_commit import GroupCommitter
from headwater.storage.local.metadata import SqliteMetadataStore
from headwater.storage.local.shard_log import DEFAULT_SEGMENT_BYTES, LocalShardLog

__all__ = ["LocalShardLog", "LocalStorage"]

# Format 2: one frame per append (a batch of records). Format 1 (one frame per record) was
# never released; its files are refused rather than read as a torn tail and cut off.
SEGMENT_FORMAT = b"2"
_FORMAT_SETTING = "segment_format"


class LocalStorage:
    """The ``Storage`` backend for one data directory (one server process owns it)."""

    def __init__(self, data_dir: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.metadata = SqliteMetadataStore(data_dir / "metadata.sqlite")
        self._check_format()
        self._committer = GroupCommitter()
        self._segment_bytes = segment_bytes
        self._logs: dict[tuple[str, str], LocalShardLog] = {}
        self._opening = asyncio.Lock()

    def _check_format(self) -> None:
        """Refuse segment files this version cannot read; mark a new directory as ours."""
        found = self.metadata.load_setting(_FORMAT_SETTING)
        if found is None and any(self.data_dir.glob("streams/*/*/*.seg")):
            found = b"1"
        if found is None:
            self.metadata.save_setting(_FORMAT_SETTING, SEGMENT_FORMAT)
        elif found != SEGMENT_FORMAT:
            self.metadata.close()
            raise ValueError(
                f"{self.data_dir} holds segments in format {found.decode()}, and this version "
                f"reads format {SEGMENT_FORMAT.decode()} only: use a new --data-dir"
            )

    def _stream_dir(self, stream_id: str) -> Path:
        return self.data_dir / "streams" / stream_id

    async def open_shard(self, stream_id: str, shard_id: str) -> LocalShardLog:
        key = (stream_id, shard_id)
        async with self._opening:
            shard_log = self._logs.get(key)
            if shard_log is None:
                shard_log = LocalShardLog(
                    self._stream_dir(stream_id) / shard_id, self._committer, self._segment_bytes
                )
                await asyncio.to_thread(shard_log.recover)
                self._logs[key] = shard_log
        return shard_log

    async def drop_stream(self, stream_id: str) -> None:
        for key in [k for k in self._logs if k[0] == stream_id]:
            await self._logs.pop(key).close()
        await asyncio.to_thread(shutil.rmtree, self._stream_dir(stream_id), True)

    async def drop_shard(self, stream_id: str, shard_id: str) -> None:
        shard_log = self._logs.pop((stream_id, shard_id), None)
        if shard_log is not None:
            await shard_log.close()
        await asyncio.to_thread(shutil.rmtree, self._stream_dir(stream_id) / shard_id, True)

    async def close(self) -> None:
        for shard_log in self._logs.values():
            await shard_log.close()
        self._logs.clear()
        self.metadata.close()
