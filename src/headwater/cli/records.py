"""``headwater put STREAM``: lines or JSON records from stdin or files, in PutRecords batches."""

from __future__ import annotations

import io
import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from headwater.cli.common import (
    DEFAULT_ENDPOINT,
    EXIT_ERROR,
    EXIT_USAGE,
    Api,
    EndpointOption,
    ProfileOption,
    RegionOption,
    backoff,
    connect,
    fail,
    human_bytes,
    info,
    lookup_field,
    plural,
    stderr_console,
    stream_ref,
    warn,
)

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    data: bytes
    key: str
    origin: str  # file:line, for messages
    consumed: int  # input bytes this record used (for the progress bar)


class InputError(Exception):
    """A record that cannot be sent (bad JSON); the message names file and line."""


@dataclass
class KeyChooser:
    """The partition key of each record: a JSON field, a fixed key or a random one."""

    field: tuple[str, ...] | None = None
    fixed: str | None = None
    missing: int = 0

    def key(self, document: Any) -> str:
        if self.fixed is not None:
            return self.fixed
        if self.field is not None:
            found, value = lookup_field(document, self.field)
            if found and value is not None and value != "":
                text = value if isinstance(value, str) else json.dumps(value)
                return text[:256]
            self.missing += 1
        return uuid.uuid4().hex


def read_entries(
    sources: list[tuple[str, IO[bytes]]], as_json: bool, keys: KeyChooser
) -> Iterator[Entry]:
    """Records from each source in turn: one per non-empty line, or per element when a JSON
    source holds one array."""
    for name, handle in sources:
        if as_json:
            if not hasattr(handle, "peek"):
                handle = io.BufferedReader(handle)
            if handle.peek(64)[:64].lstrip().startswith(b"["):
                yield from _array_entries(name, handle, keys)
                continue
        for number, line in enumerate(handle, start=1):
            consumed = len(line)
            body = line.rstrip(b"\r\n")
            if not body.strip():
                continue
            document: Any = None
            if as_json:
                try:
                    document = json.loads(body)
                except ValueError as exc:
                    raise InputError(f"{name}:{number}: not valid JSON ({exc})") from None
            yield Entry(body, keys.key(document), f"{name}:{number}", consumed)


def _array_entries(name: str, handle: IO[bytes], keys: KeyChooser) -> Iterator[Entry]:
    content = handle.read()
    try:
        documents = json.loads(content)
    except ValueError as exc:
        raise InputError(f"{name}: not valid JSON ({exc})") from None
    if not documents:
        return
    share = len(content) // len(documents)
    for index, document in enumerate(documents):
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        yield Entry(data, keys.key(document), f"{name}[{index}]", share)


