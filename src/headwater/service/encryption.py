"""Server-side encryption at rest: KMS key ids mapped to local AES-256 keys.

StartStreamEncryption names a key (id, ARN, alias or alias ARN). Keys come from a JSON file
(``--kms-keys``: ``{"alias/my-key": "<base64 of 32 bytes>", ...}``); ``alias/aws/kinesis``,
AWS' managed key, always exists and is generated once and kept in the metadata store. While a
stream is encrypted each record's partition key and data are sealed together with AES-GCM
(random 96-bit nonce; the stream and shard are authenticated as associated data), so segment
files never hold them in the clear; reads open them transparently.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from headwater.errors import InternalFailureException, KMSNotFoundException
from headwater.storage.base import MetadataStore

MANAGED_KEY_ALIAS = "alias/aws/kinesis"
CODEC_PLAIN = 0
CODEC_AES_GCM = 1
_NONCE_BYTES = 12
_FINGERPRINT_BYTES = 4
_KEY_LENGTH = struct.Struct(">H")


def _fingerprint(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_FINGERPRINT_BYTES]


def load_key_file(path: Path | None) -> dict[str, bytes]:
    """Key id → 32-byte key from a JSON file; a malformed file stops the server at start."""
    if path is None:
        return {}
    entries = msgspec.json.decode(path.read_bytes(), type=dict[str, str])
    keys = {}
    for key_id, encoded in entries.items():
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError(f"key {key_id!r} in {path} is not base64") from None
        if len(key) != 32:
            raise ValueError(f"key {key_id!r} in {path} must be 32 bytes (AES-256)")
        keys[key_id] = key
    return keys


class KeyRing:
    """Resolves KMS key names to keys and seals/opens records."""

    def __init__(self, keys: dict[str, bytes], metadata: MetadataStore) -> None:
        managed = metadata.load_setting("managed-kms-key")
        if managed is None:
            managed = os.urandom(32)
            metadata.save_setting("managed-kms-key", managed)
        self._by_name = {MANAGED_KEY_ALIAS: managed, **keys}
        self._by_fingerprint = {_fingerprint(k): AESGCM(k) for k in self._by_name.values()}

    def resolve(self, key_id: str) -> bytes:
        """The key a KeyId names: exactly, or by the id/alias at the end of an ARN."""
        if key_id in self._by_name:
            return self._by_name[key_id]
        if key_id.startswith("arn:"):
            tail = key_id.split(":", 5)[-1]  # "key/<id>" or "alias/<name>"
            candidates = (tail, tail.removeprefix("key/"))
            for candidate in candidates:
                if candidate in self._by_name:
                    return self._by_name[candidate]
        raise KMSNotFoundException(f"Key '{key_id}' does not exist")

    def seal(self, key: bytes, partition_key: bytes, data: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plain = _KEY_LENGTH.pack(len(partition_key)) + partition_key + data
        sealed = self._by_fingerprint[_fingerprint(key)].encrypt(nonce, plain, context)
        return _fingerprint(key) + nonce + sealed

    def open(self, blob: bytes, context: bytes) -> tuple[bytes, bytes]:
        """(partition key, data) of a sealed record."""
        fingerprint = blob[:_FINGERPRINT_BYTES]
        nonce = blob[_FINGERPRINT_BYTES : _FINGERPRINT_BYTES + _NONCE_BYTES]
        cipher = self._by_fingerprint.get(fingerprint)
        if cipher is None:
            raise InternalFailureException("the key that encrypted a record is not configured")
        try:
            plain = cipher.decrypt(nonce, blob[_FINGERPRINT_BYTES + _NONCE_BYTES :], context)
        except InvalidTag:
            raise InternalFailureException("a stored record failed authentication") from None
        (key_length,) = _KEY_LENGTH.unpack_from(plain)
        return plain[2 : 2 + key_length], plain[2 + key_length :]
