"""``headwater kcl``: the MultiLangDaemon's job, done by the Python consumer.

Reads the ``.properties`` file, runs one ``Consumer`` whose processors are child processes
of the configured script, and stops gracefully on SIGTERM / Ctrl-C (each child hears
``shutdownRequested`` and may checkpoint before its lease is released).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from pathlib import Path

from headwater.client.consumer import Consumer
from headwater.client.kcl.multilang import MultiLangProcessor
from headwater.client.kcl.properties import KclSettings

log = logging.getLogger(__name__)


async def run_daemon(
    settings: KclSettings,
    *,
    endpoint_url: str | None = None,
    lease_store: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Process the stream until ``stop`` is set (or SIGTERM / SIGINT arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    command = settings.command
    consumer = Consumer(
        settings.stream,
        settings.application,
        processor_factory=lambda: MultiLangProcessor(command),
        config=settings.config,
        lease_store=lease_store or settings.lease_store,
        endpoint_url=endpoint_url or settings.endpoint_url,
        region=settings.region,
    )
    log.info(
        "kcl: %s on %s as %s (worker %s)",
        " ".join(command),
        settings.stream,
        settings.application,
        consumer.worker_id,
    )
    try:
        async with consumer:
            await consumer.start()
            await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def run(
    properties: Path,
    *,
    endpoint_url: str | None = None,
    lease_store: str | None = None,
    worker_id: str | None = None,
) -> None:
    settings = KclSettings.load(properties)
    if worker_id:
        settings = dataclasses.replace(
            settings, config=dataclasses.replace(settings.config, worker_id=worker_id)
        )
    asyncio.run(run_daemon(settings, endpoint_url=endpoint_url, lease_store=lease_store))
