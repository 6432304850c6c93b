"""Reading the Flink SQL subset: split statements, rewrite what sqlglot cannot parse, parse.

sqlglot (pinned) has no Flink dialect. Flink's own syntax is rewritten at the token level
into forms it parses, keeping every other character of the text:

- ``TABLE(TUMBLE(TABLE t [PARTITION BY k, ...], DESCRIPTOR(ts), size...))`` becomes
  ``__WINDOW_TUMBLE(t, ts, size..., __PARTITION(k, ...))``: a table function in ``FROM``;
- in ``CREATE TABLE``: ``WATERMARK FOR c AS expr`` and ``METADATA FROM 'key'`` are taken
  out (and kept aside), ``NOT ENFORCED`` is dropped and ``ROW<...>`` becomes ``STRUCT<...>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, Tokenizer, TokenType

from headwater.analytics.errors import AnalyticsError

WINDOW_FUNCTIONS = ("TUMBLE", "HOP", "SESSION", "CUMULATE")
PARTITION_MARKER = "__PARTITION"
TVF_PREFIX = "__WINDOW_"  # SESSION alone is a keyword to sqlglot


@dataclass
class CreateTable:
    """``CREATE TABLE``: the parsed schema plus what was taken out before parsing."""

    node: exp.Create
    watermark: tuple[str, exp.Expression] | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class CreateView:
    name: str
    query: exp.Query


@dataclass
class Insert:
    sink: str
    query: exp.Query
    text: str


Statement = CreateTable | CreateView | Insert


def _tokens(text: str) -> list[Token]:
    try:
        return Tokenizer().tokenize(text)
    except Exception as error:  # sqlglot raises its TokenError or ValueError
        raise AnalyticsError(f"cannot read the SQL: {error}") from None


def split_statements(text: str) -> list[str]:
    """The statements of a script, split at top-level semicolons (comments kept out)."""
    parts: list[str] = []
    start = 0
    for token in _tokens(text):
        if token.token_type == TokenType.SEMICOLON:
            parts.append(text[start : token.start])
            start = token.end + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if _tokens(part)]


def _closing(tokens: list[Token], open_index: int) -> int:
    """The index of the parenthesis closing the one at ``open_index``."""
    depth = 0
    for index in range(open_index, len(tokens)):
        kind = tokens[index].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return index
    raise AnalyticsError("unbalanced parentheses")


def _split_args(
    tokens: list[Token], first: int, last: int, types: bool = False
) -> list[tuple[int, int]]:
    """Top-level comma-separated token ranges between ``first`` and ``last`` (inclusive);
    with ``types``, commas inside ``ROW<...>``/``ARRAY<...>`` do not split either."""
    ranges: list[tuple[int, int]] = []
    depth, angles, start = 0, 0, first
    for index in range(first, last + 1):
        token = tokens[index]
        kind = token.token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
        elif types and token.text == "<" and tokens[index - 1].text.upper() in _NESTED:
            angles += 1
        elif types and angles and token.text in (">", ">>"):
            angles -= len(token.text)
        elif kind == TokenType.COMMA and depth == 0 and angles == 0:
            ranges.append((start, index - 1))
            start = index + 1
    ranges.append((start, last))
    return ranges


def _span(text: str, tokens: list[Token], first: int, last: int) -> str:
    return text[tokens[first].start : tokens[last].end + 1]


def _rewrite_window_tvfs(text: str) -> str:
    """``TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), ...))`` → ``__WINDOW_TUMBLE(t, ts, ...)``."""
    while True:
        tokens = _tokens(text)
        for index in range(len(tokens) - 3):
            if (
                tokens[index].text.upper() == "TABLE"
                and tokens[index + 1].token_type == TokenType.L_PAREN
                and tokens[index + 2].text.upper() in WINDOW_FUNCTIONS
                and tokens[index + 3].token_type == TokenType.L_PAREN
            ):
                break
        else:
            return text
        outer_close = _closing(tokens, index + 1)
        inner_close = _closing(tokens, index + 3)
        name = tokens[index + 2].text.upper()
        args = _split_args(tokens, index + 4, inner_close - 1)
        if len(args) < 3:
            raise AnalyticsError(f"{name} needs TABLE t, DESCRIPTOR(column) and an interval")
        data_first, data_last = args[0]
        words = [token.text for token in tokens[data_first : data_last + 1]]
        if not words or words[0].upper() != "TABLE" or len(words) < 2:
            raise AnalyticsError(f"{name}: the first argument must be TABLE <name>")
        table, partition = words[1], ""
        upper = [word.upper() for word in words]
        at = next((i for i, w in enumerate(upper) if w.startswith("PARTITION")), None)
        if at is not None:  # the tokenizer reads "PARTITION BY" as one token
            skip = {"(", ")", ",", "BY"}
            keys = [w for w in words[at + 1 :] if w.upper() not in skip]
            partition = f", {PARTITION_MARKER}({', '.join(keys)})"
        descriptor = [token.text for token in tokens[args[1][0] : args[1][1] + 1]]
        if len(descriptor) != 4 or descriptor[0].upper() != "DESCRIPTOR":
            raise AnalyticsError(f"{name}: the second argument must be DESCRIPTOR(column)")
        rest = ", ".join(_span(text, tokens, a, b) for a, b in args[2:])
        replacement = f"{TVF_PREFIX}{name}({table}, {descriptor[2]}, {rest}{partition})"
        text = text[: tokens[index].start] + replacement + text[tokens[outer_close].end + 1 :]


_NESTED = ("ROW", "STRUCT", "ARRAY", "MAP")
_ROW_TYPE = re.compile(r"\bROW\s*<", re.IGNORECASE)


def _metadata_keyword(tokens: list[Token], first: int, last: int) -> int | None:
    """Where ``METADATA [FROM 'key'] [VIRTUAL]`` starts in a column definition, if it does."""
    for index in range(first + 2, last + 1):
        token = tokens[index]
        if token.text.upper() != "METADATA" or token.token_type == TokenType.STRING:
            continue
        after = tokens[index + 1].text.upper() if index < last else ""
        if after in ("", "FROM", "VIRTUAL") and tokens[index - 1].text.upper() != "AS":
            return index
    return None


def _rewrite_create_table(text: str) -> tuple[str, tuple[str, str] | None, dict[str, str]]:
    """Take WATERMARK and METADATA clauses out of a CREATE TABLE; returns the new text."""
    tokens = _tokens(text)
    open_index = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.L_PAREN), None)
    if open_index is None:
        return text, None, {}
    close_index = _closing(tokens, open_index)
    kept: list[str] = []
    watermark: tuple[str, str] | None = None
    metadata: dict[str, str] = {}
    for first, last in _split_args(tokens, open_index + 1, close_index - 1, types=True):
        words = [t.text.upper() for t in tokens[first : last + 1]]
        if words[0] == "WATERMARK":
            if len(words) < 5 or words[1] != "FOR" or words[3] != "AS":
                raise AnalyticsError("WATERMARK FOR <column> AS <expression>")
            watermark = (tokens[first + 2].text, _span(text, tokens, first + 4, last))
            continue
        at = _metadata_keyword(tokens, first, last)
        if at is not None:
            key = tokens[first].text
            if at + 2 <= last and tokens[at + 1].text.upper() == "FROM":
                key = tokens[at + 2].text
            metadata[tokens[first].text] = key
            kept.append(_span(text, tokens, first, at - 1))
            continue
        clause = _span(text, tokens, first, last)
        kept.append(re.sub(r"\s+NOT\s+ENFORCED\b", "", clause, flags=re.IGNORECASE))
    head = text[: tokens[open_index].start]
    tail = text[tokens[close_index].end + 1 :]
    body = _ROW_TYPE.sub("STRUCT<", ", ".join(kept))
    return f"{head}({body}){tail}", watermark, metadata


def _parse_one(text: str) -> exp.Expression:
    try:
        node = sqlglot.parse_one(text)
    except ParseError as error:
        raise AnalyticsError(f"cannot parse: {error}") from None
    if node is None:
        raise AnalyticsError(f"empty statement: {text!r}")
    return node


def parse_script(text: str) -> list[Statement]:
    """Every statement of an application, in order."""
    statements: list[Statement] = []
    for raw in split_statements(text):
        words = [t.text.upper() for t in _tokens(raw)[:4]]
        if words[:1] == ["CREATE"] and "TABLE" in words:
            rewritten, watermark, metadata = _rewrite_create_table(raw)
            node = _parse_one(rewritten)
            if not isinstance(node, exp.Create):
                raise AnalyticsError("CREATE TABLE <name> (<columns>) WITH (<options>)")
            parsed = (watermark[0], _parse_one(watermark[1])) if watermark else None
            statements.append(CreateTable(node, parsed, metadata))
            continue
        node = _parse_one(_rewrite_window_tvfs(raw))
        if isinstance(node, exp.Create) and node.kind == "VIEW":
            query = node.expression
            if not isinstance(query, exp.Query):
                raise AnalyticsError("CREATE VIEW <name> AS <query>")
            statements.append(CreateView(node.this.name, query))
        elif isinstance(node, exp.Insert):
            query = node.expression
            if not isinstance(query, exp.Query):
                raise AnalyticsError("INSERT INTO <sink> SELECT ...")
            target = node.this
            if not isinstance(target, exp.Table):
                raise AnalyticsError("INSERT INTO <sink> SELECT ...: no column list")
            statements.append(Insert(target.name, query, raw))
        else:
            raise AnalyticsError(
                f"only CREATE TABLE, CREATE VIEW and INSERT INTO are supported: {raw[:60]!r}"
            )
    return statements
