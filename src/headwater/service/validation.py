"""One validator for every Kinesis operation, answering with AWS' own errors.

Each operation's shape (``headwater.service.shapes``) is compiled once, at import, into a tree
of ``_Node`` objects. A request is then checked in AWS' two phases:

1. *convert*: walk the body; raise ``SerializationException`` at the first value of a wrong
   type; drop unknown members and nulls; decode blobs and timestamps. Constraint tests run here
   too, but a failure only marks the request as bad, so a valid request is walked once.
2. *report* (only for a bad request): walk the cleaned body in AWS' member order and raise a
   ``ValidationException`` listing at most ten "Value ... failed to satisfy constraint" errors.

Speed: PutRecords (500 records) is the server's hot path. Every constraint is written once, as
a small Python expression over ``item``; the expressions are compiled into test functions and,
for each structure, into one generated converter that checks its members inline, so a valid
record costs a single Python call.

Messages and their order follow AWS as observed by kinesalite (mhart/kinesalite, whose tests
ran against the real service); /work/research/validation-notes.md records the sources.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

import re2
from cbor2 import CBORTag

from headwater.errors import SerializationException, UnknownOperationException, ValidationException
from headwater.service import shapes

# Base64: pybase64's SIMD decoder is several times faster than binascii on PutRecords' hot
# path. It is called with positional arguments (text, altchars, validate): parsing a keyword
# argument costs more than decoding 100 bytes. ``_blob_from_base64`` makes either one strict.
try:
    from pybase64 import b64decode as _b64decode
except ImportError:  # pragma: no cover - depends on the environment
    from binascii import a2b_base64

    def _b64decode(text: str, altchars: None, validate: bool) -> bytes:
        return a2b_base64(text)


_MAX_ERRORS = 10
_NOT_NULL = "Member must not be null"
_START_OF_LIST = "Start of list found where not expected"
_START_OF_MAP = "Start of structure or map found where not expected."
_JAVA_BOUNDS = {"Integer": (-(2**31), 2**31 - 1), "Long": (-(2**63), 2**63 - 1)}
_STRUCTURE_PACKAGE = "com.amazonaws.kinesis.v20131202."

# How AWS names a value's class in "class X can not be converted to ..." messages. The last
# three kinds only arrive in CBOR, where AWS' wording is unknown; these names keep the form.
_JAVA_CLASS = {
    "boolean": "java.lang.Boolean",
    "number": "com.amazon.coral.value.json.numbers.TruncatingBigNumber",
    "string": "java.lang.String",
    "bytes": "java.nio.HeapByteBuffer",
    "timestamp": "java.util.Date",
    "other": "java.lang.Object",
}

_NUMBERS = (int, float)
_BYTES_LIKE = (bytes, bytearray, memoryview)

Convert = Callable[[Any, list[Any]], Any]
Report = Callable[[Any, str, list[str]], None]


# --- generated code ----------------------------------------------------------------------

# The globals of all generated code. Each object it needs is bound under a fresh name.
_GENERATED: dict[str, Any] = {}
_names = count()


def _bind(value: Any) -> str:
    name = f"_g{next(_names)}"
    _GENERATED[name] = value
    return name


def _generate(source: str, result: str) -> Any:
    """Run source built from ``shapes`` (never from a request) and return what it defines."""
    scope: dict[str, Any] = {}
    exec(source, _GENERATED, scope)
    return scope[result]


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


def _null_or_raise(value: object, bad: list[Any], error: Callable[[], SerializationException]):
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
    """Decode as strictly as AWS, with AWS' message for what it rejects.

    A lenient decoder drops characters outside the alphabet, so a string with any of them, or
    with padding inside, decodes to fewer bytes than its length promises; checking the length
    and the final padding (the last digit's unused bits must be zero) makes any decoder strict.
    """
    size = len(text)
    if size & 3 == 0:
        try:
            data = _b64decode(text, None, True)
        except ValueError:
            pass
        else:
            padding = (size >> 2) * 3 - len(data)
            if (
                (padding == 0 and (size == 0 or text[-1] != "="))
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


@dataclass(frozen=True, slots=True)
class _Rule:
    """One constraint: a Python expression over ``item`` that holds when the value satisfies
    it, AWS' messages for a value that does not, and how AWS lists the rule inside "[...]"."""

    expression: str
    failures: Callable[[Any], list[str]]
    described: tuple[str, ...]


def _pattern_rule(pattern: str, max_length: int | None) -> _Rule:
    """Java's full match, with ASCII classes as Java has them.

    Patterns with two or more ``.*`` (the ARNs) backtrack polynomially in Python's engine on
    crafted input, so they run on RE2 (linear time), and only on strings within the member's
    maximum length; a longer string gets the length error alone.
    """
    message = f"Member must satisfy regular expression pattern: {pattern}"
    if pattern.count(".*") >= 2:
        matcher = re2.compile(pattern).fullmatch
        matches = f"{_bind(matcher)}(item) is not None"
        if max_length is not None:
            matches = f"len(item) > {max_length} or {matches}"
    else:
        matches = f"{_bind(re.compile(pattern, re.ASCII).fullmatch)}(item) is not None"
    return _Rule(matches, lambda _: [message], (message,))


def _enum_rule(values: tuple[str, ...]) -> _Rule:
    message = f"Member must satisfy enum value set: [{', '.join(values)}]"
    return _Rule(f"item in {_bind(frozenset(values))}", lambda _: [message], (message,))


def _bounds_rule(low: int | None, high: int | None, measure: str, what: str) -> _Rule | None:
    """Min/max of ``measure``, an expression over ``item`` (its length, or itself).

    AWS reports a value below the min and one above the max with separate messages, but lists
    the max first when it describes the rule inside a list's or map's constraint.
    """
    if low is None and high is None:
        return None
    too_small = f"Member must have {what} greater than or equal to {low}"
    too_large = f"Member must have {what} less than or equal to {high}"
    expression = "".join(
        (
            f"{low} <= " if low is not None else "",
            measure,
            f" <= {high}" if high is not None else "",
        )
    )
    size = _lambda(measure)

    def failures(value: Any) -> list[str]:
        return [too_small] if low is not None and size(value) < low else [too_large]

    described = tuple(
        text for text, bound in ((too_large, high), (too_small, low)) if bound is not None
    )
    return _Rule(expression, failures, described)


_LENGTH = "len(item)"
_JAVA_STRING_LENGTH = f"(len(item) if item.isascii() else {_bind(_java_length)}(item))"


def _rules(*candidates: _Rule | None) -> tuple[_Rule, ...]:
    return tuple(rule for rule in candidates if rule is not None)


def _all_of(rules: tuple[_Rule, ...]) -> str | None:
    """One expression for all of ``rules``, or None when there are none."""
    return " and ".join(f"({rule.expression})" for rule in rules) or None


def _lambda(expression: str) -> Callable[[Any], Any]:
    return _generate(f"function = lambda item: {expression}", "function")


def _test(expression: str | None) -> Callable[[Any], bool] | None:
    return None if expression is None else _lambda(expression)


def _add(errors: list[str], shown: str, path: str, message: str) -> None:
    if len(errors) < _MAX_ERRORS:
        errors.append(f"Value {shown} at '{path}' failed to satisfy constraint: {message}")


def _rules_report(rules: tuple[_Rule, ...], render: Callable[[Any], str]) -> Report:
    tests = tuple((_lambda(rule.expression), rule.failures) for rule in rules)

    def report(value: Any, path: str, errors: list[str]) -> None:
        for test, failures in tests:
            if not test(value):
                for message in failures(value):
                    _add(errors, f"'{render(value)}'", path, message)

    return report


# --- compiled shapes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    """A compiled shape.

    ``convert(value, bad)`` cleans a value, appending to ``bad`` when a constraint fails;
    ``report(value, path, errors)`` adds AWS' messages for a cleaned value; ``render`` prints
    a value as AWS does; ``test`` is its constraints' combined test (scalars only);
    ``described`` is how a scalar's rules are listed inside a list's or map's constraint,
    None for structures, which are reported member by member. ``inline`` is the conversion as
    source lines on ``item`` (``{convert}`` names ``convert``) for a structure's generated
    converter to embed, so that its common case costs no call.
    """

    convert: Convert
    report: Report
    render: Callable[[Any], str]
    test: Callable[[Any], bool] | None = None
    described: tuple[str, ...] | None = None
    inline: tuple[str, ...] = ("item = {convert}(item, bad)",)


def _scalar(
    parse: Callable[[Any], Any], rules: tuple[_Rule, ...], render: Callable[[Any], str]
) -> _Node:
    """A scalar whose ``parse`` raises on a wrong type and returns the cleaned value."""
    test = _test(_all_of(rules))

    def convert(value: Any, bad: list[Any]) -> Any:
        if value is None:  # a null list item or map value
            bad.append(None)
            return None
        value = parse(value)
        if test is not None and not test(value):
            bad.append(value)
        return value

    described = tuple(text for rule in rules for text in rule.described)
    return _Node(convert, _rules_report(rules, render), render, test, described)


def _string(shape: shapes.String) -> _Node:
    rules = _rules(
        shape.enum and _enum_rule(shape.enum),
        shape.pattern and _pattern_rule(shape.pattern, shape.max),
        _bounds_rule(shape.min, shape.max, _JAVA_STRING_LENGTH, "length"),
    )
    valid = _all_of(rules)
    test = _test(valid)

    def convert(value: Any, bad: list[Any]) -> Any:
        if not isinstance(value, str):
            return _null_or_raise(value, bad, lambda: _scalar_error(value, "an String"))
        if test is not None and not test(value):
            bad.append(value)
        return value

    described = tuple(text for rule in rules for text in rule.described)
    inline = (
        f"if item.__class__ is not str{'' if valid is None else f' or not ({valid})'}:",
        "    item = {convert}(item, bad)",
    )
    return _Node(convert, _rules_report(rules, str), str, test, described, inline)


def _blob(shape: shapes.Blob) -> _Node:
    rules = _rules(_bounds_rule(shape.min, shape.max, _LENGTH, "length"))
    valid = _all_of(rules)
    test = _test(valid)

    def convert(value: Any, bad: list[Any]) -> Any:
        if isinstance(value, str):
            data = _blob_from_base64(value)
        elif isinstance(value, _BYTES_LIKE):
            data = value if value.__class__ is bytes else bytes(value)
        else:
            return _null_or_raise(value, bad, lambda: _scalar_error(value, "a Blob"))
        if test is not None and not test(data):
            bad.append(data)
        return data

    described = tuple(text for rule in rules for text in rule.described)
    inline = (
        "if item.__class__ is str:",
        f"    item = {_bind(_blob_from_base64)}(item)",
        "elif item.__class__ is not bytes:",
        "    item = {convert}(item, bad)",
    ) + (() if valid is None else (f"if not ({valid}):", "    bad.append(item)"))
    return _Node(convert, _rules_report(rules, _render_blob), _render_blob, test, described, inline)


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

    return _scalar(parse, _rules(_bounds_rule(shape.min, shape.max, "item", "value")), str)


def _boolean() -> _Node:
    def parse(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _scalar_error(value, "an Boolean")
        return value

    return _scalar(parse, (), lambda value: "true" if value else "false")


def _timestamp(cbor: bool) -> _Node:
    return _scalar(_timestamp_seconds_cbor if cbor else _timestamp_seconds_json, (), str)


def _not_a_structure(value: Any, bad: list[Any]) -> None:
    return _null_or_raise(value, bad, lambda: _container_error(value, "Expected null"))


def _structure_converter(nodes: dict[str, _Node], required: tuple[str, ...]) -> Convert:
    """Generate a structure's converter: one flat function with its members inline.

    Members are taken in body order, so the first wrongly typed one is reported, as AWS'
    streaming parser would; unknown members and nulls are skipped.
    """
    lines = [
        "def convert(value, bad):",
        "    if not isinstance(value, dict):",
        f"        return {_bind(_not_a_structure)}(value, bad)",
        "    cleaned = {}",
        "    for key, item in value.items():",
        "        if item is None:",
        "            continue",
    ]
    for index, (name, node) in enumerate(nodes.items()):
        lines.append(f"        {'elif' if index else 'if'} key == {name!r}:")
        convert = _bind(node.convert)
        lines.extend(f"            {line.replace('{convert}', convert)}" for line in node.inline)
    if nodes:
        lines += ["        else:", "            continue", "        cleaned[key] = item"]
    else:
        lines.append("        continue")
    lines += [
        f"    if not {_bind(frozenset(required))} <= cleaned.keys():",
        "        bad.append(None)",
        "    return cleaned",
    ]
    return _generate("\n".join(lines), "convert")


def _structure(shape: shapes.Structure, cbor: bool) -> _Node:
    nodes = {name: _compile(member, cbor) for name, member in shape.members.items()}
    members = tuple(
        (name, name[0].lower() + name[1:], name in shape.required, node)
        for name, node in nodes.items()
    )

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
    return _Node(_structure_converter(nodes, shape.required), report, lambda _: java_name)


def _or_null(value: Any, render: Callable[[Any], str]) -> str:
    return "null" if value is None else render(value)


def _passes(node: _Node, value: Any) -> bool:
    """Whether a list item or map entry satisfies its scalar shape (a null never does)."""
    return value is not None and (node.test is None or node.test(value))


def _members_constraint(node: _Node) -> str:
    return f"[{', '.join(node.described or ())}]"


def _list(shape: shapes.List, cbor: bool) -> _Node:
    member = _compile(shape.member, cbor)
    member_convert = member.convert
    own = _rules(_bounds_rule(shape.min, shape.max, _LENGTH, "length"))
    own_test = _test(_all_of(own))

    def render_item(item: Any) -> str:
        return shape.member_str or member.render(item)

    def render(items: list[Any]) -> str:
        return f"[{', '.join(_or_null(item, render_item) for item in items)}]"

    def convert(value: Any, bad: list[Any]) -> Any:
        if not isinstance(value, list):
            expected = "Expected list or null"
            return _null_or_raise(value, bad, lambda: _container_error(value, expected))
        items = [member_convert(item, bad) for item in value]
        if own_test is not None and not own_test(items):
            bad.append(items)
        return items

    own_report = _rules_report(own, render)
    members_constraint = f"Member must satisfy constraint: {_members_constraint(member)}"

    def report(items: list[Any], path: str, errors: list[str]) -> None:
        own_report(items, path, errors)
        if member.described is not None:  # scalars: one error for the whole list
            if not all(_passes(member, item) for item in items):
                _add(errors, f"'{render(items)}'", path, members_constraint)
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


def _map(shape: shapes.Map, cbor: bool) -> _Node:
    key = _compile(shape.key, cbor)
    value_node = _compile(shape.value, cbor)
    key_convert, value_convert = key.convert, value_node.convert
    own = _rules(_bounds_rule(shape.min, shape.max, _LENGTH, "length"))
    own_test = _test(_all_of(own))

    def render(entries: dict[Any, Any]) -> str:
        shown = (f"{_or_null(k, str)}={_or_null(v, value_node.render)}" for k, v in entries.items())
        return f"{{{', '.join(shown)}}}"

    def convert(value: Any, bad: list[Any]) -> Any:
        if not isinstance(value, dict):
            expected = "Expected map or null"
            return _null_or_raise(value, bad, lambda: _container_error(value, expected))
        entries = {key_convert(k, bad): value_convert(v, bad) for k, v in value.items()}
        if own_test is not None and not own_test(entries):
            bad.append(entries)
        return entries

    own_report = _rules_report(own, render)
    keys_constraint = f"Map keys must satisfy constraint: {_members_constraint(key)}"
    values_constraint = f"Map value must satisfy constraint: {_members_constraint(value_node)}"

    def report(entries: dict[Any, Any], path: str, errors: list[str]) -> None:
        own_report(entries, path, errors)
        if not all(_passes(key, k) for k in entries):
            _add(errors, f"'{render(entries)}'", path, keys_constraint)
        if not all(_passes(value_node, v) for v in entries.values()):
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


_BUILDERS: dict[type, Callable[[Any, bool], _Node]] = {
    shapes.String: lambda shape, cbor: _string(shape),
    shapes.Integer: lambda shape, cbor: _integer(shape),
    shapes.Long: lambda shape, cbor: _integer(shape),
    shapes.Boolean: lambda shape, cbor: _boolean(),
    shapes.Blob: lambda shape, cbor: _blob(shape),
    shapes.Timestamp: lambda shape, cbor: _timestamp(cbor),
    shapes.Structure: _structure,
    shapes.List: _list,
    shapes.Map: _map,
}


def _build(shape: shapes.Shape, cbor: bool) -> _Node:
    return _BUILDERS[type(shape)](shape, cbor)


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
    if bad:  # some constraint failed: AWS' messages, in AWS' order
        errors: list[str] = []
        node.report(cleaned, "", errors)
        raise validation_error(errors)
    return cleaned


def member_test(shape: shapes.Shape) -> Callable[[Any], bool] | None:
    """A JSON scalar shape's combined constraint test (None: it has none), for code that
    checks values of that shape without a whole request around them."""
    return _compile(shape, False).test


def validation_error(errors: list[str]) -> ValidationException:
    """AWS' one ValidationException for a list of failed constraints (at most 10 shown)."""
    shown = errors[:_MAX_ERRORS]
    plural = "s" if len(shown) > 1 else ""
    return ValidationException(
        f"{len(shown)} validation error{plural} detected: {'; '.join(shown)}"
    )
