"""Enhanced fan-out helpers: a consumer per test and a boto3 subscription read on a thread.

boto3's ``subscribe_to_shard`` returns once the ``initial-response`` event has arrived (it
refuses a stream that starts otherwise); the events that follow are read here on a thread
and kept with the wall-clock time each arrived, so tests can measure delivery latency and
wait for records with a deadline instead of sleeping.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from typing import Any

from tests.support.lineage import Kinesis, arn_of


def register_consumer(kinesis: Kinesis, stream: str, name: str, timeout_s: float = 10.0) -> str:
    """Register a consumer and wait (bounded) until it is ACTIVE; returns its ARN."""
    consumer = kinesis.register_stream_consumer(StreamARN=arn_of(stream), ConsumerName=name)
    arn = consumer["Consumer"]["ConsumerARN"]
    deadline = time.monotonic() + timeout_s
    while True:
        status = kinesis.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"][
            "ConsumerStatus"
        ]
        if status == "ACTIVE":
            return arn
        assert time.monotonic() < deadline, f"consumer {name} stayed {status}"
        time.sleep(0.02)


class Subscription:
    """One SubscribeToShard call; its events land in ``events`` as (arrival time, event)."""

    def __init__(
        self, kinesis: Kinesis, consumer_arn: str, shard_id: str, position: dict[str, Any]
    ) -> None:
        response = kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn, ShardId=shard_id, StartingPosition=position
        )
        self.response = response
        self.stream = response["EventStream"]
        self.events: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.received: list[tuple[float, dict]] = []
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for event in self.stream:
                self.events.put((time.time(), event))
        except BaseException as error:
            if not self._closing:
                self.error = error
        finally:
            self.ended.set()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Hang up at once: shut the socket so the reading thread wakes from its read."""
        self._closing = True
        raw = self.stream._raw_stream  # urllib3's response; close() alone waits for data
        if not self.ended.is_set():
            connection = raw.connection
            sock = connection.sock if connection is not None else None
            with contextlib.suppress(OSError):
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
        self.stream.close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the subscription's reader did not stop"

    def next_event(self, timeout_s: float = 5.0) -> tuple[float, dict]:
        """The next SubscribeToShardEvent (with its arrival time)."""
        arrived, event = self.events.get(timeout=timeout_s)
        self.received.append((arrived, event))
        return arrived, event["SubscribeToShardEvent"]

    def records(self, count: int, timeout_s: float = 5.0) -> list[tuple[float, dict]]:
        """Read events until ``count`` more records came; (arrival time, record) each."""
        got: list[tuple[float, dict]] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count:
            left = deadline - time.monotonic()
            assert left > 0 and self.error is None, (
                f"{len(got)} of {count} records arrived; error {self.error!r}"
            )
            try:
                arrived, body = self.next_event(left)
            except queue.Empty:
                continue
            got.extend((arrived, record) for record in body["Records"])
        return got

    @property
    def last_event(self) -> dict:
        return self.received[-1][1]["SubscribeToShardEvent"]

    def wait_ended(self, timeout_s: float = 5.0) -> None:
        assert self.ended.wait(timeout_s), "the subscription did not end"
