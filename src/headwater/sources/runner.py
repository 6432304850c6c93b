"""Running a source as a process: logging, signals, a loop until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable


def run_until_signal(start: Callable[[], Awaitable[None]], stop: Callable[[], None]) -> None:
    """Run ``start()`` on a fresh loop; SIGINT/SIGTERM call ``stop`` (a graceful exit)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await start()

    asyncio.run(main())


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
