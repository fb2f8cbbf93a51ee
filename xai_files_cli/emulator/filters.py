"""The ListFiles `filter` language (as the official SDK documents it), parsed by hand into parameterised SQL.

Grammar (keywords case-insensitive):
    expr       := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" expr ")" | comparison
    comparison := FIELD OP (STRING | INTEGER | null)      OP: = != > >= < <=
Strings are double-quoted with backslash escapes; timestamps are RFC 3339 strings. Logic is
two-valued: a comparison against an unset field is false (never SQL NULL), so NOT is a plain
negation. Only field names from a fixed table ever reach the SQL text; values are always bound.
A comparison on a column that is never NULL stays a plain `column op ?`, so SQLite can test it
inside an index (e.g. a created_at window while it walks the created_at or filename index).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

MAX_FILTER_CHARS = 4096
MAX_DEPTH = 32
MAX_COMPARISONS = 64
_INT64 = (-(2**63), 2**63 - 1)


class FilterError(ValueError):
    """The filter text is not valid; the message says where and why."""


@dataclass(frozen=True)
class _Field:
    sql: str  # trusted SQL expression; may contain a `?` for the current time (see `now_params`)
    kind: str  # "str", "int" or "time"
    now_params: int = 0
    nullable: bool = False  # whether the expression can be NULL (then comparisons get COALESCE)


# A file's public URL has not expired (bound to the current time in ns); storage uses it too.
PUBLIC_URL_LIVE = "(public_url_expires_at_ns IS NULL OR public_url_expires_at_ns > ?)"
_FIELDS: dict[str, _Field] = {
    "file_id": _Field("id", "str"),
    "name": _Field("filename", "str"),
    "file_name": _Field("filename", "str"),
    "size_bytes": _Field("size", "int"),
    "content_type": _Field("content_type", "str"),
    "created_at": _Field("created_at_ns", "time"),
    "expires_at": _Field("expires_at_ns", "time", nullable=True),
    "public_url": _Field(f"(CASE WHEN {PUBLIC_URL_LIVE} THEN public_url END)", "str", 1, nullable=True),
    "public_url_expires_at": _Field(
        f"(CASE WHEN public_url IS NOT NULL AND {PUBLIC_URL_LIVE} THEN public_url_expires_at_ns END)",
        "time",
        1,
        nullable=True,
    ),
}
_UNSUPPORTED = {"upload_status", "user_defined_id"}
_SQL_OPS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\()|(?P<rparen>\))
        |(?P<op>!=|>=|<=|=|>|<)
        |(?P<string>"(?:[^"\\]|\\.)*")
        |(?P<int>-?[0-9]+)
        |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE | re.DOTALL,
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class CompiledFilter:
    """A WHERE fragment and its bound parameters."""

    sql: str
    params: tuple[object, ...]


class _Now:
    """Stands in the parameters of a parsed filter for the current time, bound at each use."""


_NOW = _Now()


def compile_filter(text: str, now_ns: int) -> CompiledFilter:
    """Parse `text` and return SQL for it; raises FilterError with a precise message.

    A text is parsed once and kept (a listing sends the same filter with every page), with the
    current time bound afresh each call.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"filter is longer than {MAX_FILTER_CHARS} characters")
    parsed = _parsed(text)
    if not any(param is _NOW for param in parsed.params):
        return parsed
    return CompiledFilter(parsed.sql, tuple(now_ns if param is _NOW else param for param in parsed.params))


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> CompiledFilter:
    """`text` as SQL, with `_NOW` where the current time goes (an invalid text is not kept)."""
    return _Parser(_tokenize(text), _NOW).parse()


