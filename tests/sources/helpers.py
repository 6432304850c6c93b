"""Helpers for the source tests: streams read back whole, processes, polling with deadlines."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.support.waiting import poll_until

T = TypeVar("T")


def poll(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.25) -> T:
    """The shared poll at the sources' pace (their processes take a moment to react)."""
    return poll_until(check, timeout, interval=interval)


def create_stream(kinesis, name: str, shards: int = 1) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    poll(
        lambda: (
            kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            == "ACTIVE"
        )
    )
    return name


class StreamReader:
    """Reads every record of a stream from TRIM_HORIZON, remembering its place per shard."""

    def __init__(self, kinesis, stream: str) -> None:
        self.kinesis = kinesis
        self.stream = stream
        self.records: list[dict[str, Any]] = []
        self._iterators: dict[str, str | None] = {}

    def read(self) -> list[dict[str, Any]]:
        shards = self.kinesis.list_shards(StreamName=self.stream)["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.kinesis.get_shard_iterator(
                    StreamName=self.stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue
            # One call per shard per read: AWS limits allow 5 GetRecords a second per shard.
            try:
                answer = self.kinesis.get_records(ShardIterator=iterator, Limit=10000)
            except self.kinesis.exceptions.ProvisionedThroughputExceededException:
                continue
            self._iterators[shard_id] = answer.get("NextShardIterator")
            self.records.extend(answer["Records"])
        return self.records

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(record["Data"]) for record in self.read()]


class SourceProcess:
    """A ``headwater`` source command as a child process (so it can be ``kill -9``ed)."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SourceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "headwater", *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


class TcpProxy:
    """A loopback TCP proxy whose connections a test can cut (to make a client reconnect)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.refuse = 0  # close this many next connections at once
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                if self.refuse > 0:
                    self.refuse -= 1
                    client.close()
                    continue
                upstream = socket.create_connection(self.upstream)
                self._sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self, refuse_next: int = 0) -> None:
        """Break every open connection; refuse the next ``refuse_next`` ones."""
        with self._lock:
            self.refuse = refuse_next
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()
