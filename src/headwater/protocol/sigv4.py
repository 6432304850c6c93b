"""Server-side AWS Signature Version 4 verification for incoming Kinesis requests.

Checks run in the order AWS runs them, with AWS' error types and messages, so a client sees
the same failure here as against Kinesis:

1. ``Authorization`` header and/or ``X-Amz-Algorithm`` query parameter (neither, both).
2. Header form: every ``key=value`` pair well formed.
3. Required pieces present (Credential, Signature, SignedHeaders, a date).
4. Date in ISO-8601 basic format.
5. Date within the allowed clock skew, or a presigned request within ``X-Amz-Expires``.
6. ``host`` (or ``:authority``) among the signed headers.
7. Algorithm is ``AWS4-HMAC-SHA256``.
8. Credential has five parts, and its scope (region, service, terminator, date) is right.
9. Access key known.
10. Signature, which covers the SHA-256 of the body.

Without configured credentials (open mode, loopback only) steps 5, 9 and 10 are skipped: the
request must be well formed, but any signature passes.

The canonical request and string to sign come from botocore's ``SigV4Auth``: the same code
clients sign with, so URI encoding, query sorting and header trimming cannot drift.
"""

from __future__ import annotations

import configparser
import functools
import hashlib
import hmac
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders

from headwater.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

__all__ = ["IncomingRequest", "SigV4Verifier", "load_credentials", "load_user_names"]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
ACCESS_KEY_ENV = "HEADWATER_ACCESS_KEY_ID"
SECRET_KEY_ENV = "HEADWATER_SECRET_ACCESS_KEY"

_BASIC_FORMAT = "%Y%m%dT%H%M%SZ"
_BASIC_FORMAT_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_REGION_RE = re.compile(r"[a-z0-9-]+")
_HOST_HEADERS = ("host", ":authority")
_MAX_PRESIGN_SECONDS = 604800  # SigV4 presigned requests live at most a week

