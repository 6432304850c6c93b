"""Shard iterators: sealed tokens naming (stream, shard, position, issue time)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from headwater.service.tokens import TokenSigner

_VERSION = 1
_HEADER = struct.Struct("<BQQQI")  # version, issued_ms, stream_created_ms, position, shard
ITERATOR_TTL_MS = 300_000


@dataclass(frozen=True, slots=True)
class IteratorState:
    stream_name: str
    stream_created_ms: int
    shard_index: int
    position: int
    issued_ms: int


class IteratorCodec:
    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def encode(self, state: IteratorState) -> str:
        header = _HEADER.pack(
            _VERSION,
            state.issued_ms,
            state.stream_created_ms,
            state.position,
            state.shard_index,
        )
        return self._signer.seal(header + state.stream_name.encode())

    def decode(self, token: str) -> IteratorState | None:
        """The state inside an iterator this server issued; None for anything else."""
        payload = self._signer.open(token)
        if payload is None or len(payload) < _HEADER.size:
            return None
        version, issued, created, position, shard = _HEADER.unpack_from(payload)
        if version != _VERSION:
            return None
        name = payload[_HEADER.size :].decode()
        return IteratorState(name, created, shard, position, issued)
