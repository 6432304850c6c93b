"""What every client command shares: connection options, the Kinesis client, errors, output.

The commands speak only the Kinesis API, through botocore's client (the one boto3 hands out),
so they work against any Headwater and against AWS. Errors become one line on stderr and a
non-zero exit code; a traceback is shown only with ``HEADWATER_DEBUG=1``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn
from urllib.parse import urlsplit

import typer
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.session import Session
from rich.console import Console

DEFAULT_ENDPOINT = "http://127.0.0.1:4567"
#: ``--endpoint-url aws`` (or an empty value) means AWS' regional endpoint.
AWS_ENDPOINT_WORDS = frozenset({"", "aws", "AWS"})
DEFAULT_REGION = "us-east-1"
LOCAL_ACCESS_KEY = "headwater-local"

EXIT_ERROR = 1  # the service refused, a record failed, a wait timed out
EXIT_USAGE = 2  # bad options (click's code for usage errors too)
EXIT_UNREACHABLE = 3  # no connection, no credentials
EXIT_INTERRUPTED = 130

#: Error codes that mean "slow down": retried with backoff by ``Api.call``.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    }
)
#: Kinesis answers LimitExceededException both for rate limits of read-only calls (retry) and
#: for quotas such as "10 reshards per day" (do not): only these operations retry on it.
LIMIT_RETRY_OPERATIONS = frozenset(
    {
        "describe_stream",
        "describe_stream_summary",
        "describe_stream_consumer",
        "list_shards",
        "list_streams",
        "list_stream_consumers",
        "get_shard_iterator",
    }
)
ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
    }
)
CALL_ATTEMPTS = 6

CONNECTION = "Connection"
EndpointOption = Annotated[
    str,
    typer.Option(
        "--endpoint-url",
        envvar="HEADWATER_ENDPOINT",
        help="Kinesis endpoint; 'aws' for AWS' regional endpoint.",
        rich_help_panel=CONNECTION,
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="AWS region (default: the profile's, else us-east-1).",
        rich_help_panel=CONNECTION,
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile", help="AWS profile for credentials and region.", rich_help_panel=CONNECTION
    ),
]

StreamArgument = Annotated[str, typer.Argument(help="Stream name or ARN.")]
WaitOption = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Wait until the change is done.")
]
TimeoutOption = Annotated[float, typer.Option(min=0, help="Seconds to wait at most.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def is_loopback(endpoint: str | None) -> bool:
    """True for http(s)://localhost, 127.0.0.0/8 and [::1] endpoints."""
    if not endpoint:
        return False
    host = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- output ------------------------------------------------------------------------------


def stdout_console() -> Console:
    """Rich console on stdout; wide lines (no wrapping) when stdout is not a terminal."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(width=width, highlight=False)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def warn(message: str) -> None:
    stderr_console().print(f"[yellow]warning:[/] {message}", soft_wrap=True)


def info(message: str) -> None:
    stderr_console().print(message, soft_wrap=True, markup=False, style="dim")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    console = stderr_console()
    console.print("[bold red]error:[/] ", end="", soft_wrap=True)
    console.print(message, soft_wrap=True, markup=False)
    raise typer.Exit(code)


def iso(value: dt.datetime | None) -> str:
    """UTC ISO 8601 with milliseconds and a Z: ``2024-05-01T12:00:00.250Z``."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_json(value: Any, indent: int | None = None) -> str:
    def default(item: Any) -> Any:
        if isinstance(item, dt.datetime):
            return iso(item)
        if isinstance(item, bytes | bytearray):
            return item.decode("utf-8", "replace")
        raise TypeError(f"not JSON serializable: {type(item).__name__}")

    return json.dumps(value, indent=indent, default=default, ensure_ascii=False)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


# -- arguments -----------------------------------------------------------------------------