_MISSING_TOKEN = "Missing Authentication Token"
_BOTH_FORMS = (
    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
)
_HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
_UNKNOWN_KEY = "The security token included in the request is invalid."
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_QUERY_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """The parts of an HTTP request a signature covers, as the ASGI server received them."""

    method: str
    path: str
    query_string: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the client says it signed, from the Authorization header or the query string."""

    algorithm: str
    credential: str
    signature: str
    signed_headers: tuple[str, ...]
    date: str
    presigned: bool  # query-string form
    expires: int | None = None  # X-Amz-Expires seconds; only presigned requests carry it


@dataclass(frozen=True, slots=True)
class _Scope:
    access_key: str
    date: str
    region: str
    service: str


def load_credentials(
    path: str | None, environ: Mapping[str, str] = os.environ
) -> dict[str, str] | None:
    """Access key id -> secret key, from ``path`` if given, else from the environment.

    The file uses the AWS shared-credentials INI format (``~/.aws/credentials``), so an
    existing file works as is: every section holding both ``aws_access_key_id`` and
    ``aws_secret_access_key`` adds one key pair; other settings are ignored. Without a path,
    ``HEADWATER_ACCESS_KEY_ID`` and ``HEADWATER_SECRET_ACCESS_KEY`` give one pair. Returns
    None when neither is configured; raises ValueError on a half-configured pair.
    """
    if path is not None:
        return _credentials_from_file(path)
    access_key = environ.get(ACCESS_KEY_ENV)
    secret_key = environ.get(SECRET_KEY_ENV)
    if not access_key and not secret_key:
        return None
    if not access_key or not secret_key:
        raise ValueError(f"set both {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}, or neither")
    return {access_key: secret_key}


def _key_sections(path: str) -> Iterator[tuple[str, str, str]]:
    """(section name, access key id, secret) for each section holding a key pair."""
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as file:
        parser.read_file(file)
    for name in parser.sections():
        section = parser[name]
        access_key = section.get("aws_access_key_id")
        secret_key = section.get("aws_secret_access_key")
        if not access_key and not secret_key:
            continue
        if not access_key or not secret_key:
            raise ValueError(f"{path}: section [{name}] needs both access and secret key")
        yield name, access_key, secret_key


def _credentials_from_file(path: str) -> dict[str, str]:
    credentials: dict[str, str] = {}
    for _, access_key, secret_key in _key_sections(path):
        if credentials.get(access_key, secret_key) != secret_key:
            raise ValueError(f"{path}: access key {access_key} has two different secrets")
        credentials[access_key] = secret_key
    if not credentials:
        raise ValueError(f"{path}: no section has aws_access_key_id and aws_secret_access_key")
    return credentials


def load_user_names(path: str | None) -> dict[str, str]:
    """Access key id -> the user it belongs to: its section name in the credentials file.

    Resource policies name principals as ``arn:aws:iam::<account>:user/<section>``.
    """
    if path is None:
        return {}
    return {access_key: name for name, access_key, _ in _key_sections(path)}


class _ClientSignedHeadersAuth(SigV4Auth):
    """botocore's SigV4Auth, canonicalizing exactly what the client signed.

    ``SigV4Auth.headers_to_sign`` picks headers for a client about to sign: it drops a
    blocklist (user-agent, expect, ...) and adds ``host`` from the URL. A verifier must use the
    client's SignedHeaders as given, so the request handed in carries only those.
    """

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return request.headers

    def payload(self, request: AWSRequest) -> str:
        """Hex SHA-256 of the body, as botocore's ``payload`` gives for a plain-HTTP request.

        Written here because botocore's reads ``request.body``, which runs a full ``prepare()``
        (a wire-ready copy of the request) only to hash bytes already at hand.
        """
        return hashlib.sha256(request.data).hexdigest()


class SigV4Verifier:
    """Verifies SigV4-signed requests against static credentials (or only their form)."""

    def __init__(
        self,
        credentials: Mapping[str, str] | None,
        *,
        service: str = "kinesis",
        max_skew_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = None if credentials is None else dict(credentials)
        self._service = service
        self._max_skew = max_skew_seconds
        self._clock = clock
        # Per verifier, not global: secrets should not outlive the verifier in a module cache.
        self._signing_key = functools.lru_cache(maxsize=256)(_derive_signing_key)

    def verify(self, request: IncomingRequest) -> str:
        """Returns the access key id. Raises headwater.errors.* on failure."""
        headers = _headers_by_name(request.headers)
        query = _parse_query(request.query_string)
        claim = _read_claim(headers, query)
        when = _parse_date(claim.date)
        if self._credentials is not None:
            self._check_clock(claim, when)
        _check_host_signed(claim)
        _check_algorithm(claim)
        scope = _parse_scope(claim.credential, when, self._service)
        if self._credentials is None:
            return scope.access_key
        secret = self._credentials.get(scope.access_key)
        if secret is None:
            raise UnrecognizedClientException(_UNKNOWN_KEY)
        expected = self._expected_signature(request, headers, query, claim, when, scope, secret)
        # Constant time: the comparison must not tell an attacker how many characters match.
        if not hmac.compare_digest(expected.encode(), claim.signature.encode("utf-8", "replace")):
            raise InvalidSignatureException(_SIGNATURE_MISMATCH)
        return scope.access_key

    def _check_clock(self, claim: _Claim, when: datetime) -> None:
        """Date within ±max_skew of now; a presigned request may be as old as X-Amz-Expires."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        skew = timedelta(seconds=self._max_skew)
        window = skew if claim.expires is None else timedelta(seconds=claim.expires)
        if when < now - window:
            raise InvalidSignatureException(
                f"Signature expired: {_basic(when)} is now earlier than {_basic(now - window)} "
                f"({_basic(now)} - {_duration_text(window)}.)"
            )
        if when > now + skew:
            raise InvalidSignatureException(
                f"Signature not yet current: {_basic(when)} is still later than "
                f"{_basic(now + skew)} ({_basic(now)} + {_duration_text(skew)}.)"
            )

    def _expected_signature(
        self,
        request: IncomingRequest,
        headers: dict[str, list[str]],
        query: list[tuple[str, str]],
        claim: _Claim,
        when: datetime,
        scope: _Scope,
        secret: str,
    ) -> str:
        """The signature the client should have sent, computed from what the server received."""
        signed = _signed_header_values(headers, claim.signed_headers)
        _check_payload_hash(signed, request.body, claim.presigned)
        if claim.presigned:
            query = [(key, value) for key, value in query if key != "X-Amz-Signature"]
        aws_request = AWSRequest(
            method=request.method,
            url="http://headwater" + (request.path or "/"),  # only the path is read
            data=request.body,
            params=query,
        )
        aws_request.headers = signed
        aws_request.context["timestamp"] = _basic(when)
        auth = _ClientSignedHeadersAuth(None, scope.service, scope.region)
        canonical_request = auth.canonical_request(aws_request)
        string_to_sign = auth.string_to_sign(aws_request, canonical_request)
        # SigV4Auth.signature() re-derives the signing key (four HMACs) on every call; the key
        # only changes per day, region and service, so it is cached and the last HMAC done here.
        key = self._signing_key(secret, scope.date, scope.region, scope.service)
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _headers_by_name(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name, []).append(value)
    return by_name


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _parse_query(query_string: str) -> list[tuple[str, str]]:
    """Decoded (key, value) pairs in order; botocore re-encodes them canonically.

    Decoding with ``unquote`` (not ``unquote_plus``): SigV4 treats ``+`` as a literal.
    """
    pairs = []
    for item in query_string.split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _read_claim(headers: dict[str, list[str]], query: list[tuple[str, str]]) -> _Claim:
    authorization = _first(headers, "authorization")
    in_query = any(key == "X-Amz-Algorithm" for key, _ in query)
    if authorization and in_query:
        raise InvalidSignatureException(_BOTH_FORMS)
    if authorization:
        return _claim_from_header(authorization, headers)
    if in_query:
        return _claim_from_query(query)
    raise MissingAuthenticationTokenException(_MISSING_TOKEN)


