"""Bad input to every operation: never a 5xx, never a hang, always an error body, bounded memory.

Anyone who can reach the port can send anything. Whatever arrives - random bytes, broken
JSON or CBOR, the right member names with the wrong types, absurd numbers, huge strings,
deep nesting, oversized bodies - the server must answer promptly with a client error in the
request's own encoding (``__type`` in a JSON or CBOR body), stay up, and not grow.

The requests are raw HTTP (signed, keep-alive) so the bytes on the wire are exactly the
ones drawn; the server is this module's own, so a crash or leak is attributable here.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from headwater.server.kinesis_endpoint import MAX_BODY_BYTES
from headwater.service import shapes
from headwater.service.handlers import HANDLERS
from tests.support.server import HeadwaterServer
from tests.support.signed_http import CBOR_TYPE, JSON_TYPE, TARGET_PREFIX, SignedClient

REQUEST_TIMEOUT_S = 10.0
RSS_LIMIT_KB = 300 * 1024
RSS_GROWTH_LIMIT_KB = 100 * 1024
MAX_BODY = MAX_BODY_BYTES
STREAM = "bad-input-target"
CONSUMER = "bad-input-consumer"
# Resharding and mode changes go to a stream of their own, so the target keeps its two shards.
RESHARD_STREAM = "bad-input-reshard"
RESHARD_INPUTS = (
    "SplitShardInput",
    "MergeShardsInput",
    "UpdateShardCountInput",
    "UpdateStreamModeInput",
)
STARTED_S = time.time()  # fixed, so strategies draw the same way every time

OPERATIONS = sorted(HANDLERS)
# Kinesis operations this server does not serve (yet), and names that are no operation.
NOT_SERVED = sorted(set(shapes.OPERATIONS) - set(HANDLERS))
UNKNOWN_TARGETS = [
    "",
    TARGET_PREFIX,
    TARGET_PREFIX + "Nope",
    TARGET_PREFIX + "putrecord",
    "Kinesis_20131201.PutRecord",
    "PutRecord",
    TARGET_PREFIX + "ListStreams.Extra",
    *(TARGET_PREFIX + name for name in NOT_SERVED[:8]),
]
KINESIS_TYPES = [JSON_TYPE, CBOR_TYPE]
UNROUTABLE_TYPES = ["application/json", "text/plain", "application/x-amz-json-1.0", None]

_common = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)


# --- the server and what it is fed ---------------------------------------------------------


@dataclass(repr=False)
class Target:
    """A live server with one real stream, so bodies can reach deep into the handlers."""

    server: HeadwaterServer
    client: SignedClient
    baseline_rss_kb: int
    arn: str
    reshard_arn: str
    consumer_arn: str
    iterator: str
    sequence_numbers: list[str]

    def __repr__(self) -> str:
        return f"Target({self.server.endpoint})"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def server_pid(server: HeadwaterServer) -> int:
    assert server.process is not None
    return server.process.pid


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = HeadwaterServer(tmp_path_factory.mktemp("bad-input") / "data", "--limits", "off")
    server.start()
    client = SignedClient(server.endpoint, timeout=REQUEST_TIMEOUT_S)
    try:
        client.call("CreateStream", {"StreamName": STREAM, "ShardCount": 2})
        client.call("CreateStream", {"StreamName": RESHARD_STREAM, "ShardCount": 2})
        put = client.call(
            "PutRecords",
            {
                "StreamName": STREAM,
                "Records": [{"Data": "AAEC", "PartitionKey": f"k{i}"} for i in range(20)],
            },
        )
        iterator = client.call(
            "GetShardIterator",
            {
                "StreamName": STREAM,
                "ShardId": "shardId-000000000000",
                "ShardIteratorType": "TRIM_HORIZON",
            },
        )["ShardIterator"]
        arn = client.call("DescribeStreamSummary", {"StreamName": STREAM})[
            "StreamDescriptionSummary"
        ]["StreamARN"]
        consumer_arn = client.call(
            "RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": CONSUMER}
        )["Consumer"]["ConsumerARN"]
        yield Target(
            server,
            client,
            rss_kb(server_pid(server)),
            arn,
            arn.replace(STREAM, RESHARD_STREAM),
            consumer_arn,
            iterator,
            [r["SequenceNumber"] for r in put["Records"]],
        )
    finally:
        client.close()
        server.kill()
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture(autouse=True)
def server_stays_healthy(target: Target) -> Iterator[None]:
    """After each test: still running, answering, and its memory bounded."""
    yield
    server = target.server
    assert server.process is not None and server.process.poll() is None, "server died"
    # A request that timed out may still be running; wait (bounded) until it is answered.
    deadline = time.monotonic() + 120
    while True:
        try:
            target.client.call("ListStreams", {"Limit": 1})
            break
        except httpx.TimeoutException:
            assert time.monotonic() < deadline, "server stopped answering"
    rss = rss_kb(server_pid(server))
    assert rss < RSS_LIMIT_KB, f"server RSS {rss} kB"
    assert rss - target.baseline_rss_kb < RSS_GROWTH_LIMIT_KB, (
        f"server RSS grew from {target.baseline_rss_kb} kB to {rss} kB"
    )


# --- checking one exchange -----------------------------------------------------------------


def decode(body: bytes, content_type: str) -> Any:
    """A response body; CBOR tag 1 holds epoch milliseconds (AWS' reading), kept as a number."""
    if content_type == CBOR_TYPE:
        return cbor2.loads(body, semantic_decoders={1: lambda value, _immutable: value})
    return json.loads(body)


def send(
    target: Target,
    operation_or_target: str,
    body: bytes,
    content_type: str | None = JSON_TYPE,
    *,
    raw_target: bool = False,
    timeout: float = REQUEST_TIMEOUT_S,
) -> httpx.Response:
    """Post and check what every answer must satisfy; returns the response for more checks."""
    header = operation_or_target if raw_target else TARGET_PREFIX + operation_or_target
    try:
        response = target.client.post(header, body, content_type, timeout=timeout)
    except httpx.TimeoutException:
        pytest.fail(
            f"no answer within {timeout} s to {header!r} with a {len(body)}-byte body "
            f"starting {body[:120]!r}"
        )
    where = f"{header!r} ({content_type}) body {body[:200]!r}... ({len(body)} bytes)"
    status = response.status_code
    assert status < 500, f"HTTP {status} {response.content[:500]!r} for {where}"
    assert status in (200, 400, 403, 413), f"unexpected HTTP {status} for {where}"
    if content_type not in KINESIS_TYPES:
        assert status == 403, f"HTTP {status} for unroutable {where}"
        assert response.content.startswith(b"<AccessDeniedException>"), response.content[:300]
        return response
    assert response.headers.get("content-type") == content_type, (
        f"answered {response.headers.get('content-type')} to {where}"
    )
    if status == 200:
        if response.content or content_type == CBOR_TYPE:
            assert isinstance(decode(response.content, content_type), dict)
        return response
    error = decode(response.content, content_type)
    assert isinstance(error, dict) and isinstance(error.get("__type"), str), (
        f"HTTP {status} without __type: {response.content[:300]!r} for {where}"
    )
    return response


def error_type(response: httpx.Response) -> str | None:
    if response.status_code == 200:
        return None
    return decode(response.content, response.headers["content-type"])["__type"]


# --- strategies ----------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=40,
)

