"""The client commands (they speak only the Kinesis API), added to the ``headwater`` app."""

from __future__ import annotations

import typer

from headwater.cli import consumers, streams
from headwater.cli.records import put_command
from headwater.cli.stats import stats_command
from headwater.cli.tail import tail_command


def register_client_commands(app: typer.Typer) -> None:
    app.add_typer(streams.app, name="streams")
    app.command("put")(put_command)
    app.command("tail")(tail_command)
    app.command("stats")(stats_command)
    app.add_typer(consumers.app, name="consumers")
