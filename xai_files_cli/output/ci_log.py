"""CI logs: GitHub Actions workflow commands for uploads (`::group::`, `::error title=…::`).

Under `GITHUB_ACTIONS=true` (or `--log-format github`) a batch is wrapped in a collapsible
`::group::` and every failure is also written as an `::error` annotation, which GitHub shows on
the run's summary page. Everything goes to stderr (stdout keeps only data); the runner reads
workflow commands from both streams. Elsewhere (`plain`, or `auto` outside GitHub Actions) this
writes nothing: the usual error lines and, when stderr is not a terminal, the timestamped
progress lines of `output.progress` are the log.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TextIO

from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.redact import redact

LOG_FORMATS = ("auto", "plain", "github")


def wants_github(log_format: str) -> bool:
    """Whether to write workflow commands: `github`, or `auto` inside GitHub Actions."""
    return log_format == "github" or (log_format == "auto" and os.environ.get("GITHUB_ACTIONS") == "true")


def _data(text: str) -> str:
    """A workflow command's message: % CR LF escaped, the rest made safe for a log line."""
    text = redact(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return escape_terminal(text)


def _property(text: str) -> str:
    """A workflow command's property value: also `:` and `,` escaped."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


class CiLog:
    """Workflow commands on `stream` when `enabled`; otherwise every method does nothing."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self._stream = stream
        self.enabled = enabled

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """`::group::TITLE` … `::endgroup::` around the block, also when it fails."""
        if not self.enabled:
            yield
            return
        self._write(f"::group::{_data(title)}")
        try:
            yield
        finally:
            self._write("::endgroup::")

    def error(self, title: str, message: str) -> None:
        """`::error title=TITLE::MESSAGE`: an annotation on the run's summary."""
        if self.enabled:
            self._write(f"::error title={_property(title)}::{_data(message)}")
