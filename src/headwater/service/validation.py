"""One validator for every Kinesis operation, answering with AWS' own errors.

Each operation's shape (``headwater.service.shapes``) is compiled once, at import, into a tree
of closures (``_Node``). A request is then checked in AWS' two phases:

1. *convert*: walk the body; raise ``SerializationException`` at the first value of a wrong
   type; drop unknown members and nulls; decode blobs and timestamps. Constraint tests run here
   too, but a failure only marks the request as bad, so a valid request is walked once.
2. *report* (only for a bad request): walk the cleaned body in AWS' member order and raise a
   ``ValidationException`` listing at most ten "Value ... failed to satisfy constraint" errors.

Messages and their order follow AWS as observed by kinesalite (mhart/kinesalite, its tests ran
against the real service); /work/research/validation-notes.md records the sources.
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from cbor2 import CBORTag

from headwater.errors import SerializationException, UnknownOperationException, ValidationException
from headwater.service import shapes

try:  # SIMD base64 (pybase64) is ~6x faster than binascii on PutRecords' hot path.
    import pybase64

    _b64decode: Callable[[str], bytes] = partial(pybase64.b64decode, validate=True)
except ImportError:  # pragma: no cover - depends on the environment
    _b64decode = partial(binascii.a2b_base64, strict_mode=True)


_MAX_ERRORS = 10
_NOT_NULL = "Member must not be null"
_START_OF_LIST = "Start of list found where not expected"
_START_OF_MAP = "Start of structure or map found where not expected."
_TRUNCATING_NUMBER = "com.amazon.coral.value.json.numbers.TruncatingBigNumber"
_JAVA_BOUNDS = {"Integer": (-(2**31), 2**31 - 1), "Long": (-(2**63), 2**63 - 1)}
_STRUCTURE_PACKAGE = "com.amazonaws.kinesis.v20131202."

# How AWS names a JSON value's class in "class X can not be converted to ..." messages. The last
# three kinds only arrive in CBOR, where AWS' wording is unknown; these names keep the form.
_JAVA_CLASS = {
    "boolean": "java.lang.Boolean",
    "number": _TRUNCATING_NUMBER,
    "string": "java.lang.String",
    "bytes": "java.nio.HeapByteBuffer",
    "timestamp": "java.util.Date",
    "other": "java.lang.Object",
}

_NUMBERS = (int, float)
_BYTES_LIKE = (bytes, bytearray, memoryview)

Convert = Callable[[Any, list[Any]], Any]
Report = Callable[[Any, str, list[str]], None]


@dataclass(frozen=True, slots=True)
class _Rule:
    """One constraint: a fast test, AWS' messages for a failing value, and its listed form."""

    test: Callable[[Any], bool]
    failures: Callable[[Any], list[str]]
    described: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Node:
    """A compiled shape.

    ``convert(value, bad)`` cleans a value (appending to ``bad`` when a constraint fails);
    ``report(value, path, errors)`` adds AWS' messages for a cleaned value; ``render`` prints
    a value as AWS does; ``described`` is how a scalar's rules are listed inside a list's or
    map's constraint ("[...]"), ``None`` for structures, which are reported member by member.
    """

    convert: Convert
    report: Report
    render: Callable[[Any], str]
    test: Callable[[Any], bool] | None = None
    described: tuple[str, ...] | None = None


# --- type errors -------------------------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _NUMBERS):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, _BYTES_LIKE):
        return "bytes"
    if isinstance(value, datetime) or (isinstance(value, CBORTag) and value.tag == 1):
        return "timestamp"
    return "other"


def _scalar_error(value: object, target: str) -> SerializationException:
    """AWS' message when ``value`` arrives where a scalar (``target``: "an Integer") belongs."""
    kind = _kind(value)
    if kind == "list":
        return SerializationException(_START_OF_LIST)
    if kind == "map":
        return SerializationException(_START_OF_MAP)
    if kind == "string" and target == "an Boolean":
        return SerializationException(f"'{str(value).upper()}' can not be converted to an Boolean")
    return SerializationException(f"class {_JAVA_CLASS[kind]} can not be converted to {target}")


