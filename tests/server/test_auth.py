"""SigV4 enforcement, the refusal to run open on a reachable address, and unroutable requests.

A server given ``--credentials FILE`` (AWS INI format) must accept exactly the requests AWS
accepts for those keys and reject the rest with AWS' error types and messages: clients show
those messages to users, and SDKs key retries and clock-skew correction off the types.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.auth
import httpx
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.support.server import HeadwaterServer, free_port

ACCESS_KEY = "AKIDHEADWATER"
SECRET_KEY = "hw/Secret+Key0123456789abcdefghijklmnopq"
JSON_TYPE = "application/x-amz-json-1.1"
TARGET = "Kinesis_20131202.ListStreams"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
UNKNOWN_KEY = "The security token included in the request is invalid."
_BASIC = re.compile(r"\d{8}T\d{6}Z")
_ENV_KEYS = ("HEADWATER_ACCESS_KEY_ID", "HEADWATER_SECRET_ACCESS_KEY")


def client(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )


def signed_headers(
    url: str,
    body: bytes,
    secret_key: str = SECRET_KEY,
    content_type: str = JSON_TYPE,
    target: str = TARGET,
) -> dict[str, str]:
    """Content-Type, X-Amz-Target, X-Amz-Date and Authorization, as botocore signs them."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": content_type, "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(ACCESS_KEY, secret_key), "kinesis", "us-east-1").add_auth(request)
    return dict(request.headers.items())


class _PresignKeepingBody(SigV4QueryAuth):
    """botocore's query-string signer, minus its habit of moving a form body into the query.

    Kinesis takes a JSON body, so the presigned form signs the URL's query parameters and the
    body's SHA-256, as AWS' SigV4 does for any non-S3 service.
    """

    def _modify_request_before_signing(self, request: AWSRequest) -> None:
        body, request.data = request.data, b""
        super()._modify_request_before_signing(request)
        request.data = body


