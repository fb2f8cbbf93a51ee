"""A command in a real terminal that a test can type into: a tmux pane on a private tmux server.

`TmuxSession.start(argv, env)` runs argv in a detached pane of the given size; `keys()` types,
`wait_for_screen()` reads the screen until a condition holds, `wait_exit()` waits on the tmux
channel the pane signals when the command has ended (the pane then stays until `close`, so its
last screen can still be read). Tests that need tmux skip without it.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

TIMEOUT = 30.0
POLL = 0.05  # seconds between two looks at the screen while waiting for it to change


def tmux_binary() -> str:
    """The tmux program, or skip the test."""
    path = shutil.which("tmux")
    if path is None:
        pytest.skip("tmux is not installed")
    return path


class TmuxSession:
    """One pane running one command; always `close()` it (the private tmux server goes too)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "sock"
        self.tmux = tmux_binary()

    @classmethod
    def start(
        cls, argv: Sequence[str], env: Mapping[str, str], *, width: int = 100, height: int = 30
    ) -> TmuxSession:
        session = cls(Path(tempfile.mkdtemp(prefix="xai-tmux-")))
        status = session.directory / "status"
        wait = shlex.join([session.tmux, "-S", str(session.socket), "wait-for"])
        program = shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", *argv])
        command = f"{program}; echo $? > {shlex.quote(str(status))}; {wait} -S ended; {wait} released"
        clean = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        clean.setdefault("TERM", "xterm-256color")
        session._run("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), command, env=clean)
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

    def screen(self) -> list[str]:
        """The pane's lines, trailing blanks removed."""
        return [line.rstrip() for line in self._run("capture-pane", "-p", "-t", "t").rstrip("\n").split("\n")]

    def keys(self, *keys: str) -> None:
        """Type: literal text, or tmux key names such as Enter, Up, C-d."""
        self._run("send-keys", "-t", "t", *keys)

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

    def wait_exit(self) -> tuple[int, list[str]]:
        """Wait until the command has ended; its exit status and last screen."""
        self._run("wait-for", "ended")
        code = int((self.directory / "status").read_text().strip())
        return code, self.screen()

    def close(self) -> None:
        subprocess.run(
            [self.tmux, "-S", str(self.socket), "kill-server"], capture_output=True, timeout=TIMEOUT
        )
        shutil.rmtree(self.directory, ignore_errors=True)
