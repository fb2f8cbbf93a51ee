"""IOStreams: the process's stdin/stdout/stderr with TTY, colour and prompt decisions made once.

Commands read and write only through an IOStreams (gh's iostreams), so tests can inject bytes
buffers and flip TTY modes without a terminal.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from typing import TYPE_CHECKING, BinaryIO, TextIO

from xai_files_cli.errors import InternalError
from xai_files_cli.record import Record, field

if TYPE_CHECKING:
    from rich.console import Console


def _env_flag(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


_OFF_WORDS = ("0", "false", "no", "off")


def decide_color(mode: str, stdout_is_tty: bool) -> bool:
    """Colour decision per no-color.org / CLICOLOR conventions; `mode` is auto|always|never.

    `--color` wins; then NO_COLOR, CLICOLOR=0, TERM=dumb and FORCE_COLOR=0 (or false) turn colour
    off (rich alone would take any FORCE_COLOR, "0" included, as "force"); then a non-zero
    CLICOLOR_FORCE or FORCE_COLOR forces it; otherwise colour follows whether stdout is a terminal.
    """
    if mode == "never":
        return False
    if mode == "always":
        return True
    force_color = (_env_flag("FORCE_COLOR") or "").strip().lower()
    if _env_flag("NO_COLOR") or os.environ.get("CLICOLOR") == "0" or force_color in _OFF_WORDS:
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    clicolor_force = _env_flag("CLICOLOR_FORCE")
    if (clicolor_force and clicolor_force != "0") or force_color:
        return True
    return stdout_is_tty


class IOStreams(Record, frozen=False):
    """The three standard streams plus the decisions that depend on them."""

    stdin: BinaryIO
    stdout_bin: BinaryIO
    stdout: TextIO
    stderr: TextIO
    stdin_is_tty: bool = False
    stdout_is_tty: bool = False
    stderr_is_tty: bool = False
    color: bool = False
    no_input: bool = False
    width: int | None = None
    _consoles: dict[str, Console] = field(default_factory=dict, repr=False)

    @classmethod
    def system(cls, color_mode: str = "auto") -> IOStreams:
        """Streams of this process; XAI_FORCE_TTY=1 makes stdout and stderr count as terminals.

        A stream the process was started without (`xai ... >&-`) is None in `sys`: stdout then
        fails on the first write (one error line, exit 1) and stderr discards what it is given.
        """
        force_tty = os.environ.get("XAI_FORCE_TTY", "") not in ("", "0")
        stdout_tty = force_tty or _isatty(sys.stdout)
        stdout = sys.stdout if sys.stdout is not None else _closed_text_stream()
        stderr = sys.stderr if sys.stderr is not None else open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
        return cls(
            stdin=sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO(),
            stdout_bin=stdout.buffer,
            stdout=stdout,
            stderr=stderr,
            stdin_is_tty=_isatty(sys.stdin),
            stdout_is_tty=stdout_tty,
            stderr_is_tty=force_tty or _isatty(sys.stderr),
            color=decide_color(color_mode, stdout_tty),
            no_input=os.environ.get("XAI_NO_PROMPT", "") not in ("", "0"),
        )

    @classmethod
    def detached(cls) -> IOStreams:
        """In-memory streams nobody reads, for work that must never reach the terminal (completion)."""
        return cls.for_test()

    @classmethod
    def for_test(
        cls,
        stdin: bytes = b"",
        *,
        stdin_tty: bool = False,
        stdout_tty: bool = False,
        stderr_tty: bool = False,
        color: bool = False,
        width: int = 100,
    ) -> IOStreams:
        """In-memory streams; read results back with `stdout_bytes()` / `stderr_text()`."""
        out = io.BytesIO()
        err = io.BytesIO()
        return cls(
            stdin=io.BytesIO(stdin),
            stdout_bin=out,
            stdout=io.TextIOWrapper(out, encoding="utf-8", write_through=True),
            stderr=io.TextIOWrapper(err, encoding="utf-8", write_through=True),
            stdin_is_tty=stdin_tty,
            stdout_is_tty=stdout_tty,
            stderr_is_tty=stderr_tty,
            color=color,
            width=width,
        )

    # -- decisions ---------------------------------------------------------------------------
    @property
    def can_prompt(self) -> bool:
        """Prompt only when a person can answer: stdin and stdout are terminals (gh CanPrompt)."""
        return self.stdin_is_tty and self.stdout_is_tty and not self.no_input

    @property
    def show_progress(self) -> bool:
        """Animated progress only on a terminal stderr."""
        return self.stderr_is_tty

    # -- writing -----------------------------------------------------------------------------
    def write_out(self, text: str) -> None:
        """Write text to stdout as is (no rich processing: tabs and brackets stay intact).

        Raises InternalError (exit 1) when stdout cannot take it (a full disk, a closed stream);
        BrokenPipeError propagates, for the root command's quiet exit 0.
        """
        try:
            self.stdout.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise stdout_error(error) from None

    def flush_out(self) -> None:
        """Push buffered stdout data out now, with `write_out`'s error rules."""
        try:
            self.stdout.flush()
            self.stdout_bin.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise stdout_error(error) from None

    def write_err(self, text: str) -> None:
        """Write to stderr; a stderr that cannot take it (`2>/dev/full`) must not change the outcome."""
        try:
            self.stderr.write(text)
        except BrokenPipeError:
            raise
        except OSError:
            pass

    def flush(self) -> None:
        for stream in (self.stdout, self.stdout_bin, self.stderr):
            with contextlib.suppress(ValueError, OSError):
                stream.flush()

    def out_console(self) -> Console:
        """A rich Console on stdout that follows our TTY/colour decision, not rich's own."""
        return self._console("out", self.stdout, self.stdout_is_tty)

    def err_console(self) -> Console:
        """A rich Console on stderr for progress, tables of results and warnings."""
        return self._console("err", self.stderr, self.stderr_is_tty)

    def _console(self, key: str, file: TextIO, is_tty: bool) -> Console:
        if key not in self._consoles:
            from rich.console import Console

            self._consoles[key] = Console(
                file=file,
                force_terminal=is_tty,
                force_interactive=is_tty,
                no_color=not self.color,
                color_system="auto" if self.color else None,
                width=self.width,
                highlight=False,
                emoji=False,
                soft_wrap=False,
            )
        return self._consoles[key]

    # -- test helpers ------------------------------------------------------------------------
    def stdout_bytes(self) -> bytes:
        self.stdout.flush()
        captured: bytes = self.stdout_bin.getvalue()  # type: ignore[attr-defined]
        return captured

    def stdout_text(self) -> str:
        return self.stdout_bytes().decode("utf-8", errors="replace")

    def stderr_text(self) -> str:
        self.stderr.flush()
        captured: bytes = self.stderr.buffer.getvalue()  # type: ignore[attr-defined]
        return captured.decode("utf-8", errors="replace")


def stdout_error(error: OSError) -> InternalError:
    """The one-line error for a write to stdout that failed (other than a closed pipe)."""
    return InternalError(f"cannot write to stdout: {error.strerror or error}")


class _ClosedStream(io.RawIOBase):
    """Stands in for a standard stream the process was started without: every write fails."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.EBADF, "the stream is closed")


def _closed_text_stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedWriter(_ClosedStream()), encoding="utf-8")


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
