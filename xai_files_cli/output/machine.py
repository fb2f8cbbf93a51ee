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
_JSON_UNSAFE = re.compile(f"[{DEL_AND_C1_CONTROLS}{BIDI_AND_INVISIBLE}{LINE_SEPARATORS}{LONE_SURROGATES}]")


def to_json_text(value: Any, *, indent: int | None = 2) -> str:
    """JSON with UTF-8 kept readable but C1 controls and bidi overrides escaped as \\uXXXX."""
    if indent is None:
        return _escape_unsafe(_COMPACT.encode(value))
    return _escape_unsafe(json.dumps(value, ensure_ascii=False, indent=indent))


_COMPACT = json.JSONEncoder(ensure_ascii=False)


def _escape_unsafe(text: str) -> str:
    """`text` with the characters of `_JSON_UNSAFE` as \\uXXXX escapes (plain ASCII has only DEL)."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


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


# A flat object (no nested objects or lists) as `to_json_text` indents it inside an array, made by
# the C encoder: its item separator carries the newline and indentation.
_FLAT_ELEMENT = json.JSONEncoder(ensure_ascii=False, separators=(",\n    ", ": "))


def _element_text(value: Any) -> str:
    """One array element as `to_json_text([value])` would show it (two extra spaces of indent)."""
    if isinstance(value, dict) and value and _is_flat(value):
        return _escape_unsafe("{\n    " + _FLAT_ELEMENT.encode(value)[1:-1] + "\n  }")
    return to_json_text(value).replace("\n", "\n  ")


def _is_flat(value: dict[str, Any]) -> bool:
    return all(not isinstance(item, (dict, list, tuple)) for item in value.values())


def write_jsonl(io: IOStreams, values: Iterable[Any]) -> None:
    """One compact JSON object per line on stdout, written as they come."""
    for value in values:
        io.write_out(to_json_text(value, indent=None) + "\n")


def write_lines(io: IOStreams, lines: Iterable[str]) -> None:
    """Plain lines on stdout (ids); server strings are escaped so one id is always one line."""
    for line in lines:
        io.write_out(escape_terminal(line) + "\n")