def _claim_from_header(authorization: str, headers: dict[str, list[str]]) -> _Claim:
    algorithm, _, rest = authorization.strip().partition(" ")
    params: dict[str, str] = {}
    for item in re.split(r"[,\s]+", rest):
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not equals:
            raise IncompleteSignatureException(
                f"'{item}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{authorization}'."
            )
        params[key] = value
    date = _first(headers, "x-amz-date") or _first(headers, "date")
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not params.get(name)
    ]
    if not date:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise IncompleteSignatureException(" ".join([*problems, f"Authorization={authorization}"]))
    return _Claim(
        algorithm=algorithm,
        credential=params["Credential"],
        signature=params["Signature"],
        signed_headers=tuple(params["SignedHeaders"].split(";")),
        date=date,
        presigned=False,
    )


def _claim_from_query(query: list[tuple[str, str]]) -> _Claim:
    values: dict[str, str] = {}
    for key, value in query:
        values.setdefault(key, value)  # the first occurrence counts
    missing = [name for name in _QUERY_PARAMS if not values.get(name)]
    if missing:
        problems = [f"AWS query-string parameters must include '{name}'." for name in missing]
        raise IncompleteSignatureException(
            " ".join([*problems, "Re-examine the query-string parameters."])
        )
    return _Claim(
        algorithm=values["X-Amz-Algorithm"],
        credential=values["X-Amz-Credential"],
        signature=values["X-Amz-Signature"],
        signed_headers=tuple(values["X-Amz-SignedHeaders"].split(";")),
        date=values["X-Amz-Date"],
        presigned=True,
        expires=_expires(values["X-Amz-Expires"]) if "X-Amz-Expires" in values else None,
    )