def aws_error(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"] == JSON_TYPE
    return response.json()


@pytest.fixture(scope="module")
def credentials_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "credentials"
    path.write_text(
        "[default]\n"
        f"aws_access_key_id = {ACCESS_KEY}\n"
        f"aws_secret_access_key = {SECRET_KEY}\n"
        "\n[profile-with-region-only]\nregion = eu-west-1\n"
    )
    return path


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, credentials_file: Path
) -> Iterator[HeadwaterServer]:
    """A server that verifies signatures against ``credentials_file``."""
    data_dir = tmp_path_factory.mktemp("auth-server") / "data"
    running = HeadwaterServer(data_dir, "--credentials", str(credentials_file)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as session:
        yield session


def test_correct_credentials_work_end_to_end(secured: HeadwaterServer, stream_name: str) -> None:
    kinesis = client(secured.endpoint)
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    put = kinesis.put_record(StreamName=stream_name, Data=b"\x00signed\xff", PartitionKey="k")
    iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [r["Data"] for r in records] == [b"\x00signed\xff"]
    assert stream_name in kinesis.list_streams()["StreamNames"]


def test_wrong_secret_is_invalid_signature(secured: HeadwaterServer) -> None:
    with pytest.raises(ClientError) as caught:
        client(secured.endpoint, secret_key=SECRET_KEY + "x").list_streams()
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["Error"]["Message"] == SIGNATURE_MISMATCH
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_access_key_is_unrecognized_client(secured: HeadwaterServer) -> None:
    with pytest.raises(ClientError) as caught:
        client(secured.endpoint, access_key="AKIDSOMEONEELSE").list_streams()
    error = caught.value.response
    assert error["Error"]["Code"] == "UnrecognizedClientException"
    assert error["Error"]["Message"] == UNKNOWN_KEY
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_stale_signature_has_expired(
    secured: HeadwaterServer, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed 20 minutes ago: outside AWS' 5-minute window, with AWS' message."""
    stale = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: stale)
    url = secured.endpoint + "/"
    headers = signed_headers(url, b"{}")
    monkeypatch.undo()
    signed_at = headers["X-Amz-Date"]
    assert signed_at == stale.strftime("%Y%m%dT%H%M%SZ")

    error = aws_error(http.post(url, content=b"{}", headers=headers))
    assert error["__type"] == "InvalidSignatureException"
    # AWS: "Signature expired: <signed> is now earlier than <now-5min> (<now> - 5 min.)"
    match = re.fullmatch(
        r"Signature expired: (\S+) is now earlier than (\S+) \((\S+) - 5 min\.\)",
        error["message"],
    )
    assert match, error["message"]
    assert match.group(1) == signed_at
    assert all(_BASIC.fullmatch(group) for group in match.groups())
    earliest = dt.datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ")
    now = dt.datetime.strptime(match.group(3), "%Y%m%dT%H%M%SZ")
    assert now - earliest == dt.timedelta(minutes=5)
    assert abs(now - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(seconds=30)


def test_signature_from_the_future_is_not_yet_current(
    secured: HeadwaterServer, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: ahead)
    url = secured.endpoint + "/"
    headers = signed_headers(url, b"{}")
    monkeypatch.undo()

    error = aws_error(http.post(url, content=b"{}", headers=headers))
    assert error["__type"] == "InvalidSignatureException"
    match = re.fullmatch(
        r"Signature not yet current: (\S+) is still later than (\S+) \((\S+) \+ 5 min\.\)",
        error["message"],
    )
    assert match, error["message"]
    assert match.group(1) == headers["X-Amz-Date"]
    latest = dt.datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ")
    now = dt.datetime.strptime(match.group(3), "%Y%m%dT%H%M%SZ")
    assert latest - now == dt.timedelta(minutes=5)


def test_signature_within_five_minutes_is_accepted(
    secured: HeadwaterServer, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients with a few minutes of clock drift must keep working, as on AWS."""
    url = secured.endpoint + "/"
    for offset in (dt.timedelta(minutes=-4), dt.timedelta(minutes=4)):
        moment = dt.datetime.now(dt.UTC).replace(tzinfo=None) + offset
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, m=moment, **k: m)
        headers = signed_headers(url, b"{}")
        monkeypatch.undo()
        response = http.post(url, content=b"{}", headers=headers)
        assert response.status_code == 200, (offset, response.text)


def test_credential_scoped_to_another_service_is_refused(
    secured: HeadwaterServer, http: httpx.Client
) -> None:
    url = secured.endpoint + "/"
    request = AWSRequest(
        method="POST",
        url=url,
        data=b"{}",
        headers={"Content-Type": JSON_TYPE, "X-Amz-Target": TARGET},
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "dynamodb", "us-east-1").add_auth(request)
    response = http.post(url, content=b"{}", headers=dict(request.headers.items()))
    assert aws_error(response) == {
        "__type": "InvalidSignatureException",
        "message": "Credential should be scoped to correct service: 'kinesis'.",
    }


def test_header_and_query_signature_together_are_refused(
    secured: HeadwaterServer, http: httpx.Client
) -> None:
    url = secured.endpoint + "/"
    response = http.post(
        url + "?X-Amz-Algorithm=AWS4-HMAC-SHA256",
        content=b"{}",
        headers=signed_headers(url, b"{}"),
    )
    assert aws_error(response) == {
        "__type": "InvalidSignatureException",
        "message": "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' "
        "as HTTP header.",
    }


def test_body_changed_after_signing_is_rejected(
    secured: HeadwaterServer, http: httpx.Client, stream_name: str
) -> None:
    url = secured.endpoint + "/"
    signed_body = b'{"StreamName": "%s", "ShardCount": 1}' % stream_name.encode()
    tampered = b'{"StreamName": "%s", "ShardCount": 9}' % stream_name.encode()
    headers = signed_headers(url, signed_body, target="Kinesis_20131202.CreateStream")
    error = aws_error(http.post(url, content=tampered, headers=headers))
    assert error == {"__type": "InvalidSignatureException", "message": SIGNATURE_MISMATCH}
    # Nothing was created by the rejected request.
    with pytest.raises(ClientError) as caught:
        client(secured.endpoint).describe_stream_summary(StreamName=stream_name)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_unsigned_request_is_missing_authentication_token(
    secured: HeadwaterServer, http: httpx.Client
) -> None:
    response = http.post(
        secured.endpoint + "/",
        content=b"{}",
        headers={"Content-Type": JSON_TYPE, "X-Amz-Target": TARGET},
    )
    assert aws_error(response) == {
        "__type": "MissingAuthenticationTokenException",
        "message": "Missing Authentication Token",
    }


def test_presigned_query_string_works(secured: HeadwaterServer, http: httpx.Client) -> None:
    """The query-string form (X-Amz-Algorithm, X-Amz-Signature, ... in the URL) is accepted."""
    url = secured.endpoint + "/"
    body = b'{"Limit": 5}'
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": JSON_TYPE, "X-Amz-Target": TARGET},
    )
    _PresignKeepingBody(Credentials(ACCESS_KEY, SECRET_KEY), "kinesis", "us-east-1", 60).add_auth(
        request
    )
    assert "X-Amz-Signature=" in request.url and "Authorization" not in request.headers
    headers = dict(request.headers.items())

    response = http.post(request.url, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert "StreamNames" in response.json()

    # The same URL with another secret's signature is refused.
    forged = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "0" * 64, request.url)
    error = aws_error(http.post(forged, content=body, headers=headers))
    assert error == {"__type": "InvalidSignatureException", "message": SIGNATURE_MISMATCH}