HUGE_NUMBERS: list[Any] = [
    10**11,
    10**40,
    10**400,
    -1,
    0,
    2**31,
    2**31 - 1,
    -(2**31) - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    1e308,
    -1e308,
    5e-324,
    1.5,
    -0.0,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e308",
    "-1",
    "10000000000000000000000000000000000000000",
]
LONG_STRINGS = [
    "a" * 100_000,
    "é" * 50_000,
    "\U0001f600" * 25_000,
    "9" * 100_000,
    "shardId-" + "0" * 100_000,
    "arn:aws:kinesis:us-east-1:000000000000:stream/" + "s" * 100_000,
    "\\" * 100_000,
    "\x00" * 10_000,
]
ODD_STRINGS = ["", " ", "\x00", "\ud800", "\udfff", "null", "true", "[]", "{}", '"', "%s%n", "\n"]


def nested_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int, key: str = "StreamName") -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {key: value}
    return value


def pick(values: list[Any]) -> st.SearchStrategy[Any]:
    """``sampled_from`` for values that cannot be hashed (tags holding lists, ...)."""
    return st.integers(0, len(values) - 1).map(values.__getitem__)


def nasty(cbor: bool) -> st.SearchStrategy[Any]:
    """Values of the wrong type or absurd size for any member."""
    options: list[st.SearchStrategy[Any]] = [
        st.sampled_from(HUGE_NUMBERS),
        st.sampled_from(LONG_STRINGS),
        st.sampled_from(ODD_STRINGS),
        st.sampled_from([True, False, None, [], {}, [None], {"": None}]),
        st.sampled_from([float("nan"), float("inf"), float("-inf")]),
        st.integers(0, 200).map(nested_list),
        st.integers(0, 60).map(nested_dict),
        st.lists(st.integers(), min_size=500, max_size=2_000),
        st.dictionaries(st.text(max_size=8), st.text(max_size=8), min_size=100, max_size=300),
        json_values,
    ]
    if cbor:
        options += [
            st.binary(max_size=64),
            pick(
                [
                    cbor2.undefined,
                    cbor2.CBORSimpleValue(99),
                    cbor2.CBORTag(1, "not a number"),
                    cbor2.CBORTag(1, 10**30),
                    cbor2.CBORTag(1, -(10**30)),
                    cbor2.CBORTag(1, float("nan")),
                    cbor2.CBORTag(1, [1, 2]),
                    cbor2.CBORTag(0, "2020-01-01T00:00:00Z"),
                    cbor2.CBORTag(0, "not a date"),
                    cbor2.CBORTag(2, b"\xff" * 64),
                    cbor2.CBORTag(3, b"\xff" * 64),
                    cbor2.CBORTag(4, [-2, 27315]),
                    cbor2.CBORTag(4, [-(10**6), 1]),
                    cbor2.CBORTag(5, [10**6, 1]),
                    cbor2.CBORTag(30, [1, 0]),
                    cbor2.CBORTag(35, "("),
                    cbor2.CBORTag(37, b"\x00" * 16),
                    cbor2.CBORTag(258, [1, 1, 2]),
                    cbor2.CBORTag(55799, {"StreamName": STREAM}),
                    cbor2.CBORTag(987654, "unknown tag"),
                    datetime(1, 1, 1, tzinfo=UTC),
                    datetime(9999, 12, 31, tzinfo=UTC),
                    b"\x00" * 100_000,
                ]
            ),
        ]
    return st.one_of(options)