def _container_error(value: object, expected: str) -> SerializationException:
    """AWS' message when ``value`` arrives where a list, map or structure belongs."""
    kind = _kind(value)
    if kind == "list" and expected != "Expected list or null":
        return SerializationException(_START_OF_LIST)
    if kind == "map" and expected == "Expected list or null":
        return SerializationException(_START_OF_MAP)
    return SerializationException(expected)


def _null_member(value: object, bad: list[Any], error: Callable[[], SerializationException]):
    """A null list item or map value: AWS rejects it as a null member, not as a type."""
    if value is None:
        bad.append(None)
        return None
    raise error()


# --- values ------------------------------------------------------------------------------


def _java_length(text: str) -> int:
    """String length as Java counts it (UTF-16 code units), which AWS' limits use."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


_BASE64_BAD_CHARACTER = re.compile(r"[^a-zA-Z0-9+/=]|=[^=]")
_BASE64_LOW4_ZERO = frozenset("AQgw")  # last digit before "==" carries 2 bits, rest must be 0
_BASE64_LOW2_ZERO = frozenset("AEIMQUYcgkosw048")  # last digit before "=" carries 4 bits


def _blob_from_base64(text: str) -> bytes:
    """Decode strictly, rejecting what AWS rejects (non-canonical padding too), as AWS says."""
    size = len(text)
    if size & 3 == 0:
        try:
            data = _b64decode(text)
        except ValueError:
            pass
        else:
            padding = (size >> 2) * 3 - len(data)
            if (
                padding == 0
                or (padding == 1 and text[-1] == "=" and text[-2] in _BASE64_LOW2_ZERO)
                or (padding == 2 and text[-2] == "=" and text[-3] in _BASE64_LOW4_ZERO)
            ):
                return data
    raise SerializationException(
        f"'{text}' can not be converted to a Blob: {_base64_problem(text)}"
    )


def _base64_problem(text: str) -> str:
    """Which of AWS' three base64 complaints applies, checked in AWS' order."""
    length = _java_length(text)
    if length % 4:
        return f"Base64 encoded length is expected a multiple of 4 bytes but found: {length}"
    bad = _BASE64_BAD_CHARACTER.search(text)
    if bad:
        return f"Invalid Base64 character: '{bad.group()[0]}'"
    return "Invalid last non-pad Base64 character dectected"


def _render_blob(data: bytes) -> str:
    return f"java.nio.HeapByteBuffer[pos=0 lim={len(data)} cap={len(data)}]"


def _finite_number(value: object) -> float | None:
    """A JSON/CBOR number as a finite float, or None for anything else."""
    if value.__class__ is bool or not isinstance(value, _NUMBERS):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _timestamp_seconds_json(value: object) -> float:
    """JSON 1.1 sends timestamps as epoch seconds."""
    seconds = _finite_number(value)
    if seconds is None:
        raise _scalar_error(value, "milliseconds since epoch")
    return seconds


def _timestamp_seconds_cbor(value: object) -> float:
    """AWS CBOR sends epoch milliseconds, bare or under tag 1 (the Java SDKs' form)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.timestamp()
    millis = _finite_number(value.value if isinstance(value, CBORTag) and value.tag == 1 else value)
    if millis is None:
        raise _scalar_error(value, "milliseconds since epoch")
    return millis / 1000


# --- rules -------------------------------------------------------------------------------


def _pattern_rule(pattern: str) -> _Rule:
    regex = re.compile(pattern, re.ASCII)
    message = f"Member must satisfy regular expression pattern: {pattern}"
    return _Rule(lambda value: regex.fullmatch(value) is not None, lambda _: [message], (message,))


def _enum_rule(values: tuple[str, ...]) -> _Rule:
    allowed = frozenset(values)
    message = f"Member must satisfy enum value set: [{', '.join(values)}]"
    return _Rule(allowed.__contains__, lambda _: [message], (message,))


def _bounds_rule(
    low: int | None, high: int | None, measure: Callable[[Any], int] | None, what: str
) -> _Rule | None:
    """Min/max on a ``measure`` (None: the value itself).

    AWS reports a value below the min and one above the max with separate messages, but lists
    the max first when it describes the rule inside a list's or map's constraint.
    """
    if low is None and high is None:
        return None
    too_small = f"Member must have {what} greater than or equal to {low}"
    too_large = f"Member must have {what} less than or equal to {high}"
    floor = -math.inf if low is None else low
    ceiling = math.inf if high is None else high
    size = measure or (lambda value: value)

    def failures(value: Any) -> list[str]:
        return [too_small] if size(value) < floor else [too_large]

    described = tuple(
        text for text, bound in ((too_large, high), (too_small, low)) if bound is not None
    )
    return _Rule(_range_test(floor, ceiling, measure), failures, described)


def _range_test(
    floor: float, ceiling: float, measure: Callable[[Any], int] | None
) -> Callable[[Any], bool]:
    """The range test, with the common measures inlined: it runs for every record."""
    if measure is None:
        return lambda value: floor <= value <= ceiling
    if measure is len:
        return lambda value: floor <= len(value) <= ceiling
    if measure is _java_length:
        return lambda text: floor <= (len(text) if text.isascii() else measure(text)) <= ceiling
    return lambda value: floor <= measure(value) <= ceiling


def _rules(*candidates: _Rule | None) -> tuple[_Rule, ...]:
    return tuple(rule for rule in candidates if rule is not None)


def _all_of(rules: tuple[_Rule, ...]) -> Callable[[Any], bool] | None:
    if not rules:
        return None
    if len(rules) == 1:
        return rules[0].test
    tests = tuple(rule.test for rule in rules)
    return lambda value: all(test(value) for test in tests)


def _add(errors: list[str], shown: str, path: str, message: str) -> None:
    if len(errors) < _MAX_ERRORS:
        errors.append(f"Value {shown} at '{path}' failed to satisfy constraint: {message}")


def _rules_report(rules: tuple[_Rule, ...], render: Callable[[Any], str]) -> Report:
    def report(value: Any, path: str, errors: list[str]) -> None:
        for rule in rules:
            if not rule.test(value):
                for message in rule.failures(value):
                    _add(errors, f"'{render(value)}'", path, message)

    return report


# --- compiling shapes --------------------------------------------------------------------


def _checked(parse: Callable[[Any], Any], test: Callable[[Any], bool] | None) -> Convert:
    """A converter: ``parse`` (raising type errors), then mark a failed constraint."""

    def convert(value: Any, bad: list[Any]) -> Any:
        if value is None:  # a null list item or map value
            bad.append(None)
            return None
        value = parse(value)
        if test is not None and not test(value):
            bad.append(value)
        return value

    return convert


def _scalar(
    parse: Callable[[Any], Any], rules: tuple[_Rule, ...], render: Callable[[Any], str]
) -> _Node:
    test = _all_of(rules)
    described = tuple(text for rule in rules for text in rule.described)
    return _Node(_checked(parse, test), _rules_report(rules, render), render, test, described)


def _string(shape: shapes.String) -> _Node:
    rules = _rules(
        shape.enum and _enum_rule(shape.enum),
        shape.pattern and _pattern_rule(shape.pattern),
        _bounds_rule(shape.min, shape.max, _java_length, "length"),
    )
    test = _all_of(rules)

    def convert(value: Any, bad: list[Any]) -> Any:
        if not isinstance(value, str):
            return _null_member(value, bad, lambda: _scalar_error(value, "an String"))
        if test is not None and not test(value):
            bad.append(value)
        return value

    described = tuple(text for rule in rules for text in rule.described)
    return _Node(convert, _rules_report(rules, str), str, test, described)


def _blob(shape: shapes.Blob) -> _Node:
    rules = _rules(_bounds_rule(shape.min, shape.max, len, "length"))
    test = _all_of(rules)

    def convert(value: Any, bad: list[Any]) -> Any:
        if isinstance(value, str):
            data = _blob_from_base64(value)
        elif isinstance(value, _BYTES_LIKE):
            data = value if value.__class__ is bytes else bytes(value)
        else:
            return _null_member(value, bad, lambda: _scalar_error(value, "a Blob"))
        if test is not None and not test(data):
            bad.append(data)
        return data

    described = tuple(text for rule in rules for text in rule.described)
    return _Node(convert, _rules_report(rules, _render_blob), _render_blob, test, described)


def _integer(shape: shapes.Integer | shapes.Long) -> _Node:
    """Whole numbers; like AWS, floats are floored and out-of-range values saturate."""
    java_type = type(shape).__name__
    low, high = _JAVA_BOUNDS[java_type]

    def parse(value: Any) -> int:
        if _kind(value) != "number" or value != value:  # NaN has no whole value
            raise _scalar_error(value, f"an {java_type}")
        if isinstance(value, float):
            number = high if value >= high else low if value <= low else math.floor(value)
        else:
            number = int(value)
        return high if number > high else low if number < low else number

    rules = _rules(_bounds_rule(shape.min, shape.max, None, "value"))
    return _scalar(parse, rules, str)


def _boolean() -> _Node:
    def parse(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _scalar_error(value, "an Boolean")
        return value

    return _scalar(parse, (), lambda value: "true" if value else "false")


def _timestamp(cbor: bool) -> _Node:
    return _scalar(_timestamp_seconds_cbor if cbor else _timestamp_seconds_json, (), str)


def _structure(shape: shapes.Structure, cbor: bool) -> _Node:
    nodes = {name: _compile(member, cbor) for name, member in shape.members.items()}
    converters = {name: node.convert for name, node in nodes.items()}
    converter_for = converters.get
    required = shape.required
    required_names = frozenset(required)
    members = tuple(
        (name, name[0].lower() + name[1:], name in required, node) for name, node in nodes.items()
    )

    def convert(value: Any, bad: list[Any]) -> Any:
        if not isinstance(value, dict):
            return _null_member(value, bad, lambda: _container_error(value, "Expected null"))
        cleaned = {}
        for key, item in value.items():
            member_convert = converter_for(key)
            if member_convert is not None and item is not None:
                cleaned[key] = member_convert(item, bad)
        if not required_names <= cleaned.keys():
            bad.append(None)
        return cleaned

    def report(value: dict[str, Any], path: str, errors: list[str]) -> None:
        prefix = f"{path}." if path else ""
        for name, label, needed, node in members:
            if len(errors) >= _MAX_ERRORS:
                return
            item = value.get(name)
            if item is not None:
                node.report(item, prefix + label, errors)
            elif needed:
                _add(errors, "null", prefix + label, _NOT_NULL)

    java_name = _STRUCTURE_PACKAGE + shape.name
    return _Node(convert, report, lambda _: java_name)


def _members_constraint(node: _Node) -> str:
    return f"[{', '.join(node.described or ())}]"


def _list(shape: shapes.List, cbor: bool) -> _Node:
    member = _compile(shape.member, cbor)
    member_convert = member.convert
    own = _rules(_bounds_rule(shape.min, shape.max, len, "length"))
    own_test = _all_of(own)

    def render_item(item: Any) -> str:
        if item is None:
            return "null"
        return shape.member_str or member.render(item)

    def render(items: list[Any]) -> str:
        return f"[{', '.join(map(render_item, items))}]"

    def convert(value: Any, bad: list[Any]) -> Any:
        if not isinstance(value, list):
            return _null_member(
                value, bad, lambda: _container_error(value, "Expected list or null")
            )
        items = [member_convert(item, bad) for item in value]
        if own_test is not None and not own_test(items):
            bad.append(items)
        return items

    own_report = _rules_report(own, render)
    scalar_constraint = f"Member must satisfy constraint: {_members_constraint(member)}"

    def report(items: list[Any], path: str, errors: list[str]) -> None:
        own_report(items, path, errors)
        if member.described is not None:
            if any(item is None or not _passes(member, item) for item in items):
                _add(errors, f"'{render(items)}'", path, scalar_constraint)
            return
        for index, item in enumerate(items, 1):
            if len(errors) >= _MAX_ERRORS:
                return
            item_path = f"{path}.{index}.member"
            if item is None:
                _add(errors, "null", item_path, _NOT_NULL)
            else:
                member.report(item, item_path, errors)

    return _Node(convert, report, render)


def _passes(node: _Node, value: Any) -> bool:
    return node.test is None or node.test(value)


def _map(shape: shapes.Map, cbor: bool) -> _Node:
    key = _compile(shape.key, cbor)
    value_node = _compile(shape.value, cbor)
    key_convert, value_convert = key.convert, value_node.convert
    own = _rules(_bounds_rule(shape.min, shape.max, len, "length"))
    own_test = _all_of(own)

    def render(entries: dict[Any, Any]) -> str:
        shown = (f"{k}={'null' if v is None else value_node.render(v)}" for k, v in entries.items())
        return f"{{{', '.join(shown)}}}"

    def convert(value: Any, bad: list[Any]) -> Any:
        if not isinstance(value, dict):
            return _null_member(value, bad, lambda: _container_error(value, "Expected map or null"))
        entries = {key_convert(k, bad): value_convert(v, bad) for k, v in value.items()}
        if own_test is not None and not own_test(entries):
            bad.append(entries)
        return entries

    own_report = _rules_report(own, render)
    keys_constraint = f"Map keys must satisfy constraint: {_members_constraint(key)}"
    values_constraint = f"Map value must satisfy constraint: {_members_constraint(value_node)}"

    def report(entries: dict[Any, Any], path: str, errors: list[str]) -> None:
        own_report(entries, path, errors)
        if any(k is None or not _passes(key, k) for k in entries):
            _add(errors, f"'{render(entries)}'", path, keys_constraint)
        if any(v is None or not _passes(value_node, v) for v in entries.values()):
            _add(errors, f"'{render(entries)}'", path, values_constraint)

    return _Node(convert, report, render)


_COMPILED: dict[tuple[int, bool], _Node] = {}


def _compile(shape: shapes.Shape, cbor: bool) -> _Node:
    """Compile a shape once per wire format; shared shapes share their node."""
    cache_key = (id(shape), cbor)
    node = _COMPILED.get(cache_key)
    if node is None:
        node = _COMPILED[cache_key] = _build(shape, cbor)
    return node


def _build(shape: shapes.Shape, cbor: bool) -> _Node:
    match shape:
        case shapes.String():
            return _string(shape)
        case shapes.Integer() | shapes.Long():
            return _integer(shape)
        case shapes.Boolean():
            return _boolean()
        case shapes.Blob():
            return _blob(shape)
        case shapes.Timestamp():
            return _timestamp(cbor)
        case shapes.Structure():
            return _structure(shape, cbor)
        case shapes.List():
            return _list(shape, cbor)
        case shapes.Map():
            return _map(shape, cbor)
    raise TypeError(f"not a shape: {shape!r}")


_OPERATIONS: dict[str, tuple[_Node, _Node]] = {
    name: (_compile(shape, False), _compile(shape, True))
    for name, shape in shapes.OPERATIONS.items()
}


def validate(operation: str, body: object, *, cbor: bool = False) -> dict[str, Any]:
    """Check ``body`` against ``operation``'s input shape and return it cleaned.

    ``body`` is the decoded request: JSON 1.1 (blobs base64, timestamps epoch seconds) or,
    with ``cbor``, AWS CBOR (blobs bytes, timestamps epoch milliseconds). The result keeps
    the API's member names, without unknown members or nulls, blobs as ``bytes`` and
    timestamps as float epoch seconds.
    """
    nodes = _OPERATIONS.get(operation)
    if nodes is None:
        raise UnknownOperationException()
    if not isinstance(body, dict):
        raise SerializationException()
    node = nodes[cbor]
    bad: list[Any] = []
    cleaned = node.convert(body, bad)
    if bad:
        errors: list[str] = []
        node.report(cleaned, "", errors)
        if errors:
            plural = "s" if len(errors) > 1 else ""
            raise ValidationException(
                f"{len(errors)} validation error{plural} detected: {'; '.join(errors)}"
            )
    return cleaned
