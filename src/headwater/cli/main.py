"""The ``headwater`` command."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from headwater.analytics.cli import register_analytics_commands
from headwater.cli.commands import register_client_commands
from headwater.client.kcl.command import kcl_command
from headwater.delivery.cli import register_delivery_commands
from headwater.examples.cli import register_example_commands
from headwater.server.runner import InsecureBindError, ServerSettings, serve
from headwater.service.config import ServiceConfig
from headwater.service.encryption import load_key_file
from headwater.service.limits import LimitsPolicy
from headwater.sources.cli import register_source_commands

app = typer.Typer(help="Headwater: a self-hosted, Kinesis-compatible streaming platform.")


def _limits(text: str) -> LimitsPolicy:
    try:
        return LimitsPolicy.parse(text)
    except ValueError:
        raise typer.BadParameter("use 'aws', 'off' or a positive multiplier like 10") from None


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4567,
    data_dir: Annotated[
        Path, typer.Option(help="Where streams are stored (local storage only).")
    ] = Path("headwater-data"),
    storage: Annotated[
        str,
        typer.Option(
            help="'local' (embedded, in --data-dir) or nats://HOST:PORT[,HOST:PORT...]"
            "[?replicas=3] (JetStream, shared by several API nodes)."
        ),
    ] = "local",
    api_nodes: Annotated[
        int,
        typer.Option(
            help="API nodes sharing the storage; each enforces 1/N of every per-shard limit."
        ),
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    limits: Annotated[
        str, typer.Option(help="Per-shard limits: 'aws' (default), 'off' or a multiplier.")
    ] = "aws",
    credentials: Annotated[
        str | None,
        typer.Option(help="AWS credentials INI file whose keys may sign requests."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option(help="Allow a non-loopback address without credentials.")
    ] = False,
    region: Annotated[str, typer.Option(help="Region used in ARNs.")] = "us-east-1",
    account_id: Annotated[str, typer.Option(help="Account id used in ARNs.")] = "000000000000",
    create_delay_ms: Annotated[int, typer.Option(help="Time a new stream stays CREATING.")] = 0,
    delete_delay_ms: Annotated[int, typer.Option(help="Time a stream stays DELETING.")] = 0,
    update_delay_ms: Annotated[
        int, typer.Option(help="Time a stream stays UPDATING after a reshard or mode change.")
    ] = 0,
    consumer_delay_ms: Annotated[
        int, typer.Option(help="Time a new consumer stays CREATING (and DELETING).")
    ] = 0,
    housekeeping_interval_s: Annotated[
        float, typer.Option(help="Seconds between retention passes (trim, age out shards).")
    ] = 30.0,
    shard_limit: Annotated[int, typer.Option(help="Account shard quota (DescribeLimits).")] = 20000,
    on_demand_interval_s: Annotated[
        float, typer.Option(help="On-demand scaling: seconds between load checks.")
    ] = 1.0,
    on_demand_split_threshold: Annotated[
        float, typer.Option(help="On-demand: split a shard above this fraction of its limit.")
    ] = 0.8,
    on_demand_sustain_s: Annotated[
        float, typer.Option(help="On-demand: seconds a shard must stay hot before a split.")
    ] = 5.0,
    on_demand_merge_threshold: Annotated[
        float, typer.Option(help="On-demand: merge neighbours below this fraction.")
    ] = 0.1,
    on_demand_merge_after_s: Annotated[
        float, typer.Option(help="On-demand: seconds both neighbours must stay cold.")
    ] = 300.0,
    on_demand_min_shards: Annotated[
        int, typer.Option(help="On-demand: never merge below this many shards.")
    ] = 4,
    on_demand_max_shards: Annotated[
        int, typer.Option(help="On-demand: never split above this many shards.")
    ] = 200,
    kms_keys: Annotated[
        Path | None,
        typer.Option(help='JSON file of KMS key ids to base64 AES-256 keys: {"alias/k": "..."}.'),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate: also serve HTTPS (HTTP/2 via ALPN).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key for --tls-cert.")] = None,
    tls_port: Annotated[int, typer.Option(help="Port for HTTPS when --tls-cert is given.")] = 4568,
    dev_clock: Annotated[
        bool,
        typer.Option(help="Testing only: POST /_headwater/clock/advance?ms=N moves time on."),
    ] = False,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="Serve the read-only web dashboard at / (with --credentials: behind a login).",
        ),
    ] = True,
    lag_lease_store: Annotated[
        list[str] | None,
        typer.Option(
            help="A lease store (SQLite path or postgresql:// URL) whose consumer applications'"
            " lag /metrics and the dashboard show; repeatable."
        ),
    ] = None,
    lag_interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between measurements of that lag.")
    ] = 15.0,
) -> None:
    """Start the Kinesis-compatible server (embedded storage, or NATS JetStream)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    settings = ServerSettings(
        host=host,
        port=port,
        data_dir=data_dir,
        storage=storage,
        api_nodes=api_nodes,
        log_level=log_level,
        credentials_file=credentials,
        insecure=insecure,
        dev_clock=dev_clock,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_port=tls_port,
        dashboard=dashboard,
        lag_lease_stores=tuple(lag_lease_store or ()),
        lag_interval_s=lag_interval,
        service=ServiceConfig(
            region=region,
            account_id=account_id,
            limits=_limits(limits),
            create_delay_ms=create_delay_ms,
            delete_delay_ms=delete_delay_ms,
            update_delay_ms=update_delay_ms,
            consumer_delay_ms=consumer_delay_ms,
            housekeeping_interval_s=housekeeping_interval_s,
            shard_limit=shard_limit,
            on_demand_interval_s=on_demand_interval_s,
            on_demand_split_threshold=on_demand_split_threshold,
            on_demand_sustain_s=on_demand_sustain_s,
            on_demand_merge_threshold=on_demand_merge_threshold,
            on_demand_merge_after_s=on_demand_merge_after_s,
            on_demand_min_shards=on_demand_min_shards,
            on_demand_max_shards=on_demand_max_shards,
        ),
    )
    try:
        settings = replace(
            settings, service=replace(settings.service, kms_keys=load_key_file(kms_keys))
        )
        serve(settings)
    except (InsecureBindError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


app.command("kcl")(kcl_command)
register_client_commands(app)
register_source_commands(app)
register_analytics_commands(app)
register_example_commands(app)
register_delivery_commands(app)


@app.callback()
def main() -> None:
    """Headwater command line."""


if __name__ == "__main__":
    app()
