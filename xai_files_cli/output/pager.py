"""The user's pager for long terminal output, as gh and git use one.

The command is `XAI_PAGER`, else `PAGER`, else `less -FRX` (quit at once when the text fits one
screen, keep colours, leave the text on the screen). An empty value or `cat` means no pager, and
so does `--no-pager`. A pager runs only when stdout really is a terminal: never for a pipe or a
file, and never for `XAI_FORCE_TTY` alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import signal
import subprocess
import threading
from typing import TextIO

DEFAULT_PAGER = "less -FRX"


def pager_command(env: dict[str, str] | None = None) -> list[str] | None:
    """The pager to run as argv, or None when paging is off (`cat`, empty, or unparseable)."""
    env = dict(os.environ) if env is None else env
    raw = env.get("XAI_PAGER")
    if raw is None:
        raw = env.get("PAGER", DEFAULT_PAGER)
    try:
        argv = shlex.split(raw)
    except ValueError:
        return None
    if not argv or argv == ["cat"]:
        return None
    return argv


def stdout_is_terminal(stream: object) -> bool:
    """Whether `stream` is a real terminal (XAI_FORCE_TTY does not make one)."""
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


class Pager:
    """A running pager: write text to `stream`; `close()` ends the input and waits for the pager.

    The pager owns the terminal while it runs: Ctrl-C is its business (less uses it to stop a
    search), so this process ignores SIGINT until the pager has exited. When the user quits the
    pager early, writes raise BrokenPipeError; the caller stops producing output.
    """

    def __init__(self, argv: list[str]) -> None:
        env = dict(os.environ)
        env.setdefault("LESS", "FRX")
        env.setdefault("LV", "-c")
        self._process = subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
        assert self._process.stdin is not None
        self.stream: TextIO = io.TextIOWrapper(self._process.stdin, encoding="utf-8", errors="replace")
        self._saved_handler = _ignore_sigint()

    @classmethod
    def start(cls, argv: list[str]) -> Pager | None:
        """The pager, or None when it cannot be started (not installed)."""
        try:
            return cls(argv)
        except OSError:
            return None

    def close(self) -> None:
        """End the pager's input and wait until the user has left it."""
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self.stream.close()
        self._process.wait()
        _restore_sigint(self._saved_handler)


def _ignore_sigint() -> object:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, signal.SIG_IGN)


def _restore_sigint(handler: object) -> None:
    if handler is not None:
        signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]