def plausible(name: str, shape: shapes.Shape, ctx: Target, cbor: bool) -> st.SearchStrategy[Any]:
    """Values a real client might send for a member, so requests get past validation."""
    by_name: dict[str, list[Any]] = {
        "StreamName": [STREAM, STREAM, "bad-input-other"],
        "StreamARN": [ctx.arn, ctx.arn + "x"],
        "ResourceARN": [ctx.arn, ctx.arn + "/consumer/c:1"],
        "ShardId": ["shardId-000000000000", "shardId-000000000001", "shardId-000000000009"],
        "ShardToSplit": ["shardId-000000000000", "shardId-000000000001", "shardId-000000000009"],
        "ShardToMerge": ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"],
        "AdjacentShardToMerge": ["shardId-000000000001", "shardId-000000000002"],
        "ExclusiveStartShardId": ["shardId-000000000000", "shardId-000000000009"],
        "ShardIterator": [ctx.iterator, ctx.iterator[:-4], '"' + ctx.iterator + '"'],
        "StartingSequenceNumber": [*ctx.sequence_numbers[:3], "0", "1" * 57],
        "SequenceNumberForOrdering": [ctx.sequence_numbers[0], "0"],
        "KeyId": ["alias/aws/kinesis"],
        "ConsumerName": [CONSUMER, "bad-input-other-consumer"],
        "ConsumerARN": [ctx.consumer_arn, ctx.consumer_arn[:-1] + "9"],
    }
    if name in by_name:
        return st.sampled_from(by_name[name])
    if name in ("ExplicitHashKey", "NewStartingHashKey"):
        return st.integers(0, 2**128 + 5).map(str)
    match shape:
        case shapes.String(enum=enum) if enum:
            return st.sampled_from(enum)
        case shapes.String(min=low, max=high):
            alphabet = "abcXYZ019_.-"
            return st.text(alphabet, min_size=low or 0, max_size=min(high or 20, 20))
        case shapes.Integer(min=low, max=high) | shapes.Long(min=low, max=high):
            start = low if low is not None else -5
            return st.integers(start, min(high if high is not None else start + 200, start + 200))
        case shapes.Boolean():
            return st.booleans()
        case shapes.Blob():
            data = st.binary(max_size=300)
            return data if cbor else data.map(lambda b: base64.b64encode(b).decode())
        case shapes.Timestamp():
            seconds = st.floats(-2 * 86_400, 60).map(lambda offset: STARTED_S + offset)
            return seconds.map(lambda s: cbor2.CBORTag(1, int(s * 1000))) if cbor else seconds
        case shapes.Structure():
            return structure(shape, ctx, cbor)
        case shapes.List(member=member, min=low, max=high):
            return st.lists(
                plausible(name, member, ctx, cbor), min_size=low or 0, max_size=min(high or 5, 5)
            )
        case shapes.Map(min=low, max=high):
            return st.dictionaries(
                st.text("abcXYZ019_ ", min_size=1, max_size=10),
                st.text("abcXYZ019_ ", max_size=10),
                min_size=low or 0,
                max_size=min(high or 5, 5),
            )
    raise AssertionError(f"no strategy for {shape}")