def parse_rfc3339(value: str) -> int:
    """An RFC 3339 timestamp (offset required) as nanoseconds since the epoch."""
    match = _RFC3339.fullmatch(value)
    if not match:
        raise FilterError(f"not an RFC 3339 timestamp: {value!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(9, "0")
    offset = timedelta(0)
    if match.group(9):
        sign = 1 if match.group(9) == "+" else -1
        offset = sign * timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone(offset))
    except ValueError as error:
        raise FilterError(f"invalid timestamp {value!r}: {error}") from None
    seconds = int((moment - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds())
    # RFC 3339 spans years 1-9999, int64 nanoseconds only 1677-2262 (SQLite cannot bind more).
    # Clamping keeps every comparison's result: no stored time is ever at either end.
    return max(_INT64[0], min(seconds * 1_000_000_000 + int(fraction), _INT64[1]))


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            start = len(text) - len(text[pos:].lstrip())
            raise FilterError(f"unexpected character {text[start]!r} at position {start}")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token], now: object) -> None:
        self.tokens = tokens
        self.index = 0
        self.now = now  # the parameter bound where a field compares against the current time
        self.params: list[object] = []
        self.comparisons = 0

    def parse(self) -> CompiledFilter:
        if not self.tokens:
            raise FilterError("filter is empty")
        sql = self._or(0)
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            raise FilterError(f"unexpected {token.text!r} at position {token.pos}")
        return CompiledFilter(sql, tuple(self.params))

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.upper() == word:
            self.index += 1
            return True
        return False

    def _next(self, what: str) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterError(f"filter ends early: expected {what}")
        self.index += 1
        return token

    def _or(self, depth: int) -> str:
        parts = [self._and(depth)]
        while self._keyword("OR"):
            parts.append(self._and(depth))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def _and(self, depth: int) -> str:
        parts = [self._not(depth)]
        while self._keyword("AND"):
            parts.append(self._not(depth))
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def _not(self, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise FilterError(f"filter is nested more than {MAX_DEPTH} levels deep")
        if self._keyword("NOT"):
            return f"(NOT {self._not(depth + 1)})"
        token = self._peek()
        if token is not None and token.kind == "lparen":
            self.index += 1
            inner = self._or(depth + 1)
            closing = self._next("')'")
            if closing.kind != "rparen":
                raise FilterError(f"expected ')' at position {closing.pos}, found {closing.text!r}")
            return inner
        return self._comparison()

    def _comparison(self) -> str:
        name_token = self._next("a field name")
        if name_token.kind != "word" or name_token.text.upper() in ("AND", "OR", "NOT", "NULL"):
            raise FilterError(
                f"expected a field name at position {name_token.pos}, found {name_token.text!r}"
            )
        name = name_token.text
        if name in _UNSUPPORTED:
            raise FilterError(f"filter field {name!r} is not supported by this server")
        field = _FIELDS.get(name)
        if field is None:
            known = ", ".join(sorted(_FIELDS))
            raise FilterError(f"unknown filter field {name!r} at position {name_token.pos} (known: {known})")
        op_token = self._next("an operator")
        if op_token.kind != "op":
            raise FilterError(f"expected an operator after {name!r} at position {op_token.pos}")
        op = _SQL_OPS[op_token.text]
        value_token = self._next("a value")
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise FilterError(f"filter has more than {MAX_COMPARISONS} comparisons")
        self.params.extend([self.now] * field.now_params)
        if value_token.kind == "word" and value_token.text.lower() == "null":
            if op == "=":
                return f"({field.sql} IS NULL)"
            if op == "!=":
                return f"({field.sql} IS NOT NULL)"
            raise FilterError(f"null can only be compared with = or != (position {value_token.pos})")
        self.params.append(self._value(field, name, value_token))
        if field.nullable:
            return f"COALESCE(({field.sql} {op} ?), 0)"
        return f"({field.sql} {op} ?)"

    def _value(self, field: _Field, name: str, token: _Token) -> object:
        if token.kind == "int":
            if field.kind != "int":
                raise FilterError(f"{name} needs a quoted {_kind_word(field.kind)}, got {token.text}")
            number = int(token.text)
            if not _INT64[0] <= number <= _INT64[1]:
                raise FilterError(f"integer out of range at position {token.pos}")
            return number
        if token.kind == "string":
            text = _unquote(token)
            if field.kind == "int":
                raise FilterError(f"{name} needs an integer, got a string at position {token.pos}")
            if field.kind == "time":
                return parse_rfc3339(text)
            return text
        raise FilterError(f"expected a value at position {token.pos}, found {token.text!r}")


def _kind_word(kind: str) -> str:
    return "RFC 3339 timestamp" if kind == "time" else "string"


def _unquote(token: _Token) -> str:
    body = token.text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped not in _ESCAPES:
                raise FilterError(f"unknown escape \\{escaped} in string at position {token.pos}")
            out.append(_ESCAPES[escaped])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)
