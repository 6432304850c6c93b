"""``headwater tail STREAM``: every shard's records, merged by arrival time."""

from __future__ import annotations

import base64
import json
import sys
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.highlighter import JSONHighlighter
from rich.text import Text

from headwater.cli.common import (
    DEFAULT_ENDPOINT,
    EndpointOption,
    ProfileOption,
    RegionOption,
    StartPosition,
    connect,
    info,
    iso,
    lookup_field,
    parse_start,
    plural,
    stdout_console,
)
from headwater.cli.reader import ShardCursor, StreamReader, arrival_key


class OutputFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"
    data = "data"


# -- filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """``field=value`` / ``field!=value`` on a JSON record; ``field`` may be a dotted path."""

    path: tuple[str, ...]
    value: str
    negate: bool = False

    @classmethod
    def parse(cls, text: str) -> Condition:
        negate = "!=" in text
        field, sep, value = text.partition("!=" if negate else "=")
        if not sep or not field.strip():
            raise typer.BadParameter(f"{text!r}: use FIELD=VALUE or FIELD!=VALUE")
        return cls(tuple(field.strip().split(".")), value, negate)

    def matches(self, document: Any) -> bool:
        found, value = lookup_field(document, self.path)
        equal = found and _same(value, self.value)
        return not equal if self.negate else equal


def _same(value: Any, text: str) -> bool:
    if isinstance(value, str):
        return value == text
    if isinstance(value, bool) or value is None:
        return json.dumps(value) == text
    if isinstance(value, int | float):
        try:
            return value == float(text)
        except ValueError:
            return False
    return json.dumps(value, separators=(",", ":")) == text.replace(" ", "")


