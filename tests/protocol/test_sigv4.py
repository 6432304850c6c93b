"""SigV4 verification against requests signed by botocore itself, the way clients sign them."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from headwater.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    KinesisError,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from headwater.protocol.sigv4 import IncomingRequest, SigV4Verifier, load_credentials

KEY = "AKIDHEADWATER"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDENTIALS = {KEY: SECRET, "AKIDOTHER": "other-secret"}
SIGNED_AT = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
ENDPOINT = "http://localhost:4567"
BODY = b'{"StreamName":"s","Data":"aGk=","PartitionKey":"p"}'
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
HOST_HEADER = ("host", "localhost:4567")


def at(hh: int, mm: int, ss: int = 0) -> Callable[[], float]:
    """A clock frozen on 2024-01-01 at hh:mm:ss UTC."""
    return lambda: datetime(2024, 1, 1, hh, mm, ss, tzinfo=UTC).timestamp()


JUST_AFTER_SIGNING = at(0, 1)


def verifier(
    clock: Callable[[], float] = JUST_AFTER_SIGNING, max_skew_seconds: float = 300.0
) -> SigV4Verifier:
    return SigV4Verifier(CREDENTIALS, clock=clock, max_skew_seconds=max_skew_seconds)


def signing_at_fixed_time() -> contextlib.AbstractContextManager[object]:
    """botocore signs with the current time; pin it so messages are exact."""
    return mock.patch.object(botocore.auth, "get_current_datetime", return_value=SIGNED_AT)


def incoming(request: AWSRequest, body: bytes | None = None) -> IncomingRequest:
    """The request as the server sees it: lowercased names, plus the Host the client sends."""
    url = urlsplit(request.url)
    headers = [
        (name.lower(), value.decode() if isinstance(value, bytes) else value)
        for name, value in request.headers.items()
    ]
    return IncomingRequest(
        method=request.method,
        path=url.path,
        query_string=url.query,
        headers=[*headers, ("host", url.netloc)],
        body=(request.body or b"") if body is None else body,
    )


def aws_request(
    data: bytes = BODY, url: str = ENDPOINT + "/", headers: dict[str, str] | None = None
) -> AWSRequest:
    base = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Kinesis_20131202.PutRecord",
    }
    return AWSRequest(method="POST", url=url, data=data, headers={**base, **(headers or {})})


def signed(
    request: AWSRequest | None = None,
    key: str = KEY,
    secret: str = SECRET,
    region: str = "us-east-1",
    service: str = "kinesis",
) -> AWSRequest:
    request = request or aws_request()
    with signing_at_fixed_time():
        SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return request


def presigned(request: AWSRequest | None = None, expires: int = 3600) -> AWSRequest:
    request = request or aws_request()
    with signing_at_fixed_time():
        SigV4QueryAuth(Credentials(KEY, SECRET), "kinesis", "us-east-1", expires).add_auth(request)
    return request


def with_header(request: IncomingRequest, name: str, value: str) -> IncomingRequest:
    headers = [(n, v) for n, v in request.headers if n != name]
    return IncomingRequest(
        request.method, request.path, request.query_string, [*headers, (name, value)], request.body
    )


def raw(
    headers: list[tuple[str, str]] | None = None, query: str = "", body: bytes = BODY
) -> IncomingRequest:
    return IncomingRequest("POST", "/", query, [HOST_HEADER, *(headers or [])], body)


def rejects(
    request: IncomingRequest,
    error: type[KinesisError],
    message: str,
    v: SigV4Verifier | None = None,
) -> None:
    with pytest.raises(error) as caught:
        (v or verifier()).verify(request)
    assert type(caught.value) is error
    assert caught.value.message == message


# --- valid requests -----------------------------------------------------------------------


def test_header_form_is_accepted_and_names_the_key() -> None:
    assert verifier().verify(incoming(signed())) == KEY


def test_any_region_is_accepted() -> None:
    assert verifier().verify(incoming(signed(region="local"))) == KEY


def test_a_boto3_client_request_is_accepted() -> None:
    """The whole client flow: serialization, headers and signing as boto3 sends them."""
    client = boto3.client(
        "kinesis",
        endpoint_url=ENDPOINT,
        region_name="eu-west-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    )
    sent: list[AWSRequest] = []

    class Sent(Exception):
        pass

    def capture(request: AWSRequest, **_: object) -> None:
        sent.append(request)
        raise Sent

    client.meta.events.register("before-send.kinesis.PutRecord", capture)
    with signing_at_fixed_time(), pytest.raises(Sent):
        client.put_record(StreamName="s", Data=b"x" * 100_000, PartitionKey="p")
    assert verifier().verify(incoming(sent[0])) == KEY


def test_presigned_form_is_accepted() -> None:
    request = incoming(presigned())
    assert "X-Amz-Signature=" in request.query_string
    assert verifier().verify(request) == KEY


def test_path_query_and_repeated_headers_canonicalize_like_the_client() -> None:
    request = aws_request(url=ENDPOINT + "/a%20b/./c/?b=2&a=1%20x&a=0")
    request.headers["X-Amz-Meta"] = "one"
    request.headers["X-Amz-Meta"] = "  two   words "
    assert verifier().verify(incoming(signed(request))) == KEY


def test_date_header_instead_of_x_amz_date() -> None:
    request = signed(aws_request(headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"}))
    assert "X-Amz-Date" not in request.headers
    assert verifier().verify(incoming(request)) == KEY


def test_unsigned_headers_may_change() -> None:
    request = with_header(incoming(signed()), "user-agent", "something-else/1.0")
    assert verifier().verify(request) == KEY


def test_signed_payload_hash_header_matching_the_body_is_accepted() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    request = signed(aws_request(headers={"X-Amz-Content-SHA256": digest}))
    assert verifier().verify(incoming(request)) == KEY


def test_presigned_unsigned_payload_covers_any_body() -> None:
    request = presigned(aws_request(data=b"", headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
    assert verifier().verify(incoming(request, body=b"any body at all")) == KEY


def test_signing_key_is_derived_once_per_day_region_and_service() -> None:
    v = verifier()
    for _ in range(3):
        v.verify(incoming(signed()))
    info = v._signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)


# --- wrong signatures ---------------------------------------------------------------------


def test_wrong_secret() -> None:
    rejects(incoming(signed(secret="not-the-secret")), InvalidSignatureException, MISMATCH)


def test_unknown_access_key() -> None:
    rejects(
        incoming(signed(key="AKIDUNKNOWN")),
        UnrecognizedClientException,
        "The security token included in the request is invalid.",
    )


def test_tampered_body() -> None:
    request = incoming(signed(), body=BODY.replace(b'"s"', b'"t"'))
    rejects(request, InvalidSignatureException, MISMATCH)


def test_tampered_signed_header() -> None:
    request = with_header(incoming(signed()), "x-amz-target", "Kinesis_20131202.DeleteStream")
    rejects(request, InvalidSignatureException, MISMATCH)


def test_signed_payload_hash_header_must_match_the_real_body() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    request = signed(aws_request(headers={"X-Amz-Content-SHA256": digest}))
    rejects(incoming(request, body=b"{}"), InvalidSignatureException, MISMATCH)


def test_unsigned_payload_is_refused_in_header_form() -> None:
    request = signed(aws_request(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
    rejects(incoming(request), InvalidSignatureException, MISMATCH)


def test_tampered_presigned_query() -> None:
    request = incoming(presigned(aws_request(url=ENDPOINT + "/?Limit=1")))
    tampered = IncomingRequest(
        request.method,
        request.path,
        request.query_string.replace("Limit=1", "Limit=2"),
        request.headers,
        request.body,
    )
    rejects(tampered, InvalidSignatureException, MISMATCH)


# --- clock --------------------------------------------------------------------------------


def test_stale_date() -> None:
    rejects(
        incoming(signed()),
        InvalidSignatureException,
        "Signature expired: 20240101T000000Z is now earlier than 20240101T001000Z "
        "(20240101T001500Z - 5 min.)",
        verifier(at(0, 15)),
    )


def test_future_date() -> None:
    rejects(
        incoming(signed()),
        InvalidSignatureException,
        "Signature not yet current: 20240101T000000Z is still later than 20231231T235000Z "
        "(20231231T234500Z + 5 min.)",
        verifier(lambda: datetime(2023, 12, 31, 23, 45, tzinfo=UTC).timestamp()),
    )


def test_skew_edges_are_accepted() -> None:
    request = incoming(signed())
    assert verifier(at(0, 5)).verify(request) == KEY
    assert verifier(lambda: SIGNED_AT.timestamp() - 300).verify(request) == KEY


def test_custom_skew_is_reported_in_seconds() -> None:
    rejects(
        incoming(signed()),
        InvalidSignatureException,
        "Signature expired: 20240101T000000Z is now earlier than 20240101T000030Z "
        "(20240101T000200Z - 90 sec.)",
        verifier(at(0, 2), max_skew_seconds=90),
    )


def test_presigned_lives_for_x_amz_expires_not_the_skew() -> None:
    assert verifier(at(0, 59)).verify(incoming(presigned(expires=3600))) == KEY


def test_presigned_past_x_amz_expires() -> None:
    rejects(
        incoming(presigned(expires=90)),
        InvalidSignatureException,
        "Signature expired: 20240101T000000Z is now earlier than 20240101T000030Z "
        "(20240101T000200Z - 90 sec.)",
        verifier(at(0, 2)),
    )


# --- missing and malformed authentication -------------------------------------------------


def test_no_authentication() -> None:
    rejects(raw(), MissingAuthenticationTokenException, "Missing Authentication Token")


def test_query_auth_without_algorithm_is_no_authentication() -> None:
    query = "X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d"
    rejects(raw(query=query), MissingAuthenticationTokenException, "Missing Authentication Token")


def test_both_header_and_query_auth() -> None:
    rejects(
        raw([("authorization", "X")], query="X-Amz-Algorithm"),
        InvalidSignatureException,
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    )


def test_header_missing_everything() -> None:
    rejects(
        raw([("authorization", "X")]),
        IncompleteSignatureException,
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=X",
    )


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4- Signature=b Credential=a",
        "AWS4- Signature=b,Credential=a",
        "AWS4- Signature=b, Credential=a",
    ],
)
def test_header_missing_signed_headers(authorization: str) -> None:
    rejects(
        raw([("authorization", authorization), ("date", "a")]),
        IncompleteSignatureException,
        f"Authorization header requires 'SignedHeaders' parameter. Authorization={authorization}",
    )


def test_header_missing_date() -> None:
    request = incoming(signed())
    without_date = IncomingRequest(
        request.method,
        request.path,
        request.query_string,
        [(n, v) for n, v in request.headers if n != "x-amz-date"],
        request.body,
    )
    authorization = dict(request.headers)["authorization"]
    rejects(
        without_date,
        IncompleteSignatureException,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={authorization}",
    )


def test_header_pair_without_equal_sign() -> None:
    authorization = "AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders"
    rejects(
        raw([("authorization", authorization)]),
        IncompleteSignatureException,
        "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: "
        f"'{authorization}'.",
    )


def test_query_missing_everything() -> None:
    rejects(
        raw(query="X-Amz-Algorithm"),
        IncompleteSignatureException,
        "AWS query-string parameters must include 'X-Amz-Algorithm'. "
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters.",
    )


def test_query_missing_signed_headers() -> None:
    rejects(
        raw(query="X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d"),
        IncompleteSignatureException,
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "Re-examine the query-string parameters.",
    )


def _header_auth(
    credential: str = f"{KEY}/20240101/us-east-1/kinesis/aws4_request",
    signed_headers: str = "host;x-amz-date",
    algorithm: str = "AWS4-HMAC-SHA256",
    date: str = "20240101T000000Z",
) -> IncomingRequest:
    authorization = (
        f"{algorithm} Credential={credential}, SignedHeaders={signed_headers}, Signature=abc"
    )
    return raw([("authorization", authorization), ("x-amz-date", date)])


def test_date_not_in_basic_format() -> None:
    rejects(
        _header_auth(date="2024-01-01T00:00:00Z"),
        IncompleteSignatureException,
        "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    )


def test_host_not_signed() -> None:
    rejects(
        _header_auth(signed_headers="x-amz-date"),
        InvalidSignatureException,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    )


def test_unsupported_algorithm() -> None:
    rejects(
        _header_auth(algorithm="AWS4-HMAC-SHA25"),
        IncompleteSignatureException,
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). ",
    )


def test_unsupported_algorithm_in_query_is_no_authentication() -> None:
    query = (
        "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=a%2F20240101%2Fus-east-1"
        "%2Fkinesis%2Faws4_request&X-Amz-Signature=b&X-Amz-SignedHeaders=host"
        "&X-Amz-Date=20240101T000000Z"
    )
    rejects(raw(query=query), MissingAuthenticationTokenException, "Missing Authentication Token")


def test_credential_without_five_parts() -> None:
    rejects(
        _header_auth(credential="a/b/c/d"),
        IncompleteSignatureException,
        "Credential must have exactly 5 slash-delimited elements, "
        "e.g. keyid/date/region/service/term, got 'a/b/c/d'",
    )


def test_wrong_service_in_scope() -> None:
    rejects(
        incoming(signed(service="dynamodb")),
        InvalidSignatureException,
        "Credential should be scoped to correct service: 'kinesis'.",
    )


def test_every_scope_problem_is_reported_together() -> None:
    rejects(
        _header_auth(credential=f"{KEY}/b/C!/dynamodb/e"),
        InvalidSignatureException,
        "Credential should be scoped to a valid region, not 'C!'. "
        "Credential should be scoped to correct service: 'kinesis'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: 'b' != '20240101', from '20240101T000000Z'.",
    )


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("soon", "X-Amz-Expires should be a number"),
        ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
    ],
)
def test_bad_x_amz_expires(expires: str, message: str) -> None:
    query = incoming(presigned()).query_string.replace(
        "X-Amz-Expires=3600", f"X-Amz-Expires={expires}"
    )
    rejects(raw(query=query, body=b""), IncompleteSignatureException, message)


# --- open mode (no credentials) -----------------------------------------------------------


def open_verifier() -> SigV4Verifier:
    return SigV4Verifier(None, clock=at(23, 0))


def test_open_mode_accepts_any_signature_and_any_date() -> None:
    assert open_verifier().verify(incoming(signed(key="anyone", secret="wrong"))) == "anyone"


def test_open_mode_still_requires_authentication() -> None:
    rejects(
        raw(), MissingAuthenticationTokenException, "Missing Authentication Token", open_verifier()
    )


def test_open_mode_still_rejects_malformed_authentication() -> None:
    rejects(
        _header_auth(credential="a/b/c/d"),
        IncompleteSignatureException,
        "Credential must have exactly 5 slash-delimited elements, "
        "e.g. keyid/date/region/service/term, got 'a/b/c/d'",
        open_verifier(),
    )
    rejects(
        incoming(signed(service="s3")),
        InvalidSignatureException,
        "Credential should be scoped to correct service: 'kinesis'.",
        open_verifier(),
    )


# --- bad input never escapes as anything but a Kinesis error ------------------------------


@given(
    authorization=st.text(max_size=80),
    query=st.text(max_size=80),
    date=st.text(max_size=30),
)
def test_arbitrary_auth_input_fails_cleanly(authorization: str, query: str, date: str) -> None:
    request = raw([("authorization", authorization), ("x-amz-date", date)], query=query)
    with contextlib.suppress(KinesisError):
        verifier().verify(request)


# --- credentials --------------------------------------------------------------------------


def test_load_credentials_from_aws_ini_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\n"
        "aws_access_key_id = AKIDONE\n"
        "aws_secret_access_key = secret/one+%\n"
        "region = eu-west-1\n"
        "\n"
        "[profile two]\n"
        "aws_access_key_id=AKIDTWO\n"
        "aws_secret_access_key=secret-two\n"
        "\n"
        "[settings-only]\n"
        "output = json\n"
    )
    environ = {"HEADWATER_ACCESS_KEY_ID": "ignored", "HEADWATER_SECRET_ACCESS_KEY": "ignored"}
    assert load_credentials(str(path), environ) == {
        "AKIDONE": "secret/one+%",
        "AKIDTWO": "secret-two",
    }


def test_load_credentials_rejects_a_half_section(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = AKIDONE\n")
    with pytest.raises(ValueError, match="needs both"):
        load_credentials(str(path), {})


def test_load_credentials_from_environment() -> None:
    environ = {"HEADWATER_ACCESS_KEY_ID": "AKIDENV", "HEADWATER_SECRET_ACCESS_KEY": "s3cret"}
    assert load_credentials(None, environ) == {"AKIDENV": "s3cret"}


def test_load_credentials_nothing_configured() -> None:
    assert load_credentials(None, {}) is None


def test_load_credentials_half_configured_environment() -> None:
    with pytest.raises(ValueError, match="HEADWATER_SECRET_ACCESS_KEY"):
        load_credentials(None, {"HEADWATER_ACCESS_KEY_ID": "AKIDENV"})
