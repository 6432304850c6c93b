"""``headwater analytics run APP.sql`` and ``headwater analytics explain APP.sql``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

analytics_app = typer.Typer(help="Continuous SQL over streams (a subset of Flink SQL).")
AppFile = Annotated[Path, typer.Argument(help="The SQL application (CREATE TABLE, INSERT...).")]


def _load(path: Path):
    from headwater.analytics.app import Application
    from headwater.analytics.errors import AnalyticsError

    try:
        return Application.from_file(path)
    except (AnalyticsError, OSError) as error:
        raise typer.BadParameter(str(error)) from None


@analytics_app.command("run")
def run_command(
    app_file: AppFile,
    endpoint_url: Annotated[
        str | None, typer.Option(help="Kinesis endpoint (leave out for AWS).")
    ] = None,
    region: Annotated[str, typer.Option(help="AWS region.")] = "us-east-1",
    state_dir: Annotated[Path, typer.Option(help="Where the checkpoint file is kept.")] = Path(
        "analytics-state"
    ),
    name: Annotated[
        str | None, typer.Option(help="Application name (checkpoint file, result ids).")
    ] = None,
    checkpoint_interval: Annotated[
        float, typer.Option(help="Seconds between checkpoints; results are written at each.")
    ] = 1.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the application until SIGINT/SIGTERM (then checkpoint and stop)."""
    from headwater.analytics.errors import AnalyticsError
    from headwater.analytics.runtime import RunnerConfig, StreamRunner
    from headwater.errors import KinesisError
    from headwater.sources.runner import configure_logging, run_until_signal

    configure_logging(log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    app = _load(app_file)
    config = RunnerConfig(
        endpoint_url=endpoint_url,
        region=region,
        state_dir=state_dir,
        name=name or app_file.stem,
        checkpoint_interval=checkpoint_interval,
    )
    try:
        runner = StreamRunner(app, config)
        run_until_signal(runner.run, runner.stop)
    except (AnalyticsError, KinesisError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


@analytics_app.command("explain")
def explain_command(app_file: AppFile) -> None:
    """Print the plan of every INSERT: mode, sources, state kept, the DuckDB SQL."""
    typer.echo(_load(app_file).explain())


def register_analytics_commands(app: typer.Typer) -> None:
    app.add_typer(analytics_app, name="analytics")
