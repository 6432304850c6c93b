"""Launchers for the servers under comparison, each on a free loopback port.

Headwater and the no-op ceiling are always available; kinesalite and moto only once
``bench/setup`` has installed them (``available()`` tells).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.client import KinesisCallError, KinesisClient

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
KINESALITE_JS = BENCH_DIR / "node_modules" / "kinesalite" / "index.js"
STARTUP_TIMEOUT_S = 60.0

HEADWATER = "headwater"
KINESALITE = "kinesalite"
MOTO = "moto"
NOOP = "no-op"
ALL_SERVERS = (HEADWATER, KINESALITE, MOTO, NOOP)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerKind:
    """How to run one kind of server, and what it can do."""

    name: str
    command: Callable[[int, Path], list[str]]
    stores_records: bool  # False for the no-op: nothing to read back
    durable: bool  # survives kill -9 (only Headwater)


def _headwater(port: int, work: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "headwater",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(work / "data"),
        "--limits",
        "off",
        "--log-level",
        "warning",
    ]


def _noop(port: int, _work: Path) -> list[str]:
    return [sys.executable, str(BENCH_DIR / "noop_server.py"), "--port", str(port)]


def _kinesalite(port: int, _work: Path) -> list[str]:
    return ["node", str(BENCH_DIR / "kinesalite_server.js"), str(port)]


def _moto_server() -> str:
    return str(VENV_BIN / "moto_server") if (VENV_BIN / "moto_server").exists() else "moto_server"


def _moto(port: int, _work: Path) -> list[str]:
    return [_moto_server(), "-H", "127.0.0.1", "-p", str(port)]


KINDS = {
    HEADWATER: ServerKind(HEADWATER, _headwater, stores_records=True, durable=True),
    KINESALITE: ServerKind(KINESALITE, _kinesalite, stores_records=True, durable=False),
    MOTO: ServerKind(MOTO, _moto, stores_records=True, durable=False),
    NOOP: ServerKind(NOOP, _noop, stores_records=False, durable=False),
}


def missing_reason(name: str) -> str:
    """Why a server cannot run here ('' when it can)."""
    if name == KINESALITE:
        if shutil.which("node") is None:
            return "node not installed"
        if not KINESALITE_JS.exists():
            return "kinesalite not installed (run bench/setup)"
    if name == MOTO and shutil.which(_moto_server()) is None:
        return "moto not installed (run bench/setup)"
    return ""


class RunningServer:
    """One server process; ``with`` stops it (SIGTERM, then SIGKILL) on the way out."""

    def __init__(self, kind: ServerKind, work: Path, port: int | None = None) -> None:
        self.kind = kind
        self.work = work
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = work / f"{kind.name}.log"

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        """Start the process without waiting for it to serve."""
        self.work.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.kind.command(self.port, self.work),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO_DIR,
            )

    def start(self) -> RunningServer:
        self.spawn()
        self.wait_ready()
        return self

    def wait_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Until ListStreams answers 200 (bounded)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                with KinesisClient(self.port, timeout_s=2) as client:
                    client.call("ListStreams", {})
                return
            except (OSError, KinesisCallError):
                time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not start: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not exited within 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
