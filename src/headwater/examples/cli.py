"""``headwater example ...`` (runnable examples) and ``headwater learn`` (online learning)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

example_app = typer.Typer(help="Runnable end-to-end examples.", no_args_is_help=True)


@example_app.command("fraud")
def fraud_command(
    workdir: Annotated[
        Path, typer.Option(help="New or empty directory for the model, lake and store.")
    ] = Path("fraud-example"),
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="A running Headwater (or Kinesis); default: start one for the run."),
    ] = None,
    records: Annotated[int, typer.Option(min=100, max=1_000_000)] = 5000,
    seed: Annotated[int, typer.Option(help="Simulator seed (same seed, same payments).")] = 7,
) -> None:
    """Fraud detection on simulated payments: online model, scores, lake, training set."""
    from headwater.examples.fraud import run_fraud_example

    try:
        summary = run_fraud_example(workdir, endpoint_url=endpoint_url, records=records, seed=seed)
    except (FileExistsError, TimeoutError, RuntimeError) as error:
        raise typer.BadParameter(str(error)) from None
    table = Table("result", "value", title="fraud example")
    for name, value in summary.items():
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


def learn_command(
    config: Annotated[Path, typer.Argument(help="TOML file: [kinesis] and [learner].")],
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Learn a stream online (predict, then learn): scores to a stream and the online store."""
    import sys

    from headwater.ml.learn_config import LearnConfigError, load_learn_config
    from headwater.ml.online import OnlineLearner
    from headwater.plugins import load_callable
    from headwater.sources.runner import configure_logging, run_until_signal

    configure_logging(log_level)
    sys.path.insert(0, str(config.resolve().parent))  # model modules beside the config file
    try:
        settings = load_learn_config(config)
        new_state = load_callable(settings.model, "model")
        learner = OnlineLearner(
            settings.settings,
            new_state,
            lease_store=settings.lease_store,
            endpoint_url=settings.endpoint_url,
            region=settings.region,
        )
    except (LearnConfigError, ImportError, AttributeError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    run_until_signal(learner.run, learner.stop)


def register_example_commands(app: typer.Typer) -> None:
    app.add_typer(example_app, name="example")
    app.command("learn")(learn_command)
