"""What a passage says next to a word: the candidate values structured output copies from files.

`candidates` yields, for the places (anchors) where a field's words occur in a passage, the values
of one JSON type written next to them, nearest first: numbers after the word on its line (else the
closest before it, else on the next line), `Label: value` values and sentences for strings, ISO 8601
forms of dates and times, e-mail addresses, UUIDs and IPv4 addresses for those string formats, and
true/false from whether a negation shares the word's sentence. `fits` checks a value against the
schema's bounds; `plain_string` and `into_bounds` give the plainest valid value when none fits.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from xai_files_cli.emulator import chat_engine

MAX_STRING_CHARS = 300
LABEL_CHARS = 40  # a `Label: value` separator must come this close after the property's word


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def occurrences(text: str, stems: set[str]) -> list[tuple[int, int]]:
    """(start, end) of the words of `text` whose stem is in `stems`."""
    if not stems:
        return []
    lowered = text.lower()
    return [
        (m.start(), m.end()) for m in re.finditer(r"\w+", lowered) if chat_engine.stem(m.group()) in stems
    ]


def nearest_first(text: str, anchors: list[tuple[int, int]], stems: set[str]) -> list[tuple[int, int]]:
    """Anchors on lines holding more of the field's words first ("Due date:" before "Invoice date:")."""

    def words_on_line(anchor: tuple[int, int]) -> int:
        start, end = line_bounds(text, *anchor)
        return -len({chat_engine.stem(w) for w in re.findall(r"\w+", text[start:end].lower())} & stems)

    return sorted(anchors, key=lambda anchor: (words_on_line(anchor), anchor[0]))


def mentions(lowered: str, option: Any) -> bool:
    """Whether lower-cased text names an enum option (a whole word or phrase, or the number)."""
    if isinstance(option, str) and option.strip():
        return re.search(rf"(?<!\w){re.escape(option.lower())}(?!\w)", lowered) is not None
    if isinstance(option, (int, float)) and not isinstance(option, bool):
        return any(_number(m) == option for m in _NUMBER.finditer(lowered))
    return False


_NUMBER = re.compile(r"(?<![\w.,])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|[.,]\d)")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_FORMS = [
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), ("y", "m", "d")),
    (re.compile(r"(?<!\d)(\d{4})/(\d{1,2})/(\d{1,2})(?!\d)"), ("y", "m", "d")),
    (
        re.compile(rf"(?<!\w)(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?,?\s+(\d{{4}})(?!\d)", re.I),
        ("d", "M", "y"),
    ),
    (
        re.compile(rf"(?<!\w)({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I),
        ("M", "d", "y"),
    ),
    (re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)"), ("d", "m", "y")),
]
_TIME = re.compile(
    r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?(?!\w))?(\s*(?:Z|[+-]\d{2}:?\d{2}))?", re.I
)
_FORMATS = {
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "uuid": re.compile(r"(?<![0-9a-f])[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}(?![0-9a-f])", re.I),
    "ipv4": re.compile(
        r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
    ),
}
_NEGATIONS = frozenset(
    [
        "no",
        "not",
        "none",
        "never",
        "without",
        "false",
        "isn't",
        "wasn't",
        "aren't",
        "doesn't",
        "didn't",
        "n/a",
    ]
)
_AFFIRMATIONS = frozenset(["yes", "true"])
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")

Extractor = Callable[[dict[str, Any], str, int, int], list[Any]]


def candidates(kind: str, schema: dict[str, Any], text: str, anchors: list[tuple[int, int]]) -> Iterator[Any]:
    """Values of JSON type `kind` written next to the anchors (nearest first), then, for a string
    format, anywhere in `text`; nothing for a kind without extraction (object, array, null)."""
    extract = _EXTRACTORS.get(kind)
    if extract is None:
        return
    for start, end in anchors:
        yield from extract(schema, text, start, end)
    if schema.get("format") in (*_FORMATS, "date", "date-time", "time"):
        yield from extract(schema, text, 0, 0)  # a formatted value anywhere in the passage