def _parse_date(raw: str) -> datetime:
    """ISO-8601 basic format, or RFC 1123 (what a ``Date`` header normally carries)."""
    try:
        if _BASIC_FORMAT_RE.fullmatch(raw):  # slicing: strptime costs ~5 µs a request
            return datetime(
                *(int(raw[a:b]) for a, b in ((0, 4), (4, 6), (6, 8), (9, 11), (11, 13), (13, 15))),
                tzinfo=UTC,
            )
        parsed = parsedate_to_datetime(raw)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        pass
    raise IncompleteSignatureException(
        f"Date must be in ISO-8601 'basic format'. Got '{raw}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _expires(raw: str) -> int:
    """X-Amz-Expires in seconds. AWS' Kinesis wording for a bad value is unconfirmed."""
    if not (raw.isascii() and raw.isdigit()):
        raise IncompleteSignatureException("X-Amz-Expires should be a number")
    seconds = int(raw)
    if seconds > _MAX_PRESIGN_SECONDS:
        raise IncompleteSignatureException(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        )
    return seconds


def _check_host_signed(claim: _Claim) -> None:
    if not any(name.lower() in _HOST_HEADERS for name in claim.signed_headers):
        raise InvalidSignatureException(_HOST_NOT_SIGNED)


def _check_algorithm(claim: _Claim) -> None:
    if claim.algorithm == ALGORITHM:
        return
    if claim.presigned:
        # Query parameters with another algorithm are not SigV4 authentication at all.
        raise MissingAuthenticationTokenException(_MISSING_TOKEN)
    raise IncompleteSignatureException(
        f"Unsupported AWS 'algorithm': '{claim.algorithm}' (only {ALGORITHM} for now). "
    )


def _parse_scope(credential: str, when: datetime, service: str) -> _Scope:
    """``keyid/date/region/service/aws4_request``; every scope problem is reported at once."""
    parts = credential.rstrip("/").split("/")
    if len(parts) != 5:
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    access_key, date, region, scoped_service, terminator = parts
    problems = []
    if not _REGION_RE.fullmatch(region):
        problems.append(f"Credential should be scoped to a valid region, not '{region}'.")
    if scoped_service != service:
        problems.append(f"Credential should be scoped to correct service: '{service}'.")
    if terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'."
        )
    day = when.strftime("%Y%m%d")
    if date != day:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{day}', from '{_basic(when)}'."
        )
    if problems:
        raise InvalidSignatureException(" ".join(problems))
    return _Scope(access_key, date, region, scoped_service)


def _signed_header_values(
    headers: dict[str, list[str]], signed_names: tuple[str, ...]
) -> HTTPHeaders:
    """Only the headers the client signed, every value of each, in arrival order.

    HTTP/2 has no Host header, only ``:authority``, which ASGI servers hand over as ``host``.
    """
    signed = HTTPHeaders()
    for name in signed_names:
        lookup = "host" if name == ":authority" and name not in headers else name
        for value in headers.get(lookup, ()):
            signed[name] = value
    return signed


def _check_payload_hash(signed: HTTPHeaders, body: bytes, presigned: bool) -> None:
    """A signed x-amz-content-sha256 must be the body's real hash.

    botocore puts that header's value in the canonical request instead of hashing the body,
    so an unchecked value would let the body change under a valid signature. Presigned
    requests may instead declare UNSIGNED-PAYLOAD.
    """
    declared = signed.get("x-amz-content-sha256")
    if declared is None or (presigned and declared == UNSIGNED_PAYLOAD):
        return
    if declared != hashlib.sha256(body).hexdigest():
        raise InvalidSignatureException(_SIGNATURE_MISMATCH)


def _basic(moment: datetime) -> str:
    return moment.strftime(_BASIC_FORMAT)


def _duration_text(window: timedelta) -> str:
    """AWS writes the allowed window as ``5 min``; windows of odd seconds as ``90 sec``."""
    seconds = int(window.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} sec"
