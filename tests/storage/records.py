"""Record columns the storage tests append: distinct keys, data that says where it belongs."""

from __future__ import annotations


def columns(n: int, size: int = 100, tag: str = "r") -> tuple[list[bytes], list[bytes]]:
    """(keys, datas) of ``n`` records: keys ``{tag}{i}``, data ``size`` bytes of ``i % 251``."""
    return [f"{tag}{i}".encode() for i in range(n)], [bytes([i % 251]) * size for i in range(n)]
