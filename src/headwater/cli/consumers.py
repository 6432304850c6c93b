"""``headwater consumers``: enhanced fan-out consumers, and applications' lag from checkpoints."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.table import Table

from headwater.cli.common import (
    DEFAULT_ENDPOINT,
    Api,
    EndpointOption,
    JsonOption,
    ProfileOption,
    RegionOption,
    StreamArgument,
    TimeoutOption,
    WaitOption,
    connect,
    error_code,
    iso,
    stdout_console,
    to_json,
)
from headwater.client import KinesisClient, open_lease_store
from headwater.client.consumer.lag import ShardLag, shard_lags

app = typer.Typer(
    help="List, register and deregister a stream's enhanced fan-out consumers.",
    no_args_is_help=True,
)

ConsumerArgument = Annotated[str, typer.Argument(help="Consumer name.")]


def _stream_arn(api: Api, stream: str) -> str:
    return stream if stream.startswith("arn:") else api.summary(stream)["StreamARN"]


def _consumers(api: Api, arn: str) -> list[dict[str, Any]]:
    consumers: list[dict[str, Any]] = []
    params: dict[str, Any] = {"StreamARN": arn}
    while True:
        page = api.call("list_stream_consumers", **params)
        consumers.extend(page.get("Consumers", []))
        token = page.get("NextToken")
        if not token:
            return consumers
        params = {"StreamARN": arn, "NextToken": token}


def _consumer_status(api: Api, arn: str, name: str) -> str | None:
    """The consumer's status, or None once it is gone."""
    try:
        response = api.call("describe_stream_consumer", StreamARN=arn, ConsumerName=name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return response["ConsumerDescription"]["ConsumerStatus"]


@app.command("list")
def list_consumers(
    stream: StreamArgument,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """List the stream's registered consumers."""
    with connect(endpoint_url, region, profile, stream=stream) as api:
        consumers = _consumers(api, _stream_arn(api, stream))
    if as_json:
        rows = [
            {
                "name": consumer["ConsumerName"],
                "status": consumer["ConsumerStatus"],
                "arn": consumer["ConsumerARN"],
                "created": consumer.get("ConsumerCreationTimestamp"),
            }
            for consumer in consumers
        ]
        typer.echo(to_json(rows, indent=2))
        return
    console = stdout_console()
    if not consumers:
        console.print(f"no consumers registered on {stream}", markup=False)
        return
    table = Table(title=f"consumers of {stream}")
    table.add_column("consumer")
    table.add_column("status")
    table.add_column("created", no_wrap=True)
    table.add_column("arn", overflow="fold")
    for consumer in consumers:
        table.add_row(
            consumer["ConsumerName"],
            consumer["ConsumerStatus"],
            iso(consumer.get("ConsumerCreationTimestamp")),
            consumer["ConsumerARN"],
        )
    console.print(table)


@app.command("register")
def register(
    stream: StreamArgument,
    name: ConsumerArgument,
    wait: WaitOption = True,
    timeout: TimeoutOption = 60.0,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Register an enhanced fan-out consumer (and wait until it is ACTIVE)."""
    with connect(endpoint_url, region, profile, stream=stream) as api:
        arn = _stream_arn(api, stream)
        consumer = api.call("register_stream_consumer", StreamARN=arn, ConsumerName=name)[
            "Consumer"
        ]
        if wait:
            api.wait(
                lambda: _consumer_status(api, arn, name) == "ACTIVE",
                f"consumer '{name}' to become ACTIVE",
                timeout,
            )
    typer.echo(f"registered consumer {name}: {consumer['ConsumerARN']}")


@app.command("deregister")
def deregister(
    stream: StreamArgument,
    name: ConsumerArgument,
    wait: WaitOption = True,
    timeout: TimeoutOption = 60.0,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Deregister a consumer (its subscriptions end)."""
    with connect(endpoint_url, region, profile, stream=stream) as api:
        arn = _stream_arn(api, stream)
        api.call("deregister_stream_consumer", StreamARN=arn, ConsumerName=name)
        if wait:
            api.wait(
                lambda: _consumer_status(api, arn, name) is None,
                f"consumer '{name}' to be deregistered",
                timeout,
            )
    typer.echo(f"deregistered consumer {name}")


@app.command("lag")
def lag(
    stream: Annotated[str, typer.Argument(help="Stream name.")],
    application: Annotated[str, typer.Argument(help="The consumer application's name.")],
    lease_store: Annotated[
        str,
        typer.Option(help="The application's lease store: a SQLite path or postgresql:// URL."),
    ],
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """How far a KCL-style application is behind, per shard, from its checkpoints."""
    with connect(endpoint_url, region, profile, stream=stream) as api:
        api.summary(stream)  # a missing stream or server fails here, with a clear message
        lags = asyncio.run(_application_lag(api, stream, application, lease_store, profile))
    if as_json:
        typer.echo(to_json([dataclasses.asdict(shard) for shard in lags], indent=2))
        return
    console = stdout_console()
    if not lags:
        console.print(f"no leases of {application} on {stream} in {lease_store}", markup=False)
        return
    table = Table(title=f"{application} on {stream}")
    for column in ("shard", "owner", "checkpoint", "behind"):
        table.add_column(column, overflow="fold")
    for shard in lags:
        behind = "done" if shard.finished else _millis(shard.millis_behind)
        table.add_row(shard.shard_id, shard.owner or "-", shard.checkpoint, behind)
    console.print(table)


def _millis(value: int | None) -> str:
    if value is None:
        return "unknown (trimmed?)"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value} ms"


async def _application_lag(
    api: Api, stream: str, application: str, location: str, profile: str | None
) -> list[ShardLag]:
    store = open_lease_store(location)
    await store.open()
    try:
        async with KinesisClient(
            endpoint_url=api.endpoint, region=api.region, profile=profile
        ) as client:
            return await shard_lags(client, store, application, stream)
    finally:
        await store.close()
