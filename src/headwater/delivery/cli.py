"""``headwater deliver CONFIG`` and ``headwater features``, added to the ``headwater`` app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]


def deliver_command(
    config: Annotated[
        Path, typer.Argument(help="TOML file with a kinesis table and delivery tables.")
    ],
    log_level: LogLevel = "info",
) -> None:
    """Deliver streams to files (JSON Lines, Parquet; local or S3) and the online store."""
    from headwater.delivery.config import ConfigError, load_config
    from headwater.delivery.runner import DeliveryRunner
    from headwater.sources.runner import configure_logging, run_until_signal

    configure_logging(log_level)
    sys.path.insert(0, str(config.resolve().parent))  # transforms beside the config file
    try:
        runner = DeliveryRunner(load_config(config))
    except (ConfigError, ImportError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    run_until_signal(runner.run, runner.stop)


def features_command(
    store: Annotated[
        str, typer.Option(help="sqlite:///path (or a path) or redis://host:port/db.")
    ] = "online-store.sqlite",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4568,
    log_level: LogLevel = "info",
) -> None:
    """Serve GET /features/<table>/<key> from an online store."""
    import asyncio

    from headwater.delivery.online.app import serve_features
    from headwater.delivery.online.store import open_store
    from headwater.sources.runner import configure_logging, run_until_signal

    configure_logging(log_level)
    opened = open_store(store)
    stop = asyncio.Event()
    run_until_signal(lambda: serve_features(opened, host, port, stop), stop.set)


def register_delivery_commands(app: typer.Typer) -> None:
    app.command("deliver")(deliver_command)
    app.command("features")(features_command)
