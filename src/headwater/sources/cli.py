"""The source commands (``headwater mqtt``, ...), added to the ``headwater`` app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from headwater.sources.common import ConfigError
from headwater.sources.runner import configure_logging, run_until_signal

LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]


def mqtt_command(
    config: Annotated[Path, typer.Argument(help="TOML file: [kinesis], [mqtt], [[mqtt.rules]].")],
    log_level: LogLevel = "info",
) -> None:
    """Bridge MQTT topics to Kinesis streams (acks QoS 1 only after the put)."""
    from headwater.sources.mqtt import BridgeConfig, MqttBridge

    configure_logging(log_level)
    try:
        bridge = MqttBridge(BridgeConfig.load(config))
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from None
    run_until_signal(bridge.run, bridge.stop)


def ingest_command(
    config: Annotated[Path, typer.Argument(help="TOML file: [kinesis], [ingest], routes.")],
    log_level: LogLevel = "info",
) -> None:
    """Serve POST /ingest/<stream> (JSON, JSON array or NDJSON) into Kinesis streams."""
    import asyncio

    from headwater.sources.ingest import IngestConfig, serve_ingest

    configure_logging(log_level)
    try:
        settings = IngestConfig.load(config)
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from None
    stop = asyncio.Event()
    run_until_signal(lambda: serve_ingest(settings, stop), stop.set)


def simulate_command(
    kind: Annotated[str, typer.Argument(help="iot, payments, social or orders.")],
    stream: Annotated[str | None, typer.Option(help="Write to this stream.")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="Kinesis endpoint.")] = None,
    region: Annotated[str, typer.Option(help="Region.")] = "us-east-1",
    mqtt: Annotated[
        str | None, typer.Option(help="Publish to this MQTT broker (host:port) instead.")
    ] = None,
    topic_prefix: Annotated[str, typer.Option(help="MQTT topic prefix.")] = "sim",
    http: Annotated[str | None, typer.Option(help="POST to this ingest URL instead.")] = None,
    postgres: Annotated[
        str | None, typer.Option(help="orders only: apply the changes to this database (DSN).")
    ] = None,
    table: Annotated[str, typer.Option(help="Table for --postgres.")] = "public.orders",
    token: Annotated[str | None, typer.Option(help="Bearer token for --http.")] = None,
    rate: Annotated[float, typer.Option(help="Records per second (0: unpaced).")] = 100.0,
    count: Annotated[int | None, typer.Option(help="Stop after N records.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same records).")] = 0,
    source_type: Annotated[
        str | None, typer.Option(help="Add a source_type field (single-stream topology).")
    ] = None,
    log_level: LogLevel = "info",
) -> None:
    """Generate realistic, labelled events into a stream, an MQTT broker or HTTP ingest."""
    import asyncio

    from headwater.sources import simulate_targets
    from headwater.sources.simulators import GENERATORS

    configure_logging(log_level)
    if kind not in GENERATORS:
        raise typer.BadParameter(f"choose one of {', '.join(GENERATORS)}")
    if sum(target is not None for target in (stream, mqtt, http, postgres)) != 1:
        raise typer.BadParameter("give exactly one of --stream, --mqtt, --http or --postgres")
    if postgres is not None and kind != "orders":
        raise typer.BadParameter("--postgres takes the orders simulator only")
    stop = asyncio.Event()
    options = {
        "seed": seed,
        "rate": rate or None,
        "count": count,
        "stop": stop,
        "source_type": source_type,
    }
    if stream is not None:
        client = {"endpoint_url": endpoint_url, "region": region}
        job = simulate_targets.simulate_to_stream(kind, stream, client, **options)
    elif mqtt is not None:
        host, _, port = mqtt.partition(":")
        job = simulate_targets.simulate_to_mqtt(
            kind, host, int(port or 1883), topic_prefix, **options
        )
    elif postgres is not None:
        job = simulate_targets.simulate_to_postgres(kind, postgres, table, **options)
    else:
        assert http is not None
        job = simulate_targets.simulate_to_http(kind, http, token, **options)

    async def start() -> None:
        await job

    run_until_signal(start, stop.set)


def cdc_command(
    config: Annotated[Path, typer.Argument(help="TOML file: [kinesis], [cdc].")],
    log_level: LogLevel = "info",
) -> None:
    """Capture PostgreSQL row changes (pgoutput) into a stream, in AWS DMS's format."""
    from headwater.sources.cdc import CdcConfig, CdcSource

    configure_logging(log_level)
    try:
        source = CdcSource(CdcConfig.load(config))
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from None
    run_until_signal(source.run, source.stop)


def topology_command(
    kind: Annotated[str, typer.Argument(help="single (one stream) or multi (one per source).")],
    endpoint_url: Annotated[str, typer.Option(help="Kinesis endpoint.")] = "http://127.0.0.1:4567",
    region: Annotated[str, typer.Option(help="Region.")] = "us-east-1",
    mqtt: Annotated[str, typer.Option(help="MQTT broker (host:port).")] = "127.0.0.1:1883",
    postgres: Annotated[
        str, typer.Option(help="PostgreSQL DSN (wal_level = logical).")
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    ingest_port: Annotated[int, typer.Option(help="Port of the HTTP ingest.")] = 8080,
    rate: Annotated[float, typer.Option(help="Records per second per simulator (0: unpaced).")] = (
        20.0
    ),
    count: Annotated[
        int | None, typer.Option(help="Stop after N records per simulator (else until Ctrl-C).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the simulators.")] = 0,
    prefix: Annotated[
        str, typer.Option(help="Names of the streams, topics, table and slot.")
    ] = "hw",
    shards: Annotated[int, typer.Option(help="Shards of a stream created here.")] = 1,
    cleanup: Annotated[
        bool, typer.Option(help="On stop, drop the streams, table, slot and MQTT session.")
    ] = False,
    log_level: LogLevel = "warning",
) -> None:
    """Run a mission topology end to end: simulators → MQTT, HTTP, PostgreSQL → streams."""
    from headwater.sources.topology import Topology, TopologySettings

    configure_logging(log_level)
    try:
        settings = TopologySettings(
            kind,
            endpoint_url=endpoint_url,
            region=region,
            mqtt=mqtt,
            postgres=postgres,
            ingest_port=ingest_port,
            rate=rate,
            count=count,
            seed=seed,
            prefix=prefix,
            shards=shards,
            cleanup=cleanup,
        )
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from None
    topology = Topology(settings, out=lambda line: print(line, flush=True))
    outcome: list[bool] = []

    async def start() -> None:
        outcome.append(await topology.run())

    run_until_signal(start, topology.stop)
    if outcome != [True]:
        raise typer.Exit(1)


def register_source_commands(app: typer.Typer) -> None:
    app.command("mqtt")(mqtt_command)
    app.command("ingest")(ingest_command)
    app.command("simulate")(simulate_command)
    app.command("cdc")(cdc_command)
    app.command("topology")(topology_command)