def structure(shape: shapes.Structure, ctx: Target, cbor: bool) -> st.SearchStrategy[dict]:
    def member(name: str, member_shape: shapes.Shape) -> st.SearchStrategy[Any]:
        if shape.name == "DeleteStreamInput" and name in ("StreamName", "StreamARN"):
            # Keep the target stream: later requests should reach its shards and records.
            return st.sampled_from(["bad-input-other", ctx.arn.replace(STREAM, "other")])
        if shape.name in RESHARD_INPUTS and name == "StreamName":
            return st.just(RESHARD_STREAM)
        if shape.name in RESHARD_INPUTS and name == "StreamARN":
            return st.just(ctx.reshard_arn)
        return plausible(name, member_shape, ctx, cbor)

    required = {
        name: member(name, member_shape)
        for name, member_shape in shape.members.items()
        if name in shape.required
    }
    optional = {
        name: member(name, member_shape)
        for name, member_shape in shape.members.items()
        if name not in shape.required and name != "StreamId"
    }
    return st.fixed_dictionaries(required, optional=optional)


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place inside a body a value could be swapped (dict keys, list indexes)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(value[head], rest, new)
    return copy


def encode(value: Any, cbor: bool) -> bytes:
    if cbor:
        try:
            return cbor2.dumps(value)
        except (UnicodeEncodeError, cbor2.CBOREncodeError):
            assume(False)  # a lone surrogate: not encodable as CBOR text
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def mutated_request(draw: st.DrawFn, ctx: Target, operation: str, cbor: bool) -> dict:
    """A plausible request with one to three members (at any depth) of the wrong kind."""
    shape = shapes.OPERATIONS[operation]
    body = draw(structure(shape, ctx, cbor))
    for _ in range(draw(st.integers(1, 3))):
        places = list(paths(body))
        if places and draw(st.booleans()):
            body = replaced(body, draw(st.sampled_from(places)), draw(nasty(cbor)))
        else:  # a member that may be absent, or a name from elsewhere in the model
            names = [*shape.members, "Records", "Data", "ShardFilter", "Tags", "Type"]
            body = {**body, draw(st.sampled_from(names)): draw(nasty(cbor))}
    return body


def with_content_types() -> st.SearchStrategy[str | None]:
    return st.sampled_from([*KINESIS_TYPES, *KINESIS_TYPES, *UNROUTABLE_TYPES])


# --- hypothesis tests ----------------------------------------------------------------------


@settings(_common, max_examples=200)
@given(
    operation=st.sampled_from(OPERATIONS),
    body=st.binary(min_size=1, max_size=2_000),
    content_type=with_content_types(),
)
def test_random_bytes(target, operation, body, content_type):
    response = send(target, operation, body, content_type)
    if content_type == JSON_TYPE and not parses_as_json(body):
        assert error_type(response) == "SerializationException"


def parses_as_json(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8"))
    except ValueError:
        return False
    return True


@settings(_common, max_examples=300)
@given(data=st.data(), operation=st.sampled_from(OPERATIONS), cbor=st.booleans())
def test_garbled_requests(target, data, operation, cbor):
    """A real request's bytes, truncated, cut, spliced or flipped."""
    body = encode(data.draw(structure(shapes.OPERATIONS[operation], target, cbor)), cbor)
    assume(body)
    kind = data.draw(st.sampled_from(["truncate", "delete", "insert", "flip", "duplicate"]))
    at = data.draw(st.integers(0, len(body) - 1))
    if kind == "truncate":
        body = body[:at]
    elif kind == "delete":
        body = body[:at] + body[at + data.draw(st.integers(1, 8)) :]
    elif kind == "insert":
        body = body[:at] + data.draw(st.binary(min_size=1, max_size=8)) + body[at:]
    elif kind == "flip":
        body = body[:at] + bytes([body[at] ^ data.draw(st.integers(1, 255))]) + body[at + 1 :]
    else:
        body = body + body[at:]
    send(target, operation, body, CBOR_TYPE if cbor else JSON_TYPE)


@settings(_common, max_examples=200)
@given(operation=st.sampled_from(OPERATIONS), value=json_values, cbor=st.booleans())
def test_random_structure(target, operation, value, cbor):
    response = send(target, operation, encode(value, cbor), CBOR_TYPE if cbor else JSON_TYPE)
    if isinstance(value, list | str):
        assert error_type(response) == "SerializationException"


@settings(_common, max_examples=500)
@given(data=st.data(), operation=st.sampled_from(OPERATIONS), cbor=st.booleans())
def test_real_member_names_with_wrong_values(target, data, operation, cbor):
    body = data.draw(mutated_request(target, operation, cbor))
    send(target, operation, encode(body, cbor), CBOR_TYPE if cbor else JSON_TYPE)


@settings(_common, max_examples=300)
@given(
    data=st.data(),
    operation=st.sampled_from(OPERATIONS),
    value=nasty(cbor=True),
    wrap=st.booleans(),
)
def test_cbor_values_json_has_no_word_for(target, data, operation, value, wrap):
    """Byte strings, tags, undefined, simple values, bignums - where any member goes."""
    shape = shapes.OPERATIONS[operation]
    body: Any = value
    if wrap:
        name = data.draw(st.sampled_from([*shape.members, "Records"]))
        body = {**data.draw(structure(shape, target, cbor=True)), name: value}
    send(target, operation, encode(body, cbor=True), CBOR_TYPE)


@settings(_common, max_examples=100)
@given(
    name=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=60
    ).filter(lambda name: name not in HANDLERS),
    prefixed=st.booleans(),
    cbor=st.booleans(),
)
def test_unknown_operations(target, name, prefixed, cbor):
    """Anything but a served operation: UnknownOperationException, in the request's encoding."""
    header = TARGET_PREFIX + name if prefixed else name
    body = encode({"StreamName": STREAM}, cbor)
    response = send(target, header, body, CBOR_TYPE if cbor else JSON_TYPE, raw_target=True)
    assert response.status_code == 400
    assert error_type(response) == "UnknownOperationException"


