"""Python programs (`xai` above all) in subprocesses, started the way a shell in the foreground would.

A shell running a command in the background without job control starts it with SIGINT ignored,
and children inherit that; a Python started that way installs no KeyboardInterrupt handler, so
tests that press Ctrl-C on `xai` fail when pytest itself runs in the background. `python_command`
then starts each child through a three-line launcher that puts SIGINT back to its default and
execs the real interpreter (same pid, same argv), which installs its usual handler.
`default_sigint_here` does the same for tests that signal this very process.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

from tests.support.constants import PYTHON, REPO_ROOT

_EXEC_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)


def xai_subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running `python -m xai_files_cli` or SDK scripts in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def python_command(*args: str) -> list[str]:
    """argv that runs `python ARGS` with SIGINT at its default, whatever this process inherited
    (the launcher is needed, and used, only while this process ignores SIGINT)."""
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        return [PYTHON, "-S", "-c", _EXEC_WITH_DEFAULT_SIGINT, *args]
    return [PYTHON, *args]


def xai_command(*args: str) -> list[str]:
    """argv for `xai ARGS` as `python -m xai_files_cli ARGS` (see `python_command`)."""
    return python_command("-m", "xai_files_cli", *args)


def start_xai(*args: str, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen[Any]:
    """`xai ARGS` in a subprocess (Popen keywords pass through); env defaults to xai_subprocess_env()."""
    return subprocess.Popen(xai_command(*args), env=xai_subprocess_env() if env is None else env, **popen)


def start_xai_against(target: str, key: str, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """`xai ARGS` pointed at `target` with `key`, from the repo root, stdout and stderr piped as text."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    env = xai_subprocess_env({"XAI_API_HOST": target, "XAI_API_KEY": key})
    return start_xai(*args, env=env, cwd=REPO_ROOT, text=True, **popen)


def run_python(*args: str, timeout: float = 60, **run: Any) -> subprocess.CompletedProcess[str]:
    """`python ARGS` to completion (see `python_command`), its output captured as text; env defaults
    to xai_subprocess_env()."""
    run = {"env": xai_subprocess_env(), "capture_output": True, "text": True, **run}
    return subprocess.run(python_command(*args), timeout=timeout, **run)


@contextlib.contextmanager
def default_sigint_here() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in this process for the duration, as in a foreground run."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def unused_port() -> int:
    """A loopback TCP port with nothing listening (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def exits_within(pid: int, timeout: float) -> bool:
    """Whether process `pid` (not necessarily a child of this one) has ended or ends within `timeout`
    seconds; waits on a pidfd, which becomes readable when the process exits."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(pidfd)
