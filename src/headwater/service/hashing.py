"""The 128-bit hash-key space: partition keys are MD5-hashed into it, shards own ranges."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

try:
    # CPython's built-in MD5: 4x faster than hashlib's OpenSSL one on 1-256 byte keys (no
    # EVP context set-up per call), and routing hashes every record's partition key.
    from _md5 import md5
except ImportError:  # pragma: no cover - interpreters without the built-in module
    from hashlib import md5

HASH_KEY_MAX = (1 << 128) - 1
HASH_KEY_BYTES = 16
_digest = type(md5(b"")).digest


def hash_key_digests(partition_keys: Iterable[bytes]) -> Iterator[bytes]:
    """Each key's hash key, Kinesis' MD5 of it, as the digest's 16 big-endian bytes: these
    order as the integers do, so routing compares them and makes no integer per record."""
    return map(_digest, map(md5, partition_keys))


def even_ranges(count: int, start: int = 0, end: int = HASH_KEY_MAX) -> list[tuple[int, int]]:
    """Split [start, end] into ``count`` contiguous ranges of equal size, as AWS does.

    The last range absorbs the remainder.
    """
    width = (end - start + 1) // count
    ranges = [(start + i * width, start + (i + 1) * width - 1) for i in range(count)]
    ranges[-1] = (ranges[-1][0], end)
    return ranges