# --- explicit cases ------------------------------------------------------------------------


@pytest.mark.parametrize("cbor", [False, True], ids=["json", "cbor"])
@pytest.mark.parametrize("header", [*UNKNOWN_TARGETS, None])
def test_listed_unknown_targets(target, header, cbor):
    """Near misses (case, version, no prefix, unserved operations) and no X-Amz-Target at all."""
    body = encode({"StreamName": STREAM}, cbor)
    if header is None:
        started = time.monotonic()
        response = target.client.post(None, body, _type(cbor))
        assert time.monotonic() - started < REQUEST_TIMEOUT_S
    else:
        response = send(target, header, body, _type(cbor), raw_target=True)
    assert response.status_code == 400, response.content
    assert error_type(response) == "UnknownOperationException"


def integer_members() -> list[tuple[str, str]]:
    return [
        (operation, name)
        for operation in OPERATIONS
        for name, shape in shapes.OPERATIONS[operation].members.items()
        if isinstance(shape, shapes.Integer | shapes.Long)
    ]


@pytest.mark.parametrize("cbor", [False, True], ids=["json", "cbor"])
def test_huge_and_odd_numbers_in_every_integer_member(target, cbor):
    """ShardCount 10**11 and friends: a 400 with a type, whatever the member."""
    assert ("CreateStream", "ShardCount") in integer_members()
    for operation, member in integer_members():
        base = {"StreamName": f"huge-{operation}-{member}"[:128], "ShardCount": 1}
        if operation in ("GetRecords",):
            base = {"ShardIterator": target.iterator}
        for value in [*HUGE_NUMBERS, float("nan"), float("inf"), float("-inf")]:
            response = send(target, operation, encode({**base, member: value}, cbor), _type(cbor))
            if (operation, member) == ("CreateStream", "ShardCount") and value in (10**11, 10**40):
                assert response.status_code == 400, response.content


def _type(cbor: bool) -> str:
    return CBOR_TYPE if cbor else JSON_TYPE


def test_json_number_literals_only_hand_written_bodies_contain(target):
    """Literals only a hand-written body contains: overflowing, NaN, hex, leading zeros."""
    for literal in ["1e400", "-1e400", "NaN", "Infinity", "0x10", "012", "1.", ".5", "1e", "-"]:
        body = b'{"StreamName":"huge-literal","ShardCount":' + literal.encode() + b"}"
        response = send(target, "CreateStream", body)
        if literal not in ("1e400", "-1e400"):
            assert error_type(response) == "SerializationException", literal


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_member_as_a_100k_string(target, operation):
    """Each member, in turn, 100,000 characters long (of the kinds its patterns look for)."""
    shape = shapes.OPERATIONS[operation]
    for name in [*shape.members, "Records"]:
        for value in LONG_STRINGS[:2] + LONG_STRINGS[3:5]:
            send(target, operation, json.dumps({name: value}).encode())


REDOS_CASES = [
    ("DescribeStreamSummary", "StreamARN", "arn:aws" + ":kinesis:" * 11_000),
    ("ListTagsForResource", "ResourceARN", "arn:aws" + ":kinesis:" * 11_000),
    ("TagResource", "ResourceARN", "arn:aws:kinesis:" + ":000000000000:" * 7_000),
]


@pytest.mark.parametrize(
    ("operation", "member", "value"),
    REDOS_CASES,
    ids=[f"{op}-{member}-{value[8:20]}" for op, member, value in REDOS_CASES],
)
def test_arn_shaped_100k_strings_are_rejected_promptly(target, operation, member, value):
    """ARN patterns (``arn:aws.*:kinesis:.*:\\d{12}:...``) must not backtrack for seconds.

    Validating a 100 kB string is a millisecond of work; if it takes seconds, one small
    request blocks every other client of the server.
    """
    body = {member: value, "Tags": {"k": "v"}, "Data": "", "PartitionKey": "k"}
    response = send(target, operation, json.dumps(body).encode(), timeout=2.0)
    assert error_type(response) == "ValidationException"


