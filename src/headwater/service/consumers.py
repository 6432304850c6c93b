"""Enhanced fan-out consumers: registration, ARNs, states and lookup."""

from __future__ import annotations

from headwater.errors import (
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from headwater.service.model import Consumer, Stream
from headwater.service.registry import WRITABLE_STATES, StreamRegistry

MAX_CONSUMERS_PER_STREAM = 20
MAX_CONSUMERS_CREATING = 5
STATUS_CREATING = "CREATING"
STATUS_ACTIVE = "ACTIVE"
STATUS_DELETING = "DELETING"


def consumer_status(consumer: Consumer, now_ms: int) -> str:
    if consumer.deleting_at_ms is not None:
        return STATUS_DELETING
    return STATUS_CREATING if now_ms < consumer.ready_at_ms else STATUS_ACTIVE


class ConsumerRegistry:
    """Consumers live inside their stream's document; this finds and changes them."""

    def __init__(self, registry: StreamRegistry, delay_ms: int = 0) -> None:
        self.registry = registry
        self.delay_ms = delay_ms

    @property
    def _account(self) -> str:
        return self.registry.config.account_id

    def arn(self, stream: Stream, consumer: Consumer) -> str:
        stream_arn = self.registry.config.stream_arn(stream.name)
        return f"{stream_arn}/consumer/{consumer.name}:{consumer.created_ms // 1000}"

    def live(self, stream: Stream) -> list[Consumer]:
        """The stream's consumers, dropping those whose deregistration completed."""
        now = self.registry.clock.now_ms()
        kept = [c for c in stream.consumers if c.deleting_at_ms is None or now < c.deleting_at_ms]
        if len(kept) != len(stream.consumers):
            stream.consumers = kept
            self.registry.save(stream)
        return kept

    def register(self, stream: Stream, name: str) -> Consumer:
        self.registry.require_state(stream, WRITABLE_STATES)
        consumers = self.live(stream)
        now = self.registry.clock.now_ms()
        if any(c.name == name for c in consumers):
            raise ResourceInUseException(
                f"Consumer {name} under stream {stream.name} already exists for account "
                f"{self._account}."
            )
        if len(consumers) >= MAX_CONSUMERS_PER_STREAM:
            raise LimitExceededException(
                f"Stream {stream.name} under account {self._account} already has "
                f"{MAX_CONSUMERS_PER_STREAM} registered consumers, the maximum."
            )
        creating = sum(1 for c in consumers if consumer_status(c, now) == STATUS_CREATING)
        if creating >= MAX_CONSUMERS_CREATING:
            raise LimitExceededException(
                f"Stream {stream.name} under account {self._account} already has "
                f"{MAX_CONSUMERS_CREATING} consumers in CREATING status."
            )
        consumer = Consumer(name=name, created_ms=now, ready_at_ms=now + self.delay_ms)
        stream.consumers.append(consumer)
        self.registry.save(stream)
        return consumer

    def deregister(self, stream: Stream, consumer: Consumer) -> None:
        now = self.registry.clock.now_ms()
        if self.delay_ms:
            consumer.deleting_at_ms = now + self.delay_ms
        else:
            stream.consumers.remove(consumer)
        self.registry.save(stream)

    def find(self, request: dict) -> tuple[Stream, Consumer]:
        """By ConsumerARN, or by StreamARN plus ConsumerName."""
        consumer_arn = request.get("ConsumerARN")
        if consumer_arn is not None:
            return self._by_arn(consumer_arn)
        if "StreamARN" not in request or "ConsumerName" not in request:
            raise InvalidArgumentException(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided."
            )
        stream = self.registry.get(self.registry.name_from_arn(request["StreamARN"]))
        name = request["ConsumerName"]
        for consumer in self.live(stream):
            if consumer.name == name:
                return stream, consumer
        raise self._not_found(name)

    def _by_arn(self, consumer_arn: str) -> tuple[Stream, Consumer]:
        stream_arn, marker, rest = consumer_arn.partition("/consumer/")
        name, _, created_s = rest.rpartition(":")
        if not marker or not name or not created_s.isdigit():
            raise self._not_found(consumer_arn)
        try:
            stream = self.registry.get(self.registry.name_from_arn(stream_arn))
        except ResourceNotFoundException:
            raise self._not_found(consumer_arn) from None
        for consumer in self.live(stream):
            if consumer.name == name and consumer.created_ms // 1000 == int(created_s):
                return stream, consumer
        raise self._not_found(consumer_arn)

    def _not_found(self, what: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(f"Consumer {what}, account {self._account} not found.")