_SHARD_NUMBER = re.compile(r"^\d+$")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def lookup_field(document: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """``(found, value)`` at a dotted path (``a.b.0``) of a JSON document."""
    for part in path:
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return False, None
    return True, document


def shard_id(text: str) -> str:
    """``3`` → ``shardId-000000000003``; full ids pass through."""
    text = text.strip()
    return f"shardId-{int(text):012d}" if _SHARD_NUMBER.match(text) else text


def stream_ref(stream: str) -> dict[str, str]:
    """Request parameters naming a stream by name, or by ARN when given one."""
    return {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}


@dataclass(frozen=True)
class StartPosition:
    """Where reading starts: ``TRIM_HORIZON``, ``LATEST`` or ``AT_TIMESTAMP`` (UTC)."""

    kind: str
    timestamp: dt.datetime | None = None

    def describe(self) -> str:
        return iso(self.timestamp) if self.timestamp else self.kind

    def iterator_args(self) -> dict[str, Any]:
        if self.kind == "AT_TIMESTAMP":
            return {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": self.timestamp}
        return {"ShardIteratorType": self.kind}


def parse_start(text: str, now: Callable[[], dt.datetime] | None = None) -> StartPosition:
    """``trim-horizon``, ``latest``, an ISO 8601 time (UTC unless it says otherwise), epoch
    seconds, or a duration ago such as ``10m``, ``90s``, ``2h``, ``1d``."""
    value = text.strip()
    word = value.upper().replace("-", "_")
    if word in {"TRIM_HORIZON", "OLDEST", "BEGINNING"}:
        return StartPosition("TRIM_HORIZON")
    if word in {"LATEST", "NOW", "END"}:
        return StartPosition("LATEST")
    current = (now or (lambda: dt.datetime.now(dt.UTC)))()
    relative = _RELATIVE.match(value.lower())
    if relative:
        seconds = float(relative.group(1)) * _UNITS[relative.group(2)]
        return StartPosition("AT_TIMESTAMP", current - dt.timedelta(seconds=seconds))
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        seconds = number / 1000 if number > 1e11 else number  # epoch milliseconds or seconds
        return StartPosition("AT_TIMESTAMP", dt.datetime.fromtimestamp(seconds, dt.UTC))
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "use trim-horizon, latest, an ISO 8601 time, epoch seconds or a duration like 10m"
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return StartPosition("AT_TIMESTAMP", stamp.astimezone(dt.UTC))


# -- the client ----------------------------------------------------------------------------


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Message") or error.get("Code") or exc)


class Api:
    """A botocore Kinesis client plus where it points; ``call`` retries throttling."""

    def __init__(self, client: Any, endpoint: str | None, region: str) -> None:
        self.client = client
        self.endpoint = endpoint
        self.region = region
        self.local = is_loopback(endpoint)

    @property
    def display_endpoint(self) -> str:
        return self.endpoint or f"https://kinesis.{self.region}.amazonaws.com"

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """``client.<operation>(**params)``, retrying throttling with jittered backoff."""
        method = getattr(self.client, operation)
        for attempt in range(CALL_ATTEMPTS):
            try:
                return method(**params)
            except ClientError as exc:
                code = error_code(exc)
                retry = code in THROTTLING_CODES or (
                    code == "LimitExceededException" and operation in LIMIT_RETRY_OPERATIONS
                )
                if not retry or attempt == CALL_ATTEMPTS - 1:
                    raise
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def summary(self, stream: str) -> dict[str, Any]:
        return self.call("describe_stream_summary", **stream_ref(stream))[
            "StreamDescriptionSummary"
        ]

    def shards(self, stream: str, shard_filter: dict[str, Any] | None = None) -> list[dict]:
        """Every shard ListShards returns (all pages)."""
        params: dict[str, Any] = dict(stream_ref(stream))
        if shard_filter:
            params["ShardFilter"] = shard_filter
        shards: list[dict] = []
        while True:
            page = self.call("list_shards", **params)
            shards.extend(page.get("Shards", []))
            token = page.get("NextToken")
            if not token:
                return shards
            params = {"NextToken": token}

    def wait(
        self, done: Callable[[], bool], what: str, timeout: float, max_interval: float = 1.0
    ) -> None:
        """Poll ``done`` (quickly at first, then up to every ``max_interval`` s) until true."""
        deadline = time.monotonic() + timeout
        interval = 0.05
        while not done():
            if time.monotonic() >= deadline:
                fail(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(min(interval, max(deadline - time.monotonic(), 0)))
            interval = min(interval * 2, max_interval)

    def wait_active(self, stream: str, timeout: float) -> dict[str, Any]:
        state: dict[str, Any] = {}

        def active() -> bool:
            state.update(self.summary(stream))
            return state.get("StreamStatus") == "ACTIVE"

        self.wait(active, f"stream '{stream}' to become ACTIVE", timeout)
        return state


def backoff(attempt: int, base: float = 0.1, cap: float = 2.0) -> float:
    """Full-jitter exponential backoff: a random delay up to ``base * 2**attempt`` (capped)."""
    return random.uniform(base / 2, min(cap, base * 2**attempt))


class MissingCredentials(NoCredentialsError):
    """Nothing in the AWS chain has credentials, and the endpoint is not loopback."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint


def make_client(endpoint_url: str | None, region: str | None, profile: str | None) -> Api:
    """A Kinesis client: credentials from the AWS chain (``--profile``, env, files, SSO...),
    falling back to dummy keys for a loopback endpoint when nothing is configured."""
    endpoint = (endpoint_url or "").strip()
    endpoint = None if endpoint in AWS_ENDPOINT_WORDS else endpoint
    loopback = is_loopback(endpoint)
    session = Session(profile=profile)
    if loopback:
        # No instance-metadata probe (a 1 s timeout off EC2) just to talk to a local server.
        session.get_component("credential_provider").remove("iam-role")
    region = region or session.get_config_variable("region") or DEFAULT_REGION
    keys: dict[str, str] = {}
    try:
        credentials = session.get_credentials()
    except (ProfileNotFound, PartialCredentialsError):
        raise
    except BotoCoreError:
        # e.g. an expired SSO session: irrelevant to a local server unless asked for by name
        if not loopback or profile:
            raise
        credentials = None
    if credentials is None:
        if not loopback:
            raise MissingCredentials(endpoint or f"https://kinesis.{region}.amazonaws.com")
        keys = {"aws_access_key_id": LOCAL_ACCESS_KEY, "aws_secret_access_key": LOCAL_ACCESS_KEY}
    config = Config(
        retries={"total_max_attempts": 1},  # Api.call retries throttling; refusals fail fast
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=32,
        user_agent_extra="headwater-cli",
    )
    client = session.create_client(
        "kinesis", region_name=region, endpoint_url=endpoint, config=config, **keys
    )
    return Api(client, endpoint, region)


@contextmanager
def connect(
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    stream: str | None = None,
) -> Iterator[Api]:
    """Yield an ``Api``; turn anything that goes wrong into one line and an exit code."""
    target = endpoint_url or DEFAULT_ENDPOINT
    try:
        api = make_client(endpoint_url, region, profile)
        target = api.display_endpoint
        yield api
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(0) from None
    except Exception as exc:
        if os.environ.get("HEADWATER_DEBUG"):
            raise
        message, code = describe_error(exc, target, stream, profile)
        fail(message, code)


def describe_error(
    exc: BaseException, endpoint: str, stream: str | None = None, profile: str | None = None
) -> tuple[str, int]:
    """One line for the user, and the exit code, for an exception from a command."""
    aws = not is_loopback(endpoint) and "amazonaws.com" in endpoint
    service = "Kinesis" if aws else "Headwater"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
        hint = "check the endpoint and your network" if aws else "start it with `headwater serve`"
        return f"cannot reach {service} at {endpoint}: {hint}", EXIT_UNREACHABLE
    if isinstance(exc, ReadTimeoutError):
        return f"{service} at {endpoint} did not answer in time", EXIT_UNREACHABLE
    if isinstance(exc, ProfileNotFound):
        return f"AWS profile '{profile}' not found in ~/.aws/config or credentials", EXIT_USAGE
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        endpoint = exc.endpoint if isinstance(exc, MissingCredentials) else endpoint
        return (
            f"no AWS credentials found for {endpoint}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, use --profile, or run `aws configure`",
            EXIT_UNREACHABLE,
        )
    if isinstance(exc, ClientError):
        return _client_error(exc, endpoint, stream), EXIT_ERROR
    if isinstance(exc, BotoCoreError):
        return f"talking to {endpoint}: {exc}", EXIT_ERROR
    if isinstance(exc, OSError):
        return str(exc), EXIT_ERROR
    return (
        f"unexpected {type(exc).__name__}: {exc} (HEADWATER_DEBUG=1 shows the traceback)",
        EXIT_ERROR,
    )


def _client_error(exc: ClientError, endpoint: str, stream: str | None) -> str:
    code = error_code(exc)
    message = error_message(exc)
    operation = exc.operation_name
    if code == "ResourceNotFoundException":
        lowered = message.replace(stream or "", "").lower()  # the name may say "consumer"
        if stream and "consumer" not in lowered and ("stream" in lowered or not lowered):
            return (
                f"stream '{stream}' not found at {endpoint} "
                f"(create it with `headwater streams create {stream}`)"
            )
        return f"not found: {message}"
    if code in THROTTLING_CODES or code == "LimitExceededException":
        return f"{operation} throttled or over a limit ({code}): {message}"
    if code in ACCESS_CODES:
        return (
            f"access denied by {endpoint} ({code}): {message} "
            "(check your credentials, --profile or the stream's policy)"
        )
    if code == "ResourceInUseException":
        return f"{operation}: {message}"
    if code in {"ValidationException", "InvalidArgumentException", "SerializationException"}:
        return f"{operation} rejected: {message}"
    return f"{operation} failed ({code}): {message}"


def _silence_stdout() -> None:
    """After EPIPE (``headwater tail s | head``): point stdout at /dev/null so the interpreter's
    final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
