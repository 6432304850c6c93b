"""The producer: buffered, paced, retried writes to one stream."""

from headwater.client.producer.config import ProducerConfig
from headwater.client.producer.metrics import ProducerMetrics
from headwater.client.producer.producer import Producer
from headwater.client.producer.sync import SyncProducer

__all__ = ["Producer", "ProducerConfig", "ProducerMetrics", "SyncProducer"]
