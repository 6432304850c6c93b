"""Every command fails with one helpful line and a non-zero exit code, never a traceback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from headwater.cli.common import describe_error, parse_start, shard_id
from tests.support.server import HeadwaterServer, free_port

ACCESS_KEY = "AKIDCLITEST"
SECRET_KEY = "cli/Secret+Key0123456789abcdefghijklmnop"

#: Every client command, naming the stream "S".
COMMANDS = [
    ["streams", "list"],
    ["streams", "create", "S"],
    ["streams", "describe", "S"],
    ["streams", "delete", "S", "--yes"],
    ["streams", "reshard", "S", "--target", "2"],
    ["streams", "reshard", "S", "--split", "0"],
    ["streams", "mode", "S", "ON_DEMAND"],
    ["put", "S"],
    ["tail", "S"],
    ["tail", "S", "--follow", "--limit", "1"],
    ["stats", "S", "--once"],
    ["consumers", "list", "S"],
    ["consumers", "register", "S", "c"],
    ["consumers", "deregister", "S", "c"],
]


def _with_stream(args: list[str], stream: str) -> list[str]:
    return [stream if arg == "S" else arg for arg in args]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: "-".join(args[:2]))
def test_server_down(cli, args: list[str]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = cli(*args, "--endpoint-url", endpoint, input="x\n")
    assert result.exit_code == 3, result.output
    assert result.stderr == (
        f"error: cannot reach Headwater at {endpoint}: start it with `headwater serve`\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args", [args for args in COMMANDS if "S" in args and "create" not in args],
    ids=lambda args: "-".join(args[:2]),
)  # fmt: skip
def test_missing_stream(cli, server: HeadwaterServer, stream_name: str, args: list[str]) -> None:
    result = cli(*_with_stream(args, stream_name), input="x\n")
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"error: stream '{stream_name}' not found at {server.endpoint} "
        f"(create it with `headwater streams create {stream_name}`)\n"
    )
    assert "Traceback" not in result.output


def test_existing_stream_is_refused_with_the_service_message(cli, make_stream) -> None:
    stream = make_stream(1)
    result = cli("streams", "create", stream)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: CreateStream: ")
    assert stream in result.stderr and "Traceback" not in result.output


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HeadwaterServer, Path]]:
    """A server that verifies signatures; its credentials file doubles as the client's."""
    credentials = tmp_path_factory.mktemp("cli-auth") / "credentials"
    credentials.write_text(
        f"[ops]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    running = HeadwaterServer(
        credentials.parent / "data", "--credentials", str(credentials)
    ).start()
    try:
        yield running, credentials
    finally:
        running.stop()


def test_access_denied_and_profiles(cli, monkeypatch, secured) -> None:
    server, credentials = secured
    denied = cli("streams", "list", "--endpoint-url", server.endpoint)
    assert denied.exit_code == 1
    assert denied.stderr.startswith(
        f"error: access denied by {server.endpoint} (UnrecognizedClientException): "
    )
    assert "--profile" in denied.stderr

    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    allowed = cli("streams", "list", "--endpoint-url", server.endpoint, "--profile", "ops")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout.strip() == f"no streams at {server.endpoint}"

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    wrong = cli("streams", "list", "--endpoint-url", server.endpoint)
    assert wrong.exit_code == 1 and "(InvalidSignatureException)" in wrong.stderr

    unknown = cli("streams", "list", "--endpoint-url", server.endpoint, "--profile", "nobody")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: AWS profile 'nobody' not found")


def test_no_credentials_for_a_remote_endpoint(cli) -> None:
    """Dummy keys are only for loopback: AWS without credentials fails before any request."""
    result = cli("streams", "list", "--endpoint-url", "aws", "--region", "eu-west-1")
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "error: no AWS credentials found for https://kinesis.eu-west-1.amazonaws.com"
    )


def _client_error(code: str, message: str, operation: str = "GetRecords") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (
            _client_error("ProvisionedThroughputExceededException", "Rate exceeded for shard"),
            "GetRecords throttled or over a limit (ProvisionedThroughputExceededException): "
            "Rate exceeded for shard",
            1,
        ),
        (
            _client_error("LimitExceededException", "10 per day", "UpdateShardCount"),
            "UpdateShardCount throttled or over a limit (LimitExceededException): 10 per day",
            1,
        ),
        (
            _client_error("AccessDeniedException", "not allowed", "PutRecords"),
            "access denied by http://127.0.0.1:4567 (AccessDeniedException): not allowed "
            "(check your credentials, --profile or the stream's policy)",
            1,
        ),
        (
            _client_error("InternalFailure", "boom", "ListShards"),
            "ListShards failed (InternalFailure): boom",
            1,
        ),
        (
            EndpointConnectionError(endpoint_url="https://kinesis.us-east-1.amazonaws.com/"),
            "cannot reach Kinesis at https://kinesis.us-east-1.amazonaws.com: check the "
            "endpoint and your network",
            3,
        ),
        (
            ReadTimeoutError(endpoint_url="http://127.0.0.1:4567"),
            "Headwater at http://127.0.0.1:4567 did not answer in time",
            3,
        ),
    ],
)
def test_error_lines(error: Exception, expected: str, code: int) -> None:
    endpoint = (
        "https://kinesis.us-east-1.amazonaws.com"
        if isinstance(error, EndpointConnectionError)
        else "http://127.0.0.1:4567"
    )
    assert describe_error(error, endpoint) == (expected, code)


def test_start_positions() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_start("trim-horizon").kind == "TRIM_HORIZON"
    assert parse_start("TRIM_HORIZON").kind == "TRIM_HORIZON"
    assert parse_start("latest").kind == "LATEST"
    assert parse_start("10m", lambda: now).timestamp == now - dt.timedelta(minutes=10)
    assert parse_start("1.5h", lambda: now).timestamp == now - dt.timedelta(minutes=90)
    assert parse_start("2024-05-01T10:00:00").timestamp == dt.datetime(
        2024, 5, 1, 10, tzinfo=dt.UTC
    )
    assert parse_start("2024-05-01T12:00:00+02:00").timestamp == dt.datetime(
        2024, 5, 1, 10, tzinfo=dt.UTC
    )
    assert parse_start("1714557600").timestamp == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    assert parse_start("1714557600250").timestamp == dt.datetime(
        2024, 5, 1, 10, 0, 0, 250000, tzinfo=dt.UTC
    )
    assert shard_id("7") == "shardId-000000000007"
    assert shard_id("shardId-000000000007") == "shardId-000000000007"
