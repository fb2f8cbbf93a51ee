"""A real terminal of a chosen size: a command in a tmux pane on a private tmux server, read back as lines.

- `TmuxSession.start(argv, env, width=, height=)` runs argv in a detached pane with exactly `env`
  (less COLUMNS, LINES and TMUX, which would override the pane's real size); `keys` types,
  `screen` and `wait_for_screen` read the screen, `wait_exit` waits until the command has ended and
  gives its exit status and last screen, `signal_command`/`wait` wait on a tmux channel that a typed
  command signals. Always `close()` it: the private tmux server and its temp dir go too.
- `tmux_terminal(width)` gives a `TmuxTerminal` of one size for several commands: `run` returns the
  screen of a command run to its end (with `escapes=True` also the SGR sequences it wrote).

A screen's lines are the pane's rows: a line wider than the terminal shows as two, as a person would
see it. Synchronisation uses `tmux wait-for` channels: the pane signals when its command has ended and
then waits to be released, so the last screen is read while the pane still exists, without sleeping;
only `wait_for_screen`, waiting for a redraw, looks at the screen repeatedly. Tests skip without tmux.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import xai_command

TIMEOUT = 60.0
POLL = 0.05  # seconds between two looks at the screen while waiting for it to change
_NOT_PASSED = ("COLUMNS", "LINES", "TMUX")


def require_tmux() -> str:
    """The tmux binary, or skip the test with the reason (CI installs it best-effort)."""
    path = shutil.which("tmux")
    if path is None:
        pytest.skip("tmux is not installed (the .ci/run apt step installs it when it can)")
    return path


class TmuxSession:
    """One pane running one command on its own tmux server; always `close()` it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "sock"
        self.tmux = require_tmux()

    @classmethod
    def start(
        cls, argv: Sequence[str], env: Mapping[str, str], *, width: int = 100, height: int = 30
    ) -> TmuxSession:
        """Start `argv` in a fresh `width` x `height` pane whose environment is exactly `env` (TERM
        defaults to xterm-256color)."""
        session = cls(Path(tempfile.mkdtemp(prefix="xai-tmux-")))
        pairs = {k: v for k, v in env.items() if k not in _NOT_PASSED}
        pairs.setdefault("TERM", "xterm-256color")
        program = shlex.join(["env", "-i", *(f"{k}={v}" for k, v in pairs.items()), *argv])
        status = shlex.quote(str(session.directory / "status"))
        wait = shlex.join([session.tmux, "-S", str(session.socket), "wait-for"])
        command = f"{program}; echo $? > {status}; {wait} -S ended; {wait} released"
        size = ["-x", str(width), "-y", str(height)]
        session._run("new-session", "-d", "-s", "t", *size, command, env={"TERM": pairs["TERM"]})
        return session

    def _run(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        result = subprocess.run(
            [self.tmux, "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            timeout=TIMEOUT,
        )
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        return result.stdout

    def screen(self, *, escapes: bool = False) -> list[str]:
        """The pane's lines, trailing blanks removed; with `escapes`, the SGR sequences kept."""
        text = self._run("capture-pane", "-p", "-t", "t", *(["-e"] if escapes else []))
        return [line.rstrip() for line in text.rstrip("\n").split("\n")]

    def keys(self, *keys: str) -> None:
        """Type (tmux `send-keys`): literal text, or key names such as Enter, Tab, Up, C-a, in order."""
        self._run("send-keys", "-t", "t", *keys)

    def signal_command(self, channel: str) -> str:
        """A shell command that makes `wait(channel)` return: type it after what to wait for."""
        return shlex.join([self.tmux, "-S", str(self.socket), "wait-for", "-S", channel])

    def wait(self, channel: str) -> None:
        """Block until `channel` is signalled (see `signal_command`)."""
        self._run("wait-for", channel)

    def wait_for_screen(self, condition: Callable[[list[str]], bool], what: str) -> list[str]:
        """The screen once `condition(lines)` holds (the terminal redraws on its own schedule, so it
        is looked at every POLL seconds); fails after TIMEOUT seconds naming `what`."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            lines = self.screen()
            if condition(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"the terminal never showed {what}:\n" + "\n".join(lines))
            time.sleep(POLL)

    def wait_exit(self, *, escapes: bool = False) -> tuple[int, list[str]]:
        """Wait until the command has ended; its exit status and last screen (see `screen`)."""
        self.wait("ended")
        code = int((self.directory / "status").read_text().strip())
        return code, self.screen(escapes=escapes)

    def close(self) -> None:
        subprocess.run(
            [self.tmux, "-S", str(self.socket), "kill-server"], capture_output=True, timeout=TIMEOUT
        )
        shutil.rmtree(self.directory, ignore_errors=True)


class TmuxTerminal:
    """Panes of `width` x `height` cells, each command in a session of its own."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._sessions: list[TmuxSession] = []

    def start(self, argv: Sequence[str], env: Mapping[str, str]) -> TmuxSession:
        """`argv` (e.g. an interactive shell) in a fresh pane to type into; closed with the terminal."""
        session = TmuxSession.start(argv, env, width=self.width, height=self.height)
        self._sessions.append(session)
        return session

    def run(self, argv: Sequence[str], env: Mapping[str, str], *, escapes: bool = False) -> list[str]:
        """Run `argv` to its end in a fresh pane with `env`; its screen lines."""
        session = TmuxSession.start(argv, env, width=self.width, height=self.height)
        try:
            return session.wait_exit(escapes=escapes)[1]
        finally:
            session.close()

    def close(self) -> None:
        for session in self._sessions:
            session.close()


@contextmanager
def tmux_terminal(width: int, height: int = 40) -> Iterator[TmuxTerminal]:
    """A terminal `width` cells wide whose panes are all gone afterwards."""
    require_tmux()
    terminal = TmuxTerminal(width, height)
    try:
        yield terminal
    finally:
        terminal.close()


def xai_in_terminal(terminal: TmuxTerminal, env: Mapping[str, str], *args: str, **kw: bool) -> list[str]:
    """`xai ARGS` (this checkout) run in `terminal`; the screen lines."""
    return terminal.run(xai_command(*args), env, **kw)
