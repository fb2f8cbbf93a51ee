"""A real terminal of a chosen size: tmux runs a command in a detached pane and the screen is read back.

`tmux_terminal(width).run(argv, env)` returns the pane's screen as lines (a row wider than
the terminal shows up as two lines, just as a person would see it) and, with `escapes=True`, the
SGR sequences the program wrote. Synchronisation uses `tmux wait-for` channels: the pane signals
when the command has finished and then waits to be released, so the screen is read while the pane
still exists, without sleeping. Each run has its own tmux server (socket in a short temp dir).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import xai_command

TIMEOUT = 60


def require_tmux() -> str:
    """The tmux binary, or skip the test with the reason (CI installs it best-effort)."""
    path = shutil.which("tmux")
    if path is None:
        pytest.skip("tmux is not installed (the .ci/run apt step installs it when it can)")
    return path


class TmuxTerminal:
    """One tmux server with a pane of `width` x `height` cells."""

    def __init__(self, directory: Path, width: int, height: int) -> None:
        self.directory = directory
        self.width = width
        self.height = height
        self._runs = 0

    @property
    def socket(self) -> Path:
        """The current run's server: one per run, since a server with no session left exits."""
        return self.directory / f"sock{self._runs}"

    def _tmux(self, *args: str, socket: Path | None = None) -> str:
        result = subprocess.run(
            [require_tmux(), "-S", str(socket or self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        return result.stdout

    def start(self, argv: Sequence[str], env: Mapping[str, str]) -> TmuxSession:
        """Start `argv` (e.g. an interactive shell) in a fresh pane with exactly `env`; type into it."""
        self._runs += 1
        name = f"s{self._runs}"
        pairs = [f"{k}={v}" for k, v in env.items() if k not in ("COLUMNS", "LINES", "TMUX")]
        size = ["-x", str(self.width), "-y", str(self.height)]
        self._tmux("new-session", "-d", "-s", name, *size, shlex.join(["env", "-i", *pairs, *argv]))
        return TmuxSession(self, name, self.socket)

    def run(self, argv: Sequence[str], env: Mapping[str, str], *, escapes: bool = False) -> list[str]:
        """Run `argv` in a fresh pane with `env` (COLUMNS/LINES removed) and return its screen lines."""
        self._runs += 1
        done, release = f"done{self._runs}", f"release{self._runs}"
        tmux = shlex.join([require_tmux(), "-S", str(self.socket)])
        # Exactly `env` (a pane gets the tmux server's environment, not the client's), less what would
        # override the terminal's real size.
        pairs = [f"{k}={v}" for k, v in env.items() if k not in ("COLUMNS", "LINES", "TMUX")]
        command = (
            f"{shlex.join(['env', '-i', *pairs, *argv])}; "
            f"{tmux} wait-for -S {done}; {tmux} wait-for {release}"
        )
        size = ["-x", str(self.width), "-y", str(self.height)]
        self._tmux("new-session", "-d", "-s", f"s{self._runs}", *size, command)
        self._tmux("wait-for", done)
        capture = ["capture-pane", "-p", "-t", f"s{self._runs}"] + (["-e"] if escapes else [])
        screen = self._tmux(*capture)
        self._tmux("wait-for", "-S", release)
        lines = screen.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        return lines

    def close(self) -> None:
        for socket in self.directory.glob("sock*"):
            subprocess.run(
                [require_tmux(), "-S", str(socket), "kill-server"], capture_output=True, timeout=TIMEOUT
            )


class TmuxSession:
    """A pane started by `TmuxTerminal.start`: type keys, wait for a signal, read the screen."""

    def __init__(self, terminal: TmuxTerminal, name: str, socket: Path) -> None:
        self._terminal = terminal
        self.name = name
        self.socket = socket

    def type(self, *keys: str) -> None:
        """tmux `send-keys`: key names (`Enter`, `Tab`, `C-a`) or literal text, in order."""
        self._terminal._tmux("send-keys", "-t", self.name, *keys, socket=self.socket)

    def signal_command(self, channel: str) -> str:
        """A shell command that tells `wait(channel)` to return: type it after what to wait for."""
        return shlex.join([require_tmux(), "-S", str(self.socket), "wait-for", "-S", channel])

    def wait(self, channel: str) -> None:
        self._terminal._tmux("wait-for", channel, socket=self.socket)

    def screen(self) -> list[str]:
        lines = self._terminal._tmux("capture-pane", "-p", "-t", self.name, socket=self.socket).split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        return lines


@contextmanager
def tmux_terminal(width: int, height: int = 40) -> Iterator[TmuxTerminal]:
    """A terminal `width` cells wide, gone afterwards (its socket lives in a short temp dir)."""
    require_tmux()
    directory = Path(tempfile.mkdtemp(prefix="xai-tmux-"))
    terminal = TmuxTerminal(directory, width, height)
    try:
        yield terminal
    finally:
        terminal.close()
        shutil.rmtree(directory, ignore_errors=True)


def xai_in_terminal(terminal: TmuxTerminal, env: Mapping[str, str], *args: str, **kw: bool) -> list[str]:
    """`xai ARGS` (this checkout) run in `terminal`; the screen lines."""
    return terminal.run(xai_command(*args), env, **kw)