DEEP = 100_000


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * DEEP + b"]" * DEEP, JSON_TYPE),
        (b'{"StreamName":' + b"[" * DEEP + b"]" * DEEP + b"}", JSON_TYPE),
        (b'{"Records":' + b"[" * DEEP + b"]" * DEEP + b"}", JSON_TYPE),
        (b'{"a":' * DEEP + b"1" + b"}" * DEEP, JSON_TYPE),
        (b"[" * DEEP, JSON_TYPE),
        (b"\x81" * DEEP + b"\xf6", CBOR_TYPE),
        (b"\x9f" * DEEP + b"\xff" * DEEP, CBOR_TYPE),
        (b"\xa1\x67Records" + b"\x81" * DEEP + b"\xf6", CBOR_TYPE),
        (b"\xa1\x61a" * DEEP + b"\xf6", CBOR_TYPE),
        (b"\xd8\x1c" * 1000 + b"\x80", CBOR_TYPE),
    ],
    ids=[
        "json-array",
        "json-member",
        "json-records",
        "json-objects",
        "json-unclosed",
        "cbor-array",
        "cbor-indefinite",
        "cbor-records",
        "cbor-maps",
        "cbor-shared-tags",
    ],
)
@pytest.mark.parametrize("operation", ["PutRecords", "CreateStream", "ListShards"])
def test_deep_nesting(target, operation, body, content_type):
    response = send(target, operation, body, content_type)
    assert response.status_code == 400


CBOR_RAW = {
    # Definite lengths far beyond the body: must not be allocated up front.
    "bytes-2^64": b"\x5b" + b"\xff" * 8,
    "bytes-64GiB": b"\x5b\x00\x00\x00\x10\x00\x00\x00\x00",
    "text-4GiB": b"\x7a\xff\xff\xff\xff",
    "array-2^32": b"\x9a\xff\xff\xff\xff",
    "map-2^60": b"\xbb\x10\x00\x00\x00\x00\x00\x00\x00",
    "bignum-8MiB-claimed": b"\xc2\x5a\x00\x80\x00\x00" + b"\xff" * 1000,
    # Self-referencing structures via value sharing (tags 28/29).
    "shared-self-list": bytes.fromhex("d81c81d81d00"),
    "shared-self-map": bytes.fromhex("d81ca1") + cbor2.dumps("Records") + bytes.fromhex("d81d00"),
    "shared-in-records": bytes.fromhex("d81ca1")
    + cbor2.dumps("Records")
    + bytes.fromhex("81d81d00"),
    "shared-ref-dangling": bytes.fromhex("a1")
    + cbor2.dumps("StreamName")
    + bytes.fromhex("d81d05"),
    # Invalid UTF-8, bad simple values, stray break, reserved additional info.
    "bad-utf8": b"\xa1" + cbor2.dumps("StreamName") + b"\x62\xff\xfe",
    "stray-break": b"\xff",
    "reserved-ai": b"\x1c",
    "simple-24-low": b"\xf8\x10",
    "half-float-nan": b"\xa1" + cbor2.dumps("Limit") + b"\xf9\x7e\x00",
    "indefinite-text-with-bytes": b"\xa1" + cbor2.dumps("StreamName") + b"\x7f\x41a\xff",
    "map-key-array": b"\xa1\x81\x01\x01",
    "map-key-map": b"\xa1\xa0\x01",
    "duplicate-keys": b"\xa2" + cbor2.dumps("Limit") + b"\x01" + cbor2.dumps("Limit") + b"\x02",
    "trailing-garbage": cbor2.dumps({"Limit": 1}) + b"\x00\x01\x02",
    "two-items": cbor2.dumps({}) + cbor2.dumps({}),
    "string-ref-namespace": b"\xd9\x01\x00" + cbor2.dumps(["aaaa", cbor2.CBORTag(25, 0)]),
    "string-ref-bad": b"\xd8\x19\x05",
    "tag-1-bignum": b"\xa1" + cbor2.dumps("Timestamp") + b"\xc1\xc2\x58\x40" + b"\xff" * 64,
    "timestamp-tag-0-far": b"\xa1"
    + cbor2.dumps("Timestamp")
    + cbor2.dumps(cbor2.CBORTag(0, "99999-01-01T00:00:00Z")),
}


@pytest.mark.parametrize("operation", ["PutRecords", "GetShardIterator", "ListStreams"])
@pytest.mark.parametrize("body", list(CBOR_RAW.values()), ids=list(CBOR_RAW))
def test_hand_made_cbor(target, operation, body):
    send(target, operation, body, CBOR_TYPE)


