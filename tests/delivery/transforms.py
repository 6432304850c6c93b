"""Transforms the delivery tests load by ``module:function``."""

from __future__ import annotations

from headwater.client import Record
from headwater.delivery import Dropped, Ok, ProcessingFailed


def by_remainder(record: Record):
    value = record.json()
    remainder = value["id"] % 3
    if remainder == 0:
        return Ok({**value, "doubled": value["id"] * 2})
    if remainder == 1:
        return Dropped()
    return ProcessingFailed(f"remainder {remainder}")
