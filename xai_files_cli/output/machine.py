"""Output for programs: JSON documents, JSONL records and plain lines (ids) on stdout.

JSON keeps UTF-8 readable but escapes C1 controls, bidi overrides and lone surrogates, so even
`cat`ing it on a terminal is safe. Writes let BrokenPipeError propagate (the root command exits 0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.security import BIDI_AND_INVISIBLE, DEL_AND_C1_CONTROLS, LINE_SEPARATORS, LONE_SURROGATES

if TYPE_CHECKING:
    from xai_files_cli.output.io import IOStreams

# Characters json.dumps(ensure_ascii=False) leaves raw but a terminal would act on, and lone
# surrogates (a file name that is not UTF-8), which cannot be written as UTF-8 at all.
# Compiled (and cached by `re`) when first needed, not at start-up: plain ASCII output never needs it.
_JSON_UNSAFE = f"[{DEL_AND_C1_CONTROLS}{BIDI_AND_INVISIBLE}{LINE_SEPARATORS}{LONE_SURROGATES}]"

# How `write_json_array` and `write_jsonl` lay out a flat object: what opens it, what goes between
# two members, what closes it. Texts made in these layouts can be written by the page writers below.
ARRAY_ELEMENT = ("{\n    ", ",\n    ", "\n  }")
JSONL_LINE = ("{", ", ", "}")


def to_json_text(value: Any, *, indent: int | None = 2) -> str:
    """JSON with UTF-8 kept readable but C1 controls and bidi overrides escaped as \\uXXXX."""
    if indent is None:
        flat = _flat_object(value, *JSONL_LINE)
        return _escape_unsafe(flat if flat is not None else json.dumps(value, ensure_ascii=False))
    return _escape_unsafe(json.dumps(value, ensure_ascii=False, indent=indent))


def _escape_unsafe(text: str) -> str:
    """`text` with the characters of `_JSON_UNSAFE` as \\uXXXX escapes (plain ASCII has only DEL)."""
    if text.isascii() and "\x7f" not in text:
        return text
    return re.sub(_JSON_UNSAFE, lambda m: f"\\u{ord(m.group(0)):04x}", text)


def write_json(io: IOStreams, value: Any) -> None:
    """One JSON document (pretty) on stdout."""
    io.write_out(to_json_text(value) + "\n")


def write_json_array(io: IOStreams, values: Iterable[Any]) -> None:
    """A JSON array written element by element as `values` yields them: the same text `write_json`
    gives for the whole list, in flat memory, the first element flushed at once.

    If `values` raises, the elements written so far stay on stdout and the array is left open
    (no closing `]`), so a program reading it fails instead of taking a partial list as complete.
    """
    opened = False
    for value in values:
        io.write_out((",\n  " if opened else "[\n  ") + _element_text(value))
        if not opened:
            opened = True
            io.flush_out()
    io.write_out("\n]\n" if opened else "[]\n")


def write_json_array_pages(io: IOStreams, pages: Iterable[list[str]]) -> None:
    """`write_json_array` for elements given as their JSON texts (made in the ARRAY_ELEMENT layout),
    a list at a time: the same text, one write per list, the first list flushed at once."""
    opened = False
    for page in pages:
        io.write_out((",\n  " if opened else "[\n  ") + _escape_unsafe(",\n  ".join(page)))
        if not opened:
            opened = True
            io.flush_out()
    io.write_out("\n]\n" if opened else "[]\n")


def write_jsonl_pages(io: IOStreams, pages: Iterable[list[str]]) -> None:
    """`write_jsonl` for values given as their JSON texts (made in the JSONL_LINE layout), a list at a
    time."""
    for page in pages:
        io.write_out(_escape_unsafe("\n".join(page)) + "\n")


def _element_text(value: Any) -> str:
    """One array element as `to_json_text([value])` would show it (two extra spaces of indent)."""
    flat = _flat_object(value, *ARRAY_ELEMENT)
    if flat is not None:
        return _escape_unsafe(flat)
    return to_json_text(value).replace("\n", "\n  ")


_encode_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for str


def _flat_object(value: Any, opening: str, separator: str, closing: str) -> str | None:
    """A non-empty dict of str keys and str/int/bool/None values as json.dumps writes it (`opening`,
    `separator` and `closing` carry its layout), quicker than the encoder; None for anything else."""
    if type(value) is not dict or not value:
        return None
    parts = []
    for key, item in value.items():
        kind = type(item)
        if type(key) is not str:
            return None
        if kind is str:
            text = _encode_string(item)
        elif kind is int:
            text = int.__repr__(item)
        elif item is None:
            text = "null"
        elif kind is bool:
            text = "true" if item else "false"
        else:
            return None  # floats, nested values, subclasses: the encoder's own rules
        parts.append(f"{_encode_string(key)}: {text}")
    return opening + separator.join(parts) + closing


def write_jsonl(io: IOStreams, values: Iterable[Any]) -> None:
    """One compact JSON object per line on stdout, written as they come."""
    for value in values:
        io.write_out(to_json_text(value, indent=None) + "\n")


def write_lines(io: IOStreams, lines: Iterable[str]) -> None:
    """Plain lines on stdout (ids); server strings are escaped so one id is always one line."""
    for line in lines:
        io.write_out(escape_terminal(line) + "\n")
