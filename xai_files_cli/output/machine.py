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
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def write_json(io: IOStreams, value: Any) -> None:
    """One JSON document (pretty) on stdout."""
    io.write_out(to_json_text(value) + "\n")


def write_jsonl(io: IOStreams, values: Iterable[Any]) -> None:
    """One compact JSON object per line on stdout, written as they come."""
    for value in values:
        io.write_out(to_json_text(value, indent=None) + "\n")


def write_lines(io: IOStreams, lines: Iterable[str]) -> None:
    """Plain lines on stdout (ids); server strings are escaped so one id is always one line."""
    for line in lines:
        io.write_out(escape_terminal(line) + "\n")