def line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) of the line holding text[start:end], end excluding the newline."""
    line_end = text.find("\n", end)
    return text.rfind("\n", 0, start) + 1, line_end if line_end >= 0 else len(text)


def _near(text: str, start: int, end: int) -> list[tuple[str, bool]]:
    """Segments of text around a word, nearest first: (segment, its last value is the nearest)."""
    if start == end == 0:
        return [(text, False)]
    line_start, line_end = line_bounds(text, start, end)
    next_end = text.find("\n", line_end + 1)
    return [
        (text[end:line_end], False),
        (text[line_start:start], True),
        (text[line_end + 1 : next_end if next_end >= 0 else len(text)], False),
    ]


def _numbers(schema: dict[str, Any], text: str, start: int, end: int) -> list[Any]:
    out: list[Any] = []
    for segment, nearest_last in _near(text, start, end):
        taken = [span for _, span in _dates_in(segment)]
        found = [
            _number(m) for m in _NUMBER.finditer(segment) if not any(a <= m.start() < b for a, b in taken)
        ]
        out.extend(reversed(found) if nearest_last else found)
    return out


def _number(match: re.Match[str]) -> int | float:
    raw = match.group().replace(",", "").replace("\u2212", "-")
    value = float(raw)
    return int(value) if value.is_integer() and "." not in raw else value


def _strings(schema: dict[str, Any], text: str, start: int, end: int) -> list[Any]:
    fmt = schema.get("format")
    if fmt in ("date", "date-time"):
        days = [day for segment, _ in _near(text, start, end) for day, _ in _dates_in(segment)]
        return [f"{day.isoformat()}T00:00:00Z" if fmt == "date-time" else day.isoformat() for day in days]
    if fmt == "time":
        return [t for seg, _ in _near(text, start, end) for t in _times_in(seg)]
    if fmt in _FORMATS:
        return [m.group() for seg, _ in _near(text, start, end) for m in _FORMATS[fmt].finditer(seg)]
    if start == end == 0:
        return []
    return [value for value in (_labelled(text, start, end), _sentence(text, start, end)) if value]


def _booleans(schema: dict[str, Any], text: str, start: int, end: int) -> list[Any]:
    words = set(re.findall(r"[\w'/]+", _sentence(text, start, end).lower()))
    if words & _NEGATIONS:
        return [False]
    return [True] if words & _AFFIRMATIONS or start != end else []


_EXTRACTORS: dict[str, Extractor] = {
    "number": _numbers,
    "integer": _numbers,
    "string": _strings,
    "boolean": _booleans,
}


def _labelled(text: str, start: int, end: int) -> str:
    """The value of a `Label: value` line whose label holds the word at text[start:end]."""
    _, line_end = line_bounds(text, start, end)
    gap = re.match(rf"[^.!?:=\n]{{0,{LABEL_CHARS}}}?\s*[:=]\s*", text[end:line_end])
    if gap is None:
        return ""
    value = text[end + gap.end() : line_end].strip()
    if not value:  # "Vendor:" with the value on the next line
        next_end = text.find("\n", line_end + 1)
        value = text[line_end + 1 : next_end if next_end >= 0 else len(text)].strip()
    return value.rstrip(".;,").strip()[:MAX_STRING_CHARS]


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence (within its line) that holds text[start:end]."""
    line_start, line_end = line_bounds(text, start, end)
    line = text[line_start:line_end]
    at = start - line_start
    sentence_start = 0
    for gap in _SENTENCE_END.finditer(line):
        if at < gap.start():
            return line[sentence_start : gap.start()].strip()[:MAX_STRING_CHARS]
        sentence_start = gap.end()
    return line[sentence_start:].strip()[:MAX_STRING_CHARS]


