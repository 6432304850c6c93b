"""Running the delivery streams of one config file in one process."""

from __future__ import annotations

import asyncio
import logging

from headwater.client import Consumer, ConsumerConfig, open_lease_store
from headwater.delivery.config import DeliveryConfig, DeliveryStream
from headwater.delivery.processor import DeliveryProcessor, Destination
from headwater.delivery.transform import load_transform

log = logging.getLogger(__name__)


def destination_for(settings: DeliveryStream) -> Destination:
    if settings.kind == "online_store":
        from headwater.delivery.online.destination import OnlineStoreDestination

        return OnlineStoreDestination(settings)
    from headwater.delivery.files import FilesDestination

    return FilesDestination(settings)


class DeliveryRunner:
    """One consumer per delivery stream (application name = delivery name)."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self.consumers: list[Consumer] = []
        for settings in config.deliveries:
            destination = destination_for(settings)
            transform = load_transform(settings.transform) if settings.transform else None

            def factory(s=settings, d=destination, t=transform) -> DeliveryProcessor:
                return DeliveryProcessor(s, d, t)

            consumer_config = ConsumerConfig(
                initial_position=settings.initial_position,
                failover_time=settings.failover_time,
                call_process_records_even_for_empty_list=True,
                idle_time_between_reads=min(1.0, settings.buffer_interval / 4),
                retrieval=settings.retrieval,
                consumer_name=settings.consumer_name,
                shard_sync_interval=min(60.0, settings.failover_time * 3),
            )
            self.consumers.append(
                Consumer(
                    settings.stream,
                    settings.name,
                    processor_factory=factory,
                    config=consumer_config,
                    lease_store=open_lease_store(config.lease_store),
                    endpoint_url=config.endpoint_url,
                    region=config.region,
                )
            )

        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Deliver until ``stop()``; then flush, checkpoint and release every lease."""
        log.info("delivering %s", ", ".join(d.name for d in self.config.deliveries))
        try:
            for consumer in self.consumers:
                await consumer.start()
            await self._stop.wait()
        finally:
            await asyncio.gather(*(c.stop() for c in self.consumers), return_exceptions=True)

    def stop(self) -> None:
        self._stop.set()
