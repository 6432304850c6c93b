"""Process wiring for ``headwater serve``: settings → storage → service → ASGI app → uvicorn."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from headwater.protocol.sigv4 import SigV4Verifier, load_credentials
from headwater.server.app import HeadwaterApp
from headwater.server.kinesis_endpoint import KinesisEndpoint
from headwater.service.clock import AdjustableClock, Clock, SystemClock
from headwater.service.config import ServiceConfig
from headwater.service.service import StreamService
from headwater.storage.local import LocalStorage

log = logging.getLogger(__name__)


class InsecureBindError(RuntimeError):
    """Refusing to serve without authentication on a reachable address."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 4567
    data_dir: Path = Path("headwater-data")
    log_level: str = "info"
    credentials_file: str | None = None
    insecure: bool = False
    dev_clock: bool = False
    service: ServiceConfig = field(default_factory=ServiceConfig)


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def build_app(settings: ServerSettings) -> HeadwaterApp:
    credentials = load_credentials(settings.credentials_file)
    if credentials is None and not settings.insecure and not is_loopback(settings.host):
        raise InsecureBindError(
            f"refusing to listen on {settings.host} without credentials: give --credentials "
            "FILE (or HEADWATER_ACCESS_KEY_ID/HEADWATER_SECRET_ACCESS_KEY), bind to a "
            "loopback address, or pass --insecure"
        )
    dev_clock = AdjustableClock() if settings.dev_clock else None
    clock: Clock = dev_clock or SystemClock()
    storage = LocalStorage(settings.data_dir)
    service = StreamService(storage, settings.service, clock)
    endpoint = KinesisEndpoint(service, SigV4Verifier(credentials))
    log.info(
        "configured data_dir=%s auth=%s limits=%s",
        settings.data_dir,
        "sigv4" if credentials else "open",
        settings.service.limits.multiplier,
    )
    return HeadwaterApp(service, endpoint, dev_clock)


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown, so the process would end
    "killed by signal"; here the signal only asks for shutdown and the exit status is 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._request_exit)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _request_exit(self, _signum: int, _frame: object) -> None:
        self.should_exit = True


def serve(settings: ServerSettings) -> None:
    """Run until SIGINT/SIGTERM; shutdown drains requests, then flushes and closes storage."""
    app = build_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    _Server(config).run()
