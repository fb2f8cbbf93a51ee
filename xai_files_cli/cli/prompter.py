"""Questions to the person at the terminal: yes/no, a line of text, a secret typed without echo.

The prompt goes to stderr, the answer comes from stdin. Ctrl-C while waiting first ends the
prompt's line, so "xai: interrupted" is not written after it; so does Ctrl-D, which the terminal
did not echo as a line end either.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from xai_files_cli.output.io import IOStreams


@dataclass
class Prompter:
    """Reads answers from the invocation's stdin, prompting on its stderr."""

    io: IOStreams

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question; anything but y/yes (Enter, Ctrl-D) is no."""
        line = self._ask(f"{question} [y/N] ")
        if not line.endswith(b"\n"):
            self.io.write_err("\n")  # Ctrl-D: the terminal did not move to the next line either
        return _text(line).strip().lower() in ("y", "yes")

    def read_line(self, prompt: str) -> str | None:
        """One line without its line end, prompting only when a person is there; None at end of input."""
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
