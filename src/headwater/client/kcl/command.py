"""The ``headwater kcl`` command (registered on the CLI app in ``headwater.cli.main``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from headwater.client.kcl.runner import run


def kcl_command(
    properties: Annotated[
        Path, typer.Argument(help="The KCL MultiLangDaemon .properties file.", exists=True)
    ],
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="Kinesis endpoint; default: kinesisEndpoint, else AWS."),
    ] = None,
    lease_store: Annotated[
        str | None,
        typer.Option(help="SQLite file or postgresql:// URL; default: headwaterLeaseStore."),
    ] = None,
    worker_id: Annotated[str | None, typer.Option(help="This worker's id.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run an amazon_kclpy record processor script (KCL MultiLangDaemon protocol), no Java."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        run(properties, endpoint_url=endpoint_url, lease_store=lease_store, worker_id=worker_id)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
