"""Python producer and consumer for Kinesis Data Streams (Headwater or AWS).

Speaks only the Kinesis API (JSON 1.1 over HTTP, SigV4-signed), so everything here works
against AWS Kinesis too. See docs/client.md.
"""

from headwater.client.aggregation import aggregate, deaggregate
from headwater.client.api import KinesisClient
from headwater.client.config import ClientConfig
from headwater.client.consumer import (
    Checkpointer,
    Consumer,
    ConsumerConfig,
    InitializationInput,
    ProcessRecordsInput,
    RecordProcessor,
    RecordProcessorBase,
    SQLiteLeaseStore,
    SyncConsumer,
    open_lease_store,
)
from headwater.client.errors import (
    BufferFullError,
    LeaseLostError,
    RecordExpiredError,
    RecordFailedError,
)
from headwater.client.positions import StartingPosition
from headwater.client.producer import Producer, ProducerConfig, SyncProducer
from headwater.client.records import PutResult, Record

__all__ = [
    "BufferFullError",
    "Checkpointer",
    "ClientConfig",
    "Consumer",
    "ConsumerConfig",
    "InitializationInput",
    "KinesisClient",
    "LeaseLostError",
    "ProcessRecordsInput",
    "Producer",
    "ProducerConfig",
    "PutResult",
    "Record",
    "RecordExpiredError",
    "RecordFailedError",
    "RecordProcessor",
    "RecordProcessorBase",
    "SQLiteLeaseStore",
    "StartingPosition",
    "SyncConsumer",
    "SyncProducer",
    "aggregate",
    "deaggregate",
    "open_lease_store",
]
