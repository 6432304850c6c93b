"""Opaque tokens (shard iterators, pagination tokens) sealed with an HMAC.

The key lives in the metadata store, so tokens survive restarts and every API node sharing
the store accepts them, while a forged or altered token is refused instead of trusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_MAC_BYTES = 16


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def seal(self, payload: bytes) -> str:
        return base64.b64encode(payload + self._mac(payload)).decode()

    def open(self, token: str) -> bytes | None:
        """The payload of a token this server sealed; None for anything else."""
        try:
            raw = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) < _MAC_BYTES:
            return None
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        return payload if hmac.compare_digest(mac, self._mac(payload)) else None