def _dates_in(text: str) -> list[tuple[datetime.date, tuple[int, int]]]:
    """The calendar dates written in `text` (with their spans), in text order."""
    found: list[tuple[datetime.date, tuple[int, int]]] = []
    for pattern, order in _DATE_FORMS:
        for match in pattern.finditer(text):
            parts = dict(zip(order, match.groups(), strict=True))
            month = _MONTHS.get(parts["M"].lower().rstrip(".")) if "M" in parts else int(parts["m"])
            try:
                found.append((datetime.date(int(parts["y"]), month or 0, int(parts["d"])), match.span()))
            except ValueError:
                continue
    found.sort(key=lambda item: item[1])
    return [
        item for n, item in enumerate(found) if not any(_overlap(item[1], other[1]) for other in found[:n])
    ]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _times_in(text: str) -> list[str]:
    out = []
    for match in _TIME.finditer(text):
        hours, minutes, seconds, half, offset = match.groups()
        hour = int(hours) % 12 + (12 if half and half.lower() == "p" else 0) if half else int(hours)
        if hour > 23 or int(minutes) > 59 or (seconds and int(seconds) > 59):
            continue
        zone = (offset or "").strip() or "Z"
        if zone != "Z" and ":" not in zone:
            zone = f"{zone[:3]}:{zone[3:]}"
        out.append(f"{hour:02d}:{minutes}:{seconds or '00'}{zone}")
    return out


def fits(value: Any, schema: dict[str, Any], kind: str) -> bool:
    """Whether an extracted value satisfies the schema's bounds for its type."""
    if kind == "integer":
        return isinstance(value, int) and _in_bounds(value, schema)
    if kind == "number":
        return isinstance(value, (int, float)) and math.isfinite(value) and _in_bounds(value, schema)
    if kind == "string":
        if not isinstance(value, str) or not value:
            return False
        maximum = schema.get("maxLength")
        if isinstance(maximum, int) and len(value) > maximum:
            return False
        if len(value) < _int(schema.get("minLength"), 0):
            return False
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                return re.search(pattern, value) is not None
            except re.error:
                return True  # a pattern Python cannot read is not ours to enforce
        return True
    return isinstance(value, bool)


def _in_bounds(value: float, schema: dict[str, Any]) -> bool:
    checks = [
        ("minimum", lambda bound: value >= bound),
        ("maximum", lambda bound: value <= bound),
        ("exclusiveMinimum", lambda bound: value > bound),
        ("exclusiveMaximum", lambda bound: value < bound),
        ("multipleOf", lambda step: step <= 0 or math.isclose(value / step, round(value / step))),
    ]
    for keyword, check in checks:
        bound = schema.get(keyword)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool) and not check(bound):
            return False
    return True


def into_bounds(value: float, schema: dict[str, Any], integer: bool) -> int | float:
    """`value` moved to the nearest number the schema's bounds allow (best effort for multipleOf)."""
    step = schema.get("multipleOf")
    nudge = 1 if integer else 1e-6
    lows = [_bound(schema.get("minimum"), 0), _bound(schema.get("exclusiveMinimum"), nudge)]
    highs = [_bound(schema.get("maximum"), 0), _bound(schema.get("exclusiveMaximum"), -nudge)]
    low = max((b for b in lows if b is not None), default=None)
    high = min((b for b in highs if b is not None), default=None)
    if low is not None and value < low:
        value = math.ceil(low) if integer else low
    if high is not None and value > high:
        value = math.floor(high) if integer else high
    if isinstance(step, (int, float)) and step > 0 and not _in_bounds(value, {"multipleOf": step}):
        value = math.ceil(value / step) * step
    return int(value) if integer else value


def _bound(value: Any, nudge: float) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value + nudge
    return None


def plain_string(schema: dict[str, Any]) -> str:
    """The string a required field gets when the files have none: "", or a placeholder of its format."""
    placeholders = {
        "date": "1970-01-01",
        "date-time": "1970-01-01T00:00:00Z",
        "time": "00:00:00Z",
        "email": "unknown@example.invalid",
        "uuid": "00000000-0000-0000-0000-000000000000",
        "ipv4": "0.0.0.0",
    }
    fmt = schema.get("format")
    text = placeholders.get(fmt, "") if isinstance(fmt, str) else ""
    return text + "-" * max(0, _int(schema.get("minLength"), 0) - len(text))
