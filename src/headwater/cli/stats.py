"""``headwater stats STREAM``: live per-shard record and byte rates, from reading the stream."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from headwater.cli.common import (
    DEFAULT_ENDPOINT,
    EndpointOption,
    ProfileOption,
    RegionOption,
    StartPosition,
    connect,
    human_bytes,
    parse_start,
    stdout_console,
    to_json,
)
from headwater.cli.reader import ShardCursor, StreamReader

#: How long ``--once`` keeps trying to read every shard once (throttled shards) past its
#: interval.
ONCE_GRACE_S = 10.0


@dataclass
class ShardRates:
    """Counts of one shard's records: totals and a sliding window of (time, records, bytes)."""

    shard_id: str
    records: int = 0
    bytes: int = 0
    samples: deque[tuple[float, int, int]] = field(default_factory=deque)
    state: str = "open"
    behind_ms: int | None = None

    def add(self, now: float, records: list[dict[str, Any]]) -> None:
        size = sum(len(record["Data"]) for record in records)
        self.records += len(records)
        self.bytes += size
        self.samples.append((now, len(records), size))

    def rates(self, now: float, window: float, since: float) -> tuple[float, float]:
        while self.samples and self.samples[0][0] < now - window:
            self.samples.popleft()
        span = max(min(window, now - since), 1e-3)
        records = sum(sample[1] for sample in self.samples)
        size = sum(sample[2] for sample in self.samples)
        return records / span, size / span


class StreamStats:
    def __init__(self, stream: str, start: StartPosition, window: float) -> None:
        self.stream = stream
        self.start = start
        self.window = window
        self.started = time.monotonic()
        self.shards: dict[str, ShardRates] = {}

    def track(self, cursor: ShardCursor) -> ShardRates:
        rates = self.shards.get(cursor.shard_id)
        if rates is None:
            rates = self.shards[cursor.shard_id] = ShardRates(cursor.shard_id)
        return rates

    def record(self, cursor: ShardCursor, records: list[dict[str, Any]], now: float) -> None:
        rates = self.track(cursor)
        rates.add(now, records)
        rates.state = cursor.state
        rates.behind_ms = cursor.behind_ms

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        shards = []
        total_rate = total_byte_rate = 0.0
        for shard_id in sorted(self.shards):
            rates = self.shards[shard_id]
            record_rate, byte_rate = rates.rates(now, self.window, self.started)
            total_rate += record_rate
            total_byte_rate += byte_rate
            shards.append(
                {
                    "shard": shard_id,
                    "state": rates.state,
                    "records_per_s": round(record_rate, 3),
                    "bytes_per_s": round(byte_rate, 3),
                    "records": rates.records,
                    "bytes": rates.bytes,
                    "millis_behind_latest": rates.behind_ms,
                }
            )
        return {
            "stream": self.stream,
            "from": self.start.describe(),
            "elapsed_s": round(now - self.started, 3),
            "window_s": self.window,
            "records_per_s": round(total_rate, 3),
            "bytes_per_s": round(total_byte_rate, 3),
            "records": sum(rates.records for rates in self.shards.values()),
            "bytes": sum(rates.bytes for rates in self.shards.values()),
            "shards": shards,
        }

    def render(self) -> Group:
        data = self.snapshot()
        table = Table(
            title=f"{self.stream}: records read since {data['from']}",
            caption=f"rates over the last {self.window:g} s · {data['elapsed_s']:.1f} s elapsed",
        )
        table.add_column("shard", no_wrap=True)
        table.add_column("state")
        table.add_column("rec/s", justify="right")
        table.add_column("bytes/s", justify="right")
        table.add_column("records", justify="right")
        table.add_column("bytes", justify="right")
        table.add_column("behind", justify="right")
        for shard in data["shards"]:
            behind = shard["millis_behind_latest"]
            table.add_row(
                shard["shard"],
                shard["state"],
                f"{shard['records_per_s']:,.1f}",
                human_bytes(shard["bytes_per_s"]),
                f"{shard['records']:,}",
                human_bytes(shard["bytes"]),
                "-" if behind is None else f"{behind:,} ms",
            )
        table.add_section()
        table.add_row(
            Text("total", style="bold"),
            "",
            f"{data['records_per_s']:,.1f}",
            human_bytes(data["bytes_per_s"]),
            f"{data['records']:,}",
            human_bytes(data["bytes"]),
            "",
        )
        return Group(table)


def collect(reader: StreamReader, stats: StreamStats) -> None:
    """Read once from every due shard and count what came."""
    for batch in reader.poll(lambda cursor: True):
        stats.record(batch.cursor, batch.records, time.monotonic())
    for cursor in reader.cursors.values():
        stats.track(cursor).state = cursor.state
    for shard_id in reader.ended:
        if shard_id in stats.shards:
            stats.shards[shard_id].state = "ended"
    reader.drop_drained()


def stats_command(
    stream: Annotated[str, typer.Argument(help="Stream name or ARN.")],
    start: Annotated[
        str,
        typer.Option(
            "--from",
            help="Where reading starts: latest (live rates), trim-horizon, an ISO 8601 time, "
            "epoch seconds or a duration ago like 10m.",
        ),
    ] = "latest",
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between refreshes (and --once's sample).")
    ] = 1.0,
    window: Annotated[float, typer.Option(min=0.1, help="Rates over the last N seconds.")] = 5.0,
    once: Annotated[
        bool, typer.Option("--once", help="Sample for one interval, print once and exit.")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final numbers as JSON (no live table).")
    ] = False,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Live per-shard record and byte rates, computed from the records read (from LATEST).

    The table refreshes in place until Ctrl-C, --duration or --once. Resharding shows as
    parents ending and children appearing.
    """
    position = parse_start(start)
    stats = StreamStats(stream, position, window)
    console = stdout_console()
    live: Live | None = None
    with connect(endpoint_url, region, profile, stream=stream) as api:
        reader = StreamReader(api, stream, position, poll_interval=min(interval, 1.0) / 2)
        try:
            reader.open()
            stats.started = time.monotonic()
            if once:
                stop = stats.started + interval
                give_up = stop + ONCE_GRACE_S
            else:
                stop = give_up = stats.started + duration if duration is not None else None
            live = (
                Live(stats.render(), console=console, auto_refresh=False, transient=False)
                if not as_json and not once
                else None
            )
            try:
                if live is not None:
                    live.start()
                next_refresh = time.monotonic() + interval
                while True:
                    collect(reader, stats)
                    now = time.monotonic()
                    read_all = all(cursor.reads > 0 for cursor in reader.active())
                    if stop is not None and now >= stop and (read_all or now >= give_up):
                        break
                    if live is not None and now >= next_refresh:
                        live.update(stats.render(), refresh=True)
                        next_refresh = now + interval
                    wait = reader.seconds_until_due(lambda cursor: True)
                    wait = reader.poll_interval if wait is None else wait
                    wait = min(wait, max(next_refresh - now, 0.0))
                    if stop is not None:
                        wait = min(wait, max(stop - now, 0.0))
                    time.sleep(max(wait, 0.01))
            except KeyboardInterrupt:
                pass
            finally:
                if live is not None:
                    live.update(stats.render(), refresh=True)
                    live.stop()
        finally:
            reader.close()
    if as_json:
        typer.echo(to_json(stats.snapshot(), indent=2))
    elif live is None:
        console.print(stats.render())