def test_environment_credentials_enable_verification(tmp_path: Path) -> None:
    """HEADWATER_ACCESS_KEY_ID / HEADWATER_SECRET_ACCESS_KEY work like --credentials."""
    server = HeadwaterServer(
        tmp_path / "data",
        env={"HEADWATER_ACCESS_KEY_ID": "AKIDFROMENV", "HEADWATER_SECRET_ACCESS_KEY": "envsecret"},
    ).start()
    try:
        assert (
            client(server.endpoint, "AKIDFROMENV", "envsecret").list_streams()["StreamNames"] == []
        )
        with pytest.raises(ClientError) as caught:
            client(server.endpoint, "AKIDFROMENV", "not-the-secret").list_streams()
        assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
        with pytest.raises(ClientError) as caught:
            client(server.endpoint, ACCESS_KEY, SECRET_KEY).list_streams()
        assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    finally:
        server.stop()


def _env_without_credentials() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _ENV_KEYS}


def test_refuses_non_loopback_bind_without_credentials(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "headwater",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=_env_without_credentials(),
        capture_output=True,
        text=True,
        timeout=30,  # a server that wrongly starts is killed here
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "--credentials" in output and "--insecure" in output, output


def test_insecure_flag_allows_non_loopback_bind(tmp_path: Path) -> None:
    """--insecure starts on 0.0.0.0 (reached here only through 127.0.0.1)."""
    server = HeadwaterServer(tmp_path / "data", "--host", "0.0.0.0", "--insecure")
    server.env = _env_without_credentials()
    server.start()
    try:
        # Open mode: any well-formed signature passes.
        assert "StreamNames" in client(server.endpoint, "AKIDANY", "anything").list_streams()
    finally:
        server.stop()


# --- requests that name no operation: AWS' pre-auth answers -------------------------------


def test_get_is_403_xml(secured: HeadwaterServer, http: httpx.Client) -> None:
    unsigned = http.get(secured.endpoint + "/")
    assert unsigned.status_code == 403
    assert "content-type" not in unsigned.headers
    assert unsigned.text == (
        "<MissingAuthenticationTokenException>\n"
        "  <Message>Missing Authentication Token</Message>\n"
        "</MissingAuthenticationTokenException>\n"
    )
    signed = http.get(secured.endpoint + "/", headers=signed_headers(secured.endpoint + "/", b""))
    assert signed.status_code == 403
    assert signed.text == (
        "<AccessDeniedException>\n"
        "  <Message>Unable to determine service/operation name to be authorized</Message>\n"
        "</AccessDeniedException>\n"
    )


@pytest.mark.parametrize("content_type", [None, "application/x-amz-json-1.0", "text/plain"])
def test_post_with_unknown_content_type_is_403(
    secured: HeadwaterServer, http: httpx.Client, content_type: str | None
) -> None:
    url = secured.endpoint + "/"
    headers = signed_headers(url, b"{}", content_type=content_type or JSON_TYPE)
    if content_type is None:
        del headers["Content-Type"]
    response = http.post(url, content=b"{}", headers=headers)
    assert response.status_code == 403
    assert response.text.startswith("<AccessDeniedException>\n")


def test_unknown_target_is_unknown_operation(secured: HeadwaterServer, http: httpx.Client) -> None:
    """Routing errors come before auth: an unsigned request gets them too."""
    for target in ("Kinesis_20131202.NoSuchThing", "DynamoDB_20120810.ListTables"):
        response = http.post(
            secured.endpoint + "/",
            content=b"{}",
            headers={"Content-Type": JSON_TYPE, "X-Amz-Target": target},
        )
        assert aws_error(response) == {"__type": "UnknownOperationException"}


def test_empty_body_is_serialization_exception(
    secured: HeadwaterServer, http: httpx.Client
) -> None:
    url = secured.endpoint + "/"
    response = http.post(url, content=b"", headers=signed_headers(url, b""))
    assert aws_error(response) == {"__type": "SerializationException"}
