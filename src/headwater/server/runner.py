"""Process wiring for ``headwater serve``: settings → storage → service → ASGI app → Hypercorn.

Hypercorn serves HTTP/1.1 and HTTP/2 on one port (the AWS SDK for JavaScript v3 uses HTTP/2
for SubscribeToShard), in this one process, on uvloop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path

import uvloop
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

from headwater.protocol.sigv4 import SigV4Verifier, load_credentials, load_user_names
from headwater.server import h2_goaway
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
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_port: int = 4568
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
    endpoint = KinesisEndpoint(
        service, SigV4Verifier(credentials), load_user_names(settings.credentials_file)
    )
    log.info(
        "configured data_dir=%s auth=%s limits=%s",
        settings.data_dir,
        "sigv4" if credentials else "open",
        settings.service.limits.multiplier,
    )
    return HeadwaterApp(service, endpoint, dev_clock)


def hypercorn_config(settings: ServerSettings) -> HypercornConfig:
    """HTTP/1.1 and HTTP/2 (h2c, prior knowledge) on the main port; with a certificate, also
    HTTP/2 over TLS (ALPN) on the TLS port."""
    config = HypercornConfig()
    main = f"{_bracketed(settings.host)}:{settings.port}"
    if settings.tls_cert and settings.tls_key:
        config.certfile = str(settings.tls_cert)
        config.keyfile = str(settings.tls_key)
        config.bind = [f"{_bracketed(settings.host)}:{settings.tls_port}"]
        config.insecure_bind = [main]
    else:
        config.bind = [main]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 10.0
    config.keep_alive_timeout = 75.0
    return config


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


async def _serve(settings: ServerSettings) -> None:
    h2_goaway.install()
    app = build_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=stop.wait)


def serve(settings: ServerSettings) -> None:
    """Run until SIGINT/SIGTERM; shutdown drains requests, then flushes and closes storage."""
    uvloop.run(_serve(settings))
