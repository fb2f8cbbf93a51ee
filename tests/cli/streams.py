"""Injected streams that fail the way real ones do: a closed pipe, a full disk, a prompt hit by Ctrl-C."""

from __future__ import annotations

import io

from tests.conftest import CliResult
from xai_files_cli.cli.app import run
from xai_files_cli.output.io import IOStreams


class FailingWriter(io.RawIOBase):
    """A raw stream whose every write raises `error` (EPIPE, ENOSPC ...)."""

    def __init__(self, error: OSError) -> None:
        self._error = error

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise self._error


class InterruptedInput(io.BytesIO):
    """A terminal's stdin where the user presses Ctrl-C instead of answering."""

    def readline(self, size: int | None = -1) -> bytes:
        raise KeyboardInterrupt


def run_with_stdout(error: OSError, *args: str) -> CliResult:
    """Run `xai ARGS` in-process with a stdout that fails with `error` on every write."""
    stdout_bin = io.BufferedWriter(FailingWriter(error))
    err = io.BytesIO()
    streams = IOStreams(
        stdin=io.BytesIO(),
        stdout_bin=stdout_bin,  # type: ignore[arg-type]
        stdout=io.TextIOWrapper(stdout_bin, encoding="utf-8"),
        stderr=io.TextIOWrapper(err, encoding="utf-8", write_through=True),
    )
    code = run(list(args), streams)
    return CliResult(code=code, stdout_bytes=b"", stderr=err.getvalue().decode())


def run_with_stdin(stdin: io.BytesIO, *args: str, **ttys: bool) -> CliResult:
    """Run `xai ARGS` in-process reading the given stdin object (e.g. InterruptedInput)."""
    streams = IOStreams.for_test(**ttys)  # type: ignore[arg-type]
    streams.stdin = stdin
    code = run(list(args), streams)
    return CliResult(code=code, stdout_bytes=streams.stdout_bytes(), stderr=streams.stderr_text())
