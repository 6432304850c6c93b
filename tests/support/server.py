"""Start the real ``headwater serve`` process for integration tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import boto3
from botocore.config import Config

STARTUP_TIMEOUT_S = 30.0
# Set (by tests/conftest.py) to a NATS storage URL: every server then stores on JetStream.
NATS_URL_VARIABLE = "HEADWATER_TEST_NATS_URL"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nats_storage_url(cluster_url: str, data_dir: Path) -> str:
    """The cluster URL with a namespace of this server's own: as isolated from other test
    servers as a data directory, and the same again when it restarts on that directory."""
    return f"{cluster_url}&prefix=t{zlib.crc32(str(data_dir).encode()):08x}"


class HeadwaterServer:
    """One server process on a free loopback port; can be killed and restarted."""

    def __init__(self, data_dir: Path, *extra_args: str, env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        nats_url = os.environ.get(NATS_URL_VARIABLE)
        if nats_url and "--storage" not in self.extra_args:
            self.extra_args += ["--storage", nats_storage_url(nats_url, data_dir)]
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HeadwaterServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "headwater",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--log-level",
                "warning",
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        log.close()
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_headwater/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait for the graceful exit; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        return self.process.returncode

    def advance_clock(self, milliseconds: int) -> int:
        """Move the server's dev clock on; returns the server's time afterwards (epoch ms)."""
        request = urllib.request.Request(
            f"{self.endpoint}/_headwater/clock/advance?ms={milliseconds}", method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())["now_ms"]

    def client(self, service: str = "kinesis", **kwargs):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=kwargs.pop("aws_access_key_id", "AKIDTEST"),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", "secret"),
            config=Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5),
            **kwargs,
        )
