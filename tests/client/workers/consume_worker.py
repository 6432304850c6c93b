"""A consumer worker process for the multi-worker tests.

Appends one line per processed record to its output file (``time shard sequence sub key
data worker``) before the batch is checkpointed, so a record processed twice shows up twice.
SIGTERM stops it gracefully. Usage: python -m tests.client.workers.consume_worker CONFIG_JSON
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time

from headwater.client.consumer import Consumer, ConsumerConfig


async def main(settings: dict) -> None:
    config = ConsumerConfig(
        worker_id=settings["worker_id"],
        failover_time=settings.get("failover_time", 3.0),
        idle_time_between_reads=0.2,
        shard_sync_interval=1.0,
    )
    consumer = Consumer(
        settings["stream"],
        settings["application"],
        config=config,
        lease_store=settings["lease_store"],
        **settings["client"],
    )
    out = os.open(settings["output"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @consumer.on_batch
    def record_batch(records) -> None:
        now = time.time()
        lines = "".join(
            f"{now:.6f} {r.shard_id} {r.sequence_number} {r.sub_sequence_number} "
            f"{r.partition_key} {r.text()} {settings['worker_id']}\n"
            for r in records
        )
        os.write(out, lines.encode())

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with consumer:
        await consumer.start()
        await stop.wait()


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(json.loads(sys.argv[1])))
