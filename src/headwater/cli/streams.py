"""``headwater streams create|list|describe|delete|reshard|mode``."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.table import Table

from headwater.cli.common import (
    DEFAULT_ENDPOINT,
    EXIT_USAGE,
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
    fail,
    iso,
    shard_id,
    stdout_console,
    stream_ref,
    to_json,
)

app = typer.Typer(help="Create, list, inspect, reshard and delete streams.", no_args_is_help=True)

HASH_SPACE = 2**128


class Mode(StrEnum):
    provisioned = "provisioned"
    on_demand = "on-demand"

    @property
    def api_name(self) -> str:
        return "ON_DEMAND" if self is Mode.on_demand else "PROVISIONED"


def _mode(text: str) -> Mode:
    word = text.strip().lower().replace("_", "-")
    for mode in Mode:
        if mode.value == word:
            return mode
    raise typer.BadParameter("use PROVISIONED or ON_DEMAND")


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r}: use KEY=VALUE", param_hint="--tag")
        tags[key] = value
    return tags


def _mode_of(summary: dict[str, Any]) -> str:
    return summary.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")


@app.command("create")
def create(
    stream: Annotated[str, typer.Argument(help="Name of the new stream.")],
    shards: Annotated[
        int | None, typer.Option("--shards", "-s", min=1, help="Shard count (default 1).")
    ] = None,
    on_demand: Annotated[
        bool, typer.Option("--on-demand", help="ON_DEMAND capacity mode (scales itself).")
    ] = False,
    retention_hours: Annotated[
        int | None, typer.Option(min=24, help="Retention in hours (default 24).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="KEY=VALUE tag; repeatable.")
    ] = None,
    wait: WaitOption = True,
    timeout: TimeoutOption = 60.0,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Create a stream (and wait until it is ACTIVE)."""
    if on_demand and shards is not None:
        fail("--shards and --on-demand exclude each other", EXIT_USAGE)
    tags = _tags(tag or [])
    params: dict[str, Any] = {"StreamName": stream}
    if on_demand:
        params["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
    else:
        params["ShardCount"] = shards or 1
    if tags:
        params["Tags"] = tags
    with connect(endpoint_url, region, profile, stream=stream) as api:
        api.call("create_stream", **params)
        if not wait and retention_hours is None:
            typer.echo(f"creating stream {stream}")
            return
        summary = api.wait_active(stream, timeout)
        if retention_hours is not None and retention_hours != summary["RetentionPeriodHours"]:
            api.call(
                "increase_stream_retention_period",
                StreamName=stream,
                RetentionPeriodHours=retention_hours,
            )
            summary = api.wait_active(stream, timeout)
        typer.echo(
            f"created stream {stream}: {summary.get('OpenShardCount', '?')} shards, "
            f"{_mode_of(summary)}, retention {summary['RetentionPeriodHours']} h"
        )


def _all_streams(api: Api) -> list[dict[str, Any]]:
    """Every stream's summary entry from ListStreams (all pages)."""
    streams: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    while True:
        page = api.call("list_streams", **params)
        summaries = page.get("StreamSummaries")
        if summaries is None:
            summaries = [{"StreamName": name} for name in page.get("StreamNames", [])]
        streams.extend(summaries)
        if not page.get("HasMoreStreams") or not summaries:
            return streams
        token = page.get("NextToken")
        params = (
            {"NextToken": token}
            if token
            else {"ExclusiveStartStreamName": summaries[-1]["StreamName"]}
        )


@app.command("list")
def list_streams(
    long: Annotated[
        bool,
        typer.Option(
            "--long", "-l", help="Also shards, retention, consumers (one more call per stream)."
        ),
    ] = False,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """List the streams."""
    with connect(endpoint_url, region, profile) as api:
        streams = _all_streams(api)
        rows = []
        for entry in streams:
            row = {
                "name": entry["StreamName"],
                "status": entry.get("StreamStatus"),
                "mode": entry.get("StreamModeDetails", {}).get("StreamMode"),
                "created": entry.get("StreamCreationTimestamp"),
            }
            if long or row["status"] is None:
                try:
                    summary = api.summary(entry["StreamName"])
                except ClientError as exc:
                    if error_code(exc) != "ResourceNotFoundException":
                        raise
                    continue  # deleted while listing
                row.update(
                    status=summary["StreamStatus"],
                    mode=_mode_of(summary),
                    created=summary.get("StreamCreationTimestamp"),
                )
                if long:
                    row.update(
                        open_shards=summary.get("OpenShardCount"),
                        retention_hours=summary.get("RetentionPeriodHours"),
                        consumers=summary.get("ConsumerCount"),
                        encryption=summary.get("EncryptionType", "NONE"),
                    )
            rows.append(row)
        endpoint = api.display_endpoint
    if as_json:
        typer.echo(to_json(rows, indent=2))
        return
    console = stdout_console()
    if not rows:
        console.print(f"no streams at {endpoint}", markup=False)
        return
    table = Table(title=f"streams at {endpoint}")
    for column in ("stream", "status", "mode", "created"):
        table.add_column(column, no_wrap=column != "stream", overflow="fold")
    if long:
        for column in ("shards", "retention", "consumers", "encryption"):
            table.add_column(column, justify="right" if column != "encryption" else "left")
    for row in rows:
        cells = [row["name"], row["status"] or "-", row["mode"] or "-", iso(row["created"])]
        if long:
            cells += [
                str(row.get("open_shards", "-")),
                f"{row.get('retention_hours', '-')} h",
                str(row.get("consumers", "-")),
                str(row.get("encryption", "-")),
            ]
        table.add_row(*cells)
    console.print(table)


def _share(shard: dict[str, Any]) -> str:
    keys = shard["HashKeyRange"]
    start, end = int(keys["StartingHashKey"]), int(keys["EndingHashKey"])
    return f"{start / HASH_SPACE:.1%} to {(end + 1) / HASH_SPACE:.1%}"


@app.command("describe")
def describe(
    stream: StreamArgument,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Show a stream's settings and its shards (open and closed, with their lineage)."""
    with connect(endpoint_url, region, profile, stream=stream) as api:
        summary = api.summary(stream)
        shards = api.shards(stream)
    summary.pop("ResponseMetadata", None)
    if as_json:
        typer.echo(to_json({"stream": summary, "shards": shards}, indent=2))
        return
    console = stdout_console()
    overview = Table.grid(padding=(0, 2))
    overview.add_column(style="bold")
    overview.add_column()
    encryption = summary.get("EncryptionType", "NONE")
    if summary.get("KeyId"):
        encryption += f" ({summary['KeyId']})"
    for label, value in (
        ("stream", summary["StreamName"]),
        ("arn", summary["StreamARN"]),
        ("status", summary["StreamStatus"]),
        ("mode", _mode_of(summary)),
        ("open shards", str(summary.get("OpenShardCount", "-"))),
        ("retention", f"{summary.get('RetentionPeriodHours')} h"),
        ("consumers", str(summary.get("ConsumerCount", "-"))),
        ("encryption", encryption),
        ("created", iso(summary.get("StreamCreationTimestamp"))),
    ):
        overview.add_row(label, value)
    console.print(overview)
    table = Table(title="shards")
    table.add_column("shard", no_wrap=True)
    table.add_column("state")
    table.add_column("parents", no_wrap=True)
    table.add_column("hash keys", justify="right", no_wrap=True)
    for shard in shards:
        closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
        parents = [shard.get("ParentShardId"), shard.get("AdjacentParentShardId")]
        table.add_row(
            shard["ShardId"],
            "closed" if closed else "open",
            ", ".join(parent for parent in parents if parent) or "-",
            _share(shard),
        )
    console.print(table)


@app.command("delete")
def delete(
    stream: StreamArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = (
        False
    ),
    enforce_consumer_deletion: Annotated[
        bool, typer.Option(help="Delete even if consumers are registered.")
    ] = False,
    wait: WaitOption = True,
    timeout: TimeoutOption = 60.0,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Delete a stream and all its records."""
    if not yes:
        if not sys.stdin.isatty():
            fail("not deleting without confirmation: pass --yes", EXIT_USAGE)
        typer.confirm(f"Delete stream {stream} and all its records?", abort=True)
    with connect(endpoint_url, region, profile, stream=stream) as api:
        params: dict[str, Any] = dict(stream_ref(stream))
        if enforce_consumer_deletion:
            params["EnforceConsumerDeletion"] = True
        api.call("delete_stream", **params)
        if wait:

            def gone() -> bool:
                try:
                    api.summary(stream)
                except ClientError as exc:
                    if error_code(exc) == "ResourceNotFoundException":
                        return True
                    raise
                return False

            api.wait(gone, f"stream '{stream}' to be deleted", timeout)
        typer.echo(f"deleted stream {stream}" if wait else f"deleting stream {stream}")


def _open_shards(api: Api, stream: str) -> list[dict[str, Any]]:
    return [
        shard
        for shard in api.shards(stream)
        if "EndingSequenceNumber" not in shard.get("SequenceNumberRange", {})
    ]


@app.command("reshard")
def reshard(
    stream: StreamArgument,
    split: Annotated[
        str | None,
        typer.Option(help="Split this shard (id, or its number: 0 = shardId-000000000000)."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Hash key where the second child starts (default: the middle)."),
    ] = None,
    merge: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Merge two adjacent shards: --merge SHARD ADJACENT_SHARD."),
    ] = None,
    target: Annotated[
        int | None,
        typer.Option(min=1, help="UpdateShardCount: this many open shards (uniform scaling)."),
    ] = None,
    wait: WaitOption = True,
    timeout: TimeoutOption = 120.0,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Split a shard, merge two adjacent shards, or scale to a target shard count."""
    chosen = [
        name
        for name, value in (("--split", split), ("--merge", merge), ("--target", target))
        if value is not None
    ]
    if len(chosen) != 1:
        fail("give exactly one of --split, --merge or --target", EXIT_USAGE)
    if at is not None and split is None:
        fail("--at goes with --split", EXIT_USAGE)
    with connect(endpoint_url, region, profile, stream=stream) as api:
        before = {shard["ShardId"] for shard in _open_shards(api, stream)}
        if split is not None:
            parent = shard_id(split)
            shard = next((s for s in api.shards(stream) if s["ShardId"] == parent), None)
            if shard is None:
                fail(f"stream '{stream}' has no shard {parent}")
            keys = shard["HashKeyRange"]
            start, end = int(keys["StartingHashKey"]), int(keys["EndingHashKey"])
            if at is None:
                if end == start:
                    fail(f"{parent} covers a single hash key: it cannot be split")
                at = str(start + (end - start + 1) // 2)
            api.call(
                "split_shard", **stream_ref(stream), ShardToSplit=parent, NewStartingHashKey=at
            )
            action = f"split {parent} at hash key {at}"
        elif merge is not None:
            first, second = shard_id(merge[0]), shard_id(merge[1])
            api.call(
                "merge_shards",
                **stream_ref(stream),
                ShardToMerge=first,
                AdjacentShardToMerge=second,
            )
            action = f"merged {first} and {second}"
        else:
            response = api.call(
                "update_shard_count",
                **stream_ref(stream),
                TargetShardCount=target,
                ScalingType="UNIFORM_SCALING",
            )
            action = (
                f"scaling from {response.get('CurrentShardCount', len(before))} "
                f"to {response.get('TargetShardCount', target)} shards"
            )
        if not wait:
            typer.echo(action)
            return
        api.wait_active(stream, timeout)
        after = _open_shards(api, stream)
    new = sorted(shard["ShardId"] for shard in after if shard["ShardId"] not in before)
    typer.echo(f"{action}; open shards: {len(before)} → {len(after)}")
    if new:
        typer.echo("new shards: " + ", ".join(new))


@app.command("mode")
def mode(
    stream: StreamArgument,
    new_mode: Annotated[
        str | None,
        typer.Argument(
            metavar="[PROVISIONED|ON_DEMAND]",
            help="The capacity mode to switch to.",
            show_default=False,
        ),
    ] = None,
    wait: WaitOption = True,
    timeout: TimeoutOption = 60.0,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Show the capacity mode, or switch it (PROVISIONED or ON_DEMAND)."""
    wanted = _mode(new_mode) if new_mode is not None else None
    with connect(endpoint_url, region, profile, stream=stream) as api:
        summary = api.summary(stream)
        current = _mode_of(summary)
        if wanted is None:
            typer.echo(f"{summary['StreamName']}: {current}")
            return
        if current == wanted.api_name:
            typer.echo(f"{summary['StreamName']} is already {current}")
            return
        api.call(
            "update_stream_mode",
            StreamARN=summary["StreamARN"],
            StreamModeDetails={"StreamMode": wanted.api_name},
        )
        if wait:
            summary = api.wait_active(stream, timeout)
        typer.echo(
            f"{summary['StreamName']}: {current} → {wanted.api_name}"
            + (f", {summary.get('OpenShardCount', '?')} open shards" if wait else "")
        )
