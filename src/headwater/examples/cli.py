"""``headwater example ...``: the runnable examples."""

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


def register_example_commands(app: typer.Typer) -> None:
    app.add_typer(example_app, name="example")
