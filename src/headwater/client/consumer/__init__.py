"""The KCL-style consumer: leases, shard processors, polling and fan-out readers."""

from headwater.client.consumer.checkpointer import Checkpointer
from headwater.client.consumer.config import FANOUT, POLLING, ConsumerConfig
from headwater.client.consumer.consumer import Consumer
from headwater.client.consumer.leases import (
    Checkpoint,
    Lease,
    LeaseScope,
    LeaseStore,
    SQLiteLeaseStore,
    open_lease_store,
)
from headwater.client.consumer.processor import (
    InitializationInput,
    ProcessRecordsInput,
    RecordProcessor,
    RecordProcessorBase,
)
from headwater.client.consumer.sync import SyncConsumer

__all__ = [
    "FANOUT",
    "POLLING",
    "Checkpoint",
    "Checkpointer",
    "Consumer",
    "ConsumerConfig",
    "InitializationInput",
    "Lease",
    "LeaseScope",
    "LeaseStore",
    "ProcessRecordsInput",
    "RecordProcessor",
    "RecordProcessorBase",
    "SQLiteLeaseStore",
    "SyncConsumer",
    "open_lease_store",
]
