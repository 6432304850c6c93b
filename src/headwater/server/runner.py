"""Process wiring for ``headwater serve``: settings → storage → service → ASGI app → Hypercorn.

Storage is local (one process owns a data directory) or NATS JetStream (several API nodes
share one cluster; see ``headwater.storage.nats``).

Hypercorn serves HTTP/1.1 and HTTP/2 on one port (the AWS SDK for JavaScript v3 uses HTTP/2
for SubscribeToShard), in this one process, on uvloop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

import uvloop
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

from headwater.client.consumer.lag_metrics import LagWatcher
from headwater.protocol.sigv4 import SigV4Verifier, load_credentials, load_user_names
from headwater.server import h2_goaway
from headwater.server.app import HeadwaterApp
from headwater.server.kinesis_endpoint import KinesisEndpoint
from headwater.service.clock import AdjustableClock, Clock, SystemClock
from headwater.service.config import ServiceConfig
from headwater.service.limits import LimitsPolicy
from headwater.service.service import StreamService
from headwater.storage.base import Storage
from headwater.storage.local import LocalStorage
from headwater.storage.nats import NatsStorage, parse_storage_url
from headwater.storage.nats.errors import StorageUnavailableException

log = logging.getLogger(__name__)


class InsecureBindError(RuntimeError):
    """Refusing to serve without authentication on a reachable address."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 4567
    data_dir: Path = Path("headwater-data")
    storage: str = "local"  # or nats://host:port,... (see headwater.storage.nats)
    api_nodes: int = 1  # nodes sharing the storage; each takes 1/N of the per-shard limits
    log_level: str = "info"
    credentials_file: str | None = None
    insecure: bool = False
    dev_clock: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_port: int = 4568
    dashboard: bool = True
    lag_lease_stores: tuple[str, ...] = ()  # consumer applications whose lag /metrics shows
    lag_interval_s: float = 15.0
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
    storage = build_storage(settings)
    service = StreamService(storage, partitioned(settings.service, settings.api_nodes), clock)
    endpoint = KinesisEndpoint(
        service, SigV4Verifier(credentials), load_user_names(settings.credentials_file)
    )
    log.info(
        "configured storage=%s auth=%s limits=%s",
        storage.settings.describe() if isinstance(storage, NatsStorage) else settings.data_dir,
        "sigv4" if credentials else "open",
        service.config.limits.multiplier,
    )
    watcher = lag_watcher(settings, service, credentials)
    return HeadwaterApp(
        service,
        endpoint,
        dev_clock,
        dashboard=settings.dashboard,
        credentials=credentials,
        background=() if watcher is None else (watcher.run,),
    )


def lag_watcher(
    settings: ServerSettings, service: StreamService, credentials: dict[str, str] | None
) -> LagWatcher | None:
    """Measures the lag of the applications in ``--lag-lease-store`` stores through this
    server's own Kinesis API (as any consumer would), into its /metrics and dashboard."""
    if not settings.lag_lease_stores:
        return None
    host = settings.host if is_loopback(settings.host) else "127.0.0.1"
    keys = {}
    if credentials:
        access_key, secret_key = next(iter(credentials.items()))
        keys = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
    return LagWatcher(
        list(settings.lag_lease_stores),
        service.metrics.application_behind,
        settings.lag_interval_s,
        endpoint_url=f"http://{_bracketed(host)}:{settings.port}",
        region=settings.service.region,
        **keys,
    )


def build_storage(settings: ServerSettings) -> Storage:
    """``local`` keeps everything in ``data_dir``; ``nats://...`` shares JetStream."""
    if settings.storage == "local":
        return LocalStorage(settings.data_dir)
    nats_settings = parse_storage_url(settings.storage)
    try:
        return NatsStorage(nats_settings)
    except StorageUnavailableException as exc:
        where = nats_settings.describe()
        raise ConnectionError(f"cannot use NATS storage {where}: {exc.message}") from None


def partitioned(config: ServiceConfig, api_nodes: int) -> ServiceConfig:
    """Each of ``api_nodes`` nodes enforces its share of every per-shard limit.

    A load balancer spreads a shard's writers over the nodes, so N local buckets of 1/N
    add up to the shard's limit without a shared counter on the write path.
    """
    multiplier = config.limits.multiplier
    if api_nodes < 1:
        raise ValueError("api_nodes must be at least 1")
    if multiplier is None or api_nodes == 1:
        return config
    return replace(config, limits=LimitsPolicy(multiplier / api_nodes))


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

    async def shutdown_trigger() -> None:
        await stop.wait()
        app.end_event_streams()  # open dashboard pages must not hold up the drain

    await hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=shutdown_trigger)


def serve(settings: ServerSettings) -> None:
    """Run until SIGINT/SIGTERM; shutdown drains requests, then flushes and closes storage."""
    uvloop.run(_serve(settings))