def parse_json(data: bytes) -> Any:
    """The record's JSON value, or ``NOT_JSON``."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


NOT_JSON = object()


# -- output --------------------------------------------------------------------------------


class Printer:
    """Writes records in the chosen format; colours only on a terminal."""

    def __init__(self, stream: str, output: OutputFormat, pretty: bool) -> None:
        self.stream = stream
        self.output = output
        self.pretty = pretty
        self.console: Console = stdout_console()
        self.terminal = self.console.is_terminal
        self.highlighter = JSONHighlighter()

    def emit(self, cursor: ShardCursor, record: dict[str, Any], document: Any) -> None:
        data: bytes = record["Data"]
        text = _text(data)
        if self.output is OutputFormat.jsonl:
            entry: dict[str, Any] = {
                "stream": self.stream,
                "shard": cursor.shard_id,
                "sequence": record["SequenceNumber"],
                "partition_key": record["PartitionKey"],
                "arrival": iso(record["ApproximateArrivalTimestamp"]),
            }
            if document is not NOT_JSON:
                entry["data"] = document
            elif text is not None:
                entry["data"] = text
            else:
                entry["data_base64"] = base64.b64encode(data).decode()
            self._write(json.dumps(entry, indent=2 if self.pretty else None, ensure_ascii=False))
            return
        payload = self._payload(data, text, document)
        if self.output is OutputFormat.data:
            self._write(payload)
            return
        arrival = iso(record["ApproximateArrivalTimestamp"])
        key = record["PartitionKey"]
        separator = "\n" if self.pretty and document is not NOT_JSON else "  "
        if self.terminal:
            line = Text.assemble(
                (arrival, "dim"), "  ", (cursor.shard_id, "cyan"), "  ", (key, "magenta")
            )
            line.append(separator)
            body = Text(payload)
            if document is not NOT_JSON:
                self.highlighter.highlight(body)
            line.append_text(body)
            self.console.print(line, soft_wrap=True)
        else:
            self._write(f"{arrival}  {cursor.shard_id}  {key}{separator}{payload}")

    def _payload(self, data: bytes, text: str | None, document: Any) -> str:
        if document is not NOT_JSON and self.pretty:
            return json.dumps(document, indent=2, ensure_ascii=False)
        if text is not None:
            return text
        return "base64:" + base64.b64encode(data).decode()

    def _write(self, line: str) -> None:
        if self.terminal and self.output is not OutputFormat.text:
            self.console.print(Text(line), soft_wrap=True)
        else:
            sys.stdout.write(line + "\n")

    def flush(self) -> None:
        sys.stdout.flush()


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# -- the merge -----------------------------------------------------------------------------


def tail_records(
    reader: StreamReader,
    printer: Printer,
    conditions: list[Condition],
    follow: bool,
    limit: int | None,
    duration: float | None,
) -> int:
    """Read and print until caught up (or, following, until ``limit``/``duration``/Ctrl-C).

    A record is printed only when no shard being read could still hold an earlier one: every
    active shard has records buffered, or has been read up to its current end.
    """
    deadline = None if duration is None else time.monotonic() + duration

    def wanted(cursor: ShardCursor) -> bool:
        if cursor.buffer:
            return False
        # Without --follow, a shard read to its end is done, unless it was closed when
        # listed: then one more read gives its children.
        return follow or not cursor.caught_up or cursor.closed

    printed = 0
    while True:
        for batch in reader.poll(wanted):
            batch.cursor.buffer.extend(batch.records)
        while True:
            cursors = list(reader.cursors.values())
            if any(not c.buffer and not c.caught_up and not c.finished for c in cursors):
                break  # a shard that may hold earlier records has not been read yet
            heads = [c for c in cursors if c.buffer]
            if not heads:
                break
            cursor = min(heads, key=lambda c: arrival_key(c.buffer[0]))
            record = cursor.buffer.popleft()
            document = parse_json(record["Data"]) if conditions or printer.pretty else NOT_JSON
            if conditions and not all(c.matches(document) for c in conditions):
                continue
            if printer.output is OutputFormat.jsonl and document is NOT_JSON:
                document = parse_json(record["Data"])
            printer.emit(cursor, record, document)
            printed += 1
            if limit is not None and printed >= limit:
                printer.flush()
                return printed
        printer.flush()
        reader.drop_drained()
        if not reader.cursors and not reader.pending:
            return printed  # every shard ended (the stream was resharded away or deleted)
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return printed
        wait = reader.seconds_until_due(wanted)
        if wait is None:
            if not follow:
                return printed
            wait = reader.poll_interval
        if deadline is not None:
            wait = min(wait, max(deadline - now, 0.0))
        if wait > 0:
            time.sleep(wait)


def tail_command(
    stream: Annotated[str, typer.Argument(help="Stream name or ARN.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new records as they arrive.")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="trim-horizon, latest, an ISO 8601 time (UTC unless given), epoch seconds or "
            "a duration ago like 10m. Default: latest with --follow, else trim-horizon.",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-w",
            help="Only JSON records whose FIELD (dotted path) equals VALUE: FIELD=VALUE, or "
            "FIELD!=VALUE. Repeat to require all.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Stop after this many records.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds.")
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="text: time, shard, key and data; jsonl: one JSON object per record; "
            "data: the data only.",
        ),
    ] = OutputFormat.text,
    pretty: Annotated[bool, typer.Option("--pretty", "-p", help="Indent JSON data.")] = False,
    poll_interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between reads of a shard that is idle.")
    ] = 0.5,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No status line on stderr when following.")
    ] = False,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Print a stream's records from all shards, merged by arrival time; follows resharding.

    Examples:

    `headwater tail sensors -f`

    `headwater tail sensors --from 10m --where source_type=iot --pretty`

    `headwater tail sensors --format data -n 100 > sample.jsonl`
    """
    position: StartPosition = parse_start(start or ("latest" if follow else "trim-horizon"))
    conditions = [Condition.parse(text) for text in where or []]
    printer = Printer(stream, output, pretty)
    with connect(endpoint_url, region, profile, stream=stream) as api:
        reader = StreamReader(api, stream, position, poll_interval=poll_interval)
        try:
            reader.open()
            if follow and not quiet:  # once this is printed, LATEST is fixed
                shards = plural(len(reader.cursors) + len(reader.pending), "shard")
                info(f"following {stream}: {shards} from {position.describe()} (Ctrl-C to stop)")
            tail_records(reader, printer, conditions, follow, limit, duration)
        except KeyboardInterrupt:
            printer.flush()
        finally:
            reader.close()
