"""Firehose-like delivery: streams into files (JSON Lines, Parquet) and an online store.

See docs/delivery.md. Consumes through ``headwater.client`` only, so it works against AWS too.
"""

from headwater.delivery.config import ConfigError, DeliveryConfig, DeliveryStream, load_config
from headwater.delivery.online import OnlineStore, open_store
from headwater.delivery.runner import DeliveryRunner
from headwater.delivery.transform import Dropped, Ok, ProcessingFailed

__all__ = [
    "ConfigError",
    "DeliveryConfig",
    "DeliveryRunner",
    "DeliveryStream",
    "Dropped",
    "Ok",
    "OnlineStore",
    "ProcessingFailed",
    "load_config",
    "open_store",
]