@pytest.mark.parametrize("content_type", KINESIS_TYPES, ids=["json", "cbor"])
@pytest.mark.parametrize("operation", ["PutRecords", "CreateStream", "NotAnOperation"])
def test_bodies_over_8_mib_are_refused_with_413(target, operation, content_type):
    """Declared or chunked, a body over the limit is refused without being buffered."""
    body = b"x" * (MAX_BODY + 1)
    for response in (
        send(target, operation, body, content_type),
        target.client.post_chunked(
            TARGET_PREFIX + operation,
            (b"y" * 65_536 for _ in range(MAX_BODY // 65_536 + 1)),
            content_type,
        ),
    ):
        assert response.status_code == 413, response.content[:300]
        assert isinstance(decode(response.content, content_type).get("__type"), str)


def test_a_body_just_under_the_limit_is_read(target):
    """7.9 MiB of well-formed JSON is not "too large": it is validated (and refused) as usual."""
    body = json.dumps({"StreamName": "s" * (MAX_BODY - 1_000)}).encode()
    response = send(target, "DescribeStream", body)
    assert error_type(response) == "ValidationException"


def test_many_oversized_bodies_do_not_grow_memory(target):
    """Twenty over-limit requests in a row; the autouse check then bounds the server's RSS."""
    body = b"{" + b" " * MAX_BODY + b"}"
    for _ in range(20):
        assert send(target, "PutRecords", body).status_code == 413


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_operation_survives_a_handful_of_classics(target, operation):
    """Empty, null, a list, a string, a number, and an empty object, for every operation."""
    for body in [b"", b"null", b"[]", b'"x"', b"1", b"{}", b"{}" * 2, b"\xef\xbb\xbf{}"]:
        response = send(target, operation, body)
        if body in (b"", b"null", b"[]", b'"x"', b"1", b"{}{}"):
            assert error_type(response) == "SerializationException", body
    for body in [b"", b"\xf6", b"\x80", b"\x61x", b"\x01", b"\xa0"]:
        response = send(target, operation, body, CBOR_TYPE)
        if body in (b"", b"\xf6", b"\x80", b"\x61x", b"\x01"):
            assert error_type(response) == "SerializationException", body


def valid_bodies(target: Target) -> dict[str, dict[str, Any]]:
    """One well-formed JSON request per operation, using every kind of member it has."""
    first = target.sequence_numbers[0]
    monitoring = {"StreamName": STREAM, "ShardLevelMetrics": ["IncomingBytes"]}
    encryption = {"StreamName": STREAM, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    return {
        "CreateStream": {
            "StreamName": "bad-input-created",
            "ShardCount": 1,
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
            "Tags": {"team": "data"},
        },
        "DeleteStream": {"StreamName": "bad-input-never-created", "EnforceConsumerDeletion": True},
        "DescribeStream": {
            "StreamName": STREAM,
            "Limit": 10,
            "ExclusiveStartShardId": "shardId-000000000000",
        },
        "DescribeStreamSummary": {"StreamARN": target.arn},
        "ListStreams": {"Limit": 10, "ExclusiveStartStreamName": "a"},
        "ListShards": {
            "StreamName": STREAM,
            "MaxResults": 10,
            "ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": STARTED_S},
        },
        "IncreaseStreamRetentionPeriod": {"StreamName": STREAM, "RetentionPeriodHours": 48},
        "DecreaseStreamRetentionPeriod": {"StreamName": STREAM, "RetentionPeriodHours": 24},
        "DescribeLimits": {},
        "EnableEnhancedMonitoring": monitoring,
        "DisableEnhancedMonitoring": monitoring,
        "StartStreamEncryption": encryption,
        "StopStreamEncryption": encryption,
        "AddTagsToStream": {"StreamName": STREAM, "Tags": {"team": "data"}},
        "RemoveTagsFromStream": {"StreamName": STREAM, "TagKeys": ["team"]},
        "ListTagsForStream": {"StreamName": STREAM, "Limit": 10, "ExclusiveStartTagKey": "a"},
        "TagResource": {"ResourceARN": target.arn, "Tags": {"team": "data"}},
        "UntagResource": {"ResourceARN": target.arn, "TagKeys": ["team"]},
        "ListTagsForResource": {"ResourceARN": target.arn},
        "PutRecord": {
            "StreamName": STREAM,
            "Data": "AAEC",
            "PartitionKey": "k",
            "ExplicitHashKey": "1",
            "SequenceNumberForOrdering": first,
        },
        "PutRecords": {
            "StreamName": STREAM,
            "Records": [{"Data": "AAEC", "PartitionKey": "k", "ExplicitHashKey": "1"}],
        },
        "GetShardIterator": {
            "StreamName": STREAM,
            "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_SEQUENCE_NUMBER",
            "StartingSequenceNumber": first,
        },
        "GetRecords": {"ShardIterator": target.iterator, "Limit": 10},
        "SplitShard": {
            "StreamName": RESHARD_STREAM,
            "ShardToSplit": "shardId-000000000000",
            "NewStartingHashKey": str(2**125),
        },
        "MergeShards": {
            "StreamName": RESHARD_STREAM,
            "ShardToMerge": "shardId-000000000000",
            "AdjacentShardToMerge": "shardId-000000000001",
        },
        "UpdateShardCount": {
            "StreamName": RESHARD_STREAM,
            "TargetShardCount": 3,
            "ScalingType": "UNIFORM_SCALING",
        },
        "UpdateStreamMode": {
            "StreamARN": target.reshard_arn,
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        },
        "RegisterStreamConsumer": {
            "StreamARN": target.arn,
            "ConsumerName": "bad-input-second-consumer",
            "Tags": {"team": "data"},
        },
        "DescribeStreamConsumer": {"StreamARN": target.arn, "ConsumerName": CONSUMER},
        "DeregisterStreamConsumer": {"ConsumerARN": target.consumer_arn.replace(CONSUMER, "x")},
        "ListStreamConsumers": {
            "StreamARN": target.arn,
            "MaxResults": 10,
            "StreamCreationTimestamp": STARTED_S - 86_400,
        },
        "PutResourcePolicy": {
            "ResourceARN": target.reshard_arn,
            "Policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Principal": "*", "Action": "kinesis:*", "Resource": "*"}]}',
        },
        "GetResourcePolicy": {"ResourceARN": target.arn},
        "UpdateMaxRecordSize": {"StreamARN": target.reshard_arn, "MaxRecordSizeInKiB": 2048},
        "UpdateStreamWarmThroughput": {"StreamARN": target.reshard_arn, "WarmThroughputMiBps": 2},
        "DescribeAccountSettings": {},
        "UpdateAccountSettings": {"MinimumThroughputBillingCommitment": {"Status": "DISABLED"}},
        "DeleteResourcePolicy": {"ResourceARN": target.reshard_arn},
    }


