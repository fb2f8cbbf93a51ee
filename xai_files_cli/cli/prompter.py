"""Questions to the person at the terminal: yes/no, a line of text, a secret typed without echo.

The prompt goes to stderr, the answer comes from stdin. Ctrl-C while waiting first ends the
prompt's line, so "xai: interrupted" is not written after it; so does Ctrl-D, which the terminal
did not echo as a line end either.

Inside `line_editing(history)`, lines are read with readline when the process's own stdin and
stdout are terminals: arrow keys, Ctrl-A/E, Up/Down through earlier lines, kept in the history
file (0600) across sessions. readline draws its prompt on that terminal (stdout); anywhere else
(pipes, tests, no readline module) lines are read as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xai_files_cli.output.io import IOStreams
from xai_files_cli.record import Record, field

HISTORY_LINES = 1000


class Prompter(Record, frozen=False):
    """Reads answers from the invocation's stdin, prompting on its stderr."""

    io: IOStreams
    _editor: _LineEditor | None = field(default=None, repr=False)

    @contextlib.contextmanager
    def line_editing(self, history: Path | None) -> Iterator[bool]:
        """`read_line` edits lines with readline for the block (yields whether it does; see above)."""
        editor = _LineEditor.start(self.io, history)
        self._editor = editor
        try:
            yield editor is not None
        finally:
            self._editor = None
            if editor is not None:
                editor.close()

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question; anything but y/yes (Enter, Ctrl-D) is no."""
        line = self._ask(f"{question} [y/N] ")
        if not line.endswith(b"\n"):
            self.io.write_err("\n")  # Ctrl-D: the terminal did not move to the next line either
        return _text(line).strip().lower() in ("y", "yes")

    def read_line(self, prompt: str) -> str | None:
        """One line without its line end, prompting only when a person is there; None at end of input."""
        if self._editor is not None:
            return self._editor.read(prompt)
        shown = self.io.stdin_is_tty and self.io.stderr_is_tty
        line = self._ask(prompt if shown else None)
        if not line:
            if shown:
                self.io.write_err("\n")
            return None
        return _text(line).rstrip("\r\n")

    def read_secret(self, prompt: str) -> str:
        """One line typed without echo on a terminal (termios); other stdins are read as they are."""
        fd = _terminal_fd(self.io)
        if fd is None:
            return _text(self._ask(prompt))
        with _echo_off(fd, self.io):
            return _text(self._ask(prompt, end_line_on_interrupt=False))

    def _ask(self, prompt: str | None, *, end_line_on_interrupt: bool = True) -> bytes:
        if prompt is not None:
            self.io.write_err(prompt)
            self.io.stderr.flush()
        try:
            line = self.io.stdin.readline()
        except KeyboardInterrupt:
            if prompt is not None and end_line_on_interrupt:
                self.io.write_err("\n")
            raise
        return line if isinstance(line, bytes) else str(line).encode("utf-8")


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def _terminal_fd(io: IOStreams) -> int | None:
    """stdin's descriptor when it is a terminal whose echo can be turned off, else None."""
    try:
        import termios  # noqa: F401  (absent on Windows: fall back to a plain read)

        fd = io.stdin.fileno()
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


@contextlib.contextmanager
def _echo_off(fd: int, io: IOStreams) -> Iterator[None]:
    """Echo off for the block, without discarding anything typed ahead; the line is ended after."""
    import termios

    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        io.write_err("\n")  # Enter was not echoed


class _LineEditor(Record, frozen=False):
    """readline on the process's terminal, with a history file."""

    readline: Any
    history: Path | None

    @classmethod
    def start(cls, io: IOStreams, history: Path | None) -> _LineEditor | None:
        """An editor when stdin and stdout are this process's terminals and readline loads, else None."""
        if not _own_terminal(io):
            return None
        try:
            import readline
        except ImportError:
            return None
        readline.clear_history()
        readline.set_history_length(HISTORY_LINES)
        if history is not None:
            with contextlib.suppress(OSError):
                readline.read_history_file(history)
        return cls(readline, history)

    def read(self, prompt: str) -> str | None:
        """A line edited at the prompt; None at Ctrl-D. Non-blank lines join the history file."""
        try:
            line = input(prompt)
        except EOFError:
            sys.stdout.write("\n")
            sys.stdout.flush()
            return None
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            sys.stdout.flush()
            raise
        if line.strip() and self.history is not None:
            self._remember()
        return line

    def close(self) -> None:
        """Rewrite the history file, keeping its last HISTORY_LINES lines."""
        if self.history is not None and self.history.exists():
            with contextlib.suppress(OSError):
                self.readline.write_history_file(self.history)

    def _remember(self) -> None:
        """Append the last line to the history file (created 0600); a failure only loses history."""
        assert self.history is not None
        try:
            self.history.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.history.exists():
                os.close(os.open(self.history, os.O_WRONLY | os.O_CREAT, 0o600))
            self.readline.append_history_file(1, self.history)
        except (OSError, AttributeError):  # libedit builds may lack append_history_file
            with contextlib.suppress(OSError):
                self.readline.write_history_file(self.history)


def _own_terminal(io: IOStreams) -> bool:
    """io's stdin and stdout are this process's standard streams, and both are terminals."""
    stdin, stdout = sys.stdin, sys.stdout
    if stdin is None or stdout is None or io.stdin is not getattr(stdin, "buffer", None):
        return False
    if io.stdout is not stdout:
        return False
    try:
        return os.isatty(stdin.fileno()) and os.isatty(stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return False
