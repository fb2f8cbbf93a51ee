"""`run_xai`: the whole CLI in this process through `run(argv, io)`, with in-memory streams, and
streams that fail the way real ones do (a closed pipe, a full disk, a prompt hit by Ctrl-C)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from xai_files_cli.cli.app import run
from xai_files_cli.output.io import IOStreams


@dataclass
class CliResult:
    """Exit code and everything the command wrote."""

    code: int
    stdout_bytes: bytes
    stderr: str

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", errors="replace")

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"CliResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def run_xai(
    *args: str,
    stdin: bytes = b"",
    stdin_tty: bool = False,
    stdout_tty: bool = False,
    stderr_tty: bool = False,
    color: bool = False,
) -> CliResult:
    """Run `xai ARGS` in this process through `run`, with in-memory streams."""
    streams = IOStreams.for_test(
        stdin, stdin_tty=stdin_tty, stdout_tty=stdout_tty, stderr_tty=stderr_tty, color=color
    )
    return _run(args, streams)


def _run(args: tuple[str, ...], streams: IOStreams) -> CliResult:
    code = run(list(args), streams)
    return CliResult(code=code, stdout_bytes=streams.stdout_bytes(), stderr=streams.stderr_text())


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
    return _run(args, streams)