def as_cbor_values(value: Any, key: str | None = None) -> Any:
    """The same request as a CBOR client sends it: blobs as bytes, timestamps as tag 1 ms."""
    if isinstance(value, dict):
        return {k: as_cbor_values(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [as_cbor_values(v) for v in value]
    if key == "Data" and isinstance(value, str):
        return base64.b64decode(value)
    if key in ("Timestamp", "StreamCreationTimestamp") and isinstance(value, float):
        return cbor2.CBORTag(1, int(value * 1000))
    return value


def without(value: Any, path: tuple) -> Any:
    head, rest = path[0], path[1:]
    if not rest:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k != head}
        return value[:head] + value[head + 1 :]
    if isinstance(value, dict):
        return {**value, head: without(value[head], rest)}
    copy = list(value)
    copy[head] = without(value[head], rest)
    return copy


WRONG_KINDS: list[Any] = [None, True, 10**40, -1, 1.5, "x", [], {}, [{}], "a" * 100_000]


def test_valid_bodies_cover_every_operation(target):
    assert sorted(valid_bodies(target)) == OPERATIONS


@pytest.mark.parametrize("cbor", [False, True], ids=["json", "cbor"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_member_missing_or_of_every_wrong_kind(target, operation, cbor):
    """A deterministic sweep: each member (at any depth) dropped, or swapped for each kind.

    The unmodified request must pass shape validation, so the sweep really starts from a
    request the handler runs (and each variant differs from it in one place only).
    """
    valid = valid_bodies(target)[operation]
    if cbor:
        valid = as_cbor_values(valid)
    response = send(target, operation, encode(valid, cbor), _type(cbor))
    if response.status_code != 200:  # refused for the state it found, not for its shape
        error = decode(response.content, _type(cbor))
        assert error["__type"] != "SerializationException", error
        assert "validation error" not in str(error.get("message")), error
    for path in paths(valid):
        send(target, operation, encode(without(valid, path), cbor), _type(cbor))
        for wrong in WRONG_KINDS:
            send(target, operation, encode(replaced(valid, path, wrong), cbor), _type(cbor))


def test_the_target_stream_is_still_well_formed(target):
    """After all the above, bad input has not leaked into the stream's stored state."""
    summary = target.client.call("DescribeStreamSummary", {"StreamName": STREAM})[
        "StreamDescriptionSummary"
    ]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2
    assert isinstance(summary["RetentionPeriodHours"], int)
    assert 24 <= summary["RetentionPeriodHours"] <= 8760
    assert math.isfinite(summary["StreamCreationTimestamp"])
    tags = target.client.call("ListTagsForStream", {"StreamName": STREAM})["Tags"]
    assert all(isinstance(t["Key"], str) and isinstance(t["Value"], str) for t in tags)
    page = target.client.call(
        "GetRecords",
        {
            "ShardIterator": target.client.call(
                "GetShardIterator",
                {
                    "StreamName": STREAM,
                    "ShardId": "shardId-000000000000",
                    "ShardIteratorType": "TRIM_HORIZON",
                },
            )["ShardIterator"]
        },
    )
    assert page["Records"], "the records written at the start are gone"