def batches(entries: Iterator[Entry]) -> Iterator[list[Entry]]:
    """Groups within PutRecords' limits: 500 records and 5 MiB of data plus keys."""
    batch: list[Entry] = []
    size = 0
    for entry in entries:
        entry_size = len(entry.data) + len(entry.key.encode())
        if batch and (len(batch) >= MAX_BATCH_RECORDS or size + entry_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch


@dataclass
class PutTally:
    records: int = 0
    bytes: int = 0
    retried: int = 0
    failed: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # error code -> last message


def send(api: Api, stream: str, batch: list[Entry], tally: PutTally, max_retries: int) -> None:
    """PutRecords, then again for the records that failed (throttled...), with backoff."""
    pending = batch
    for attempt in range(max_retries + 1):
        response = api.call(
            "put_records",
            **stream_ref(stream),
            Records=[{"Data": entry.data, "PartitionKey": entry.key} for entry in pending],
        )
        failed = []
        for entry, result in zip(pending, response["Records"], strict=True):
            if "ErrorCode" in result:
                failed.append(entry)
                tally.errors[result["ErrorCode"]] = result.get("ErrorMessage", "")
            else:
                tally.records += 1
                tally.bytes += len(entry.data)
        if not failed:
            return
        if attempt == max_retries:
            tally.failed += len(failed)
            return
        tally.retried += len(failed)
        pending = failed
        time.sleep(backoff(attempt, base=0.2, cap=2.0))


def put_command(
    stream: Annotated[str, typer.Argument(help="Stream name or ARN.")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Files to read ('-' or none: stdin).", show_default=False),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Input is JSON: one document per line, or one array per file (sent compact).",
        ),
    ] = False,
    key_field: Annotated[
        str | None,
        typer.Option(
            "--key-field",
            "-k",
            help="Partition key from this JSON field (dotted path); implies --json.",
        ),
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="One fixed partition key for every record.")
    ] = None,
    max_retries: Annotated[
        int, typer.Option(min=0, help="Retries of records PutRecords failed (throttling).")
    ] = 10,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar for files (default: on a terminal)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
    endpoint_url: EndpointOption = DEFAULT_ENDPOINT,
    region: RegionOption = None,
    profile: ProfileOption = None,
) -> None:
    """Put records: each line of the input is one record (empty lines are skipped).

    The partition key is random unless --key or --key-field chooses it. Records go in
    PutRecords batches of up to 500; records the stream throttles are retried with backoff.

    Example: `headwater put sensors readings.jsonl --key-field device_id`
    """
    if key is not None and key_field is not None:
        fail("use either --key or --key-field, not both", EXIT_USAGE)
    if key is not None and not 1 <= len(key.encode()) <= 256:
        fail("--key must be 1 to 256 bytes", EXIT_USAGE)
    keys = KeyChooser(tuple(key_field.split(".")) if key_field else None, key)
    as_json = as_json or key_field is not None
    paths = [path for path in files or [] if str(path) != "-"]
    use_stdin = not files or any(str(path) == "-" for path in files)
    for path in paths:
        if not path.is_file():
            fail(f"no such file: {path}", EXIT_USAGE)
    total = sum(path.stat().st_size for path in paths)
    console = stderr_console()
    show = (console.is_terminal if progress is None else progress) and bool(paths)
    tally = PutTally()
    started = time.monotonic()
    with connect(endpoint_url, region, profile, stream=stream) as api:
        api.summary(stream)  # a missing stream fails here, before any input is read
        handles: list[tuple[str, IO[bytes]]] = []
        if use_stdin:
            if sys.stdin.isatty():
                info("reading records from stdin, one per line (Ctrl-D ends)")
            handles.append(("<stdin>", typer.get_binary_stream("stdin")))
        opened = [(str(path), path.open("rb")) for path in paths]
        handles.extend(opened)
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]:,} records"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not show,
            transient=False,
        )
        try:
            with bar:
                task = bar.add_task(f"put {stream}", total=total or None, records=0)
                for batch in batches(read_entries(handles, as_json, keys)):
                    send(api, stream, batch, tally, max_retries)
                    bar.update(
                        task,
                        advance=sum(entry.consumed for entry in batch),
                        records=tally.records,
                    )
        except InputError as exc:
            fail(f"{exc} (after {plural(tally.records, 'record')} put)", EXIT_ERROR)
        finally:
            for _, handle in opened:
                handle.close()
    elapsed = time.monotonic() - started
    if keys.missing:
        missing = plural(keys.missing, "record")
        warn(f"{missing} had no '{key_field}': they got random partition keys")
    if not quiet:
        retried = f", {tally.retried:,} retries" if tally.retried else ""
        typer.echo(
            f"put {plural(tally.records, 'record')} ({human_bytes(tally.bytes)}) to {stream} "
            f"in {elapsed:.1f} s{retried}"
        )
    if tally.failed:
        reasons = "; ".join(f"{code}: {message}" for code, message in tally.errors.items())
        fail(f"{plural(tally.failed, 'record')} failed after {max_retries} retries ({reasons})")
