"""What every benchmark section shares: whole-process measurements, a server to measure against, rows.

A measurement is one process from start to exit (start-up included): wall time, peak RSS (the process's
own, see `gnu_time`), optionally the time to its first byte on stdout.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import functools
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEY = "xai-benchmark0000000000000000000000000"
XAI = [sys.executable, "-m", "xai_files_cli"]
SDK = [sys.executable, str(HERE / "sdk_ops.py")]
FLOOR = [sys.executable, str(HERE / "floor_client.py")]
MIB = 1024 * 1024
NAME_WIDTH = 56


@dataclass
class Sample:
    """One process run, or the median of several (RSS: the largest seen)."""

    wall: float
    rss_mb: float
    first_byte: float | None = None
    stdout: bytes = b""
    runs: int = 1

    def brief(self) -> str:
        """`1.234s  56.7MB`: the wall time and peak RSS."""
        return f"{self.wall:7.3f}s {self.rss_mb:6.1f}MB"


@functools.cache
def gnu_time() -> str | None:
    """GNU time, when installed and working: it forks the command from its own tiny process, so the
    peak RSS it reports is the command's own. The `ru_maxrss` that wait4 gives this harness for a child
    starts at the harness's own peak instead (Linux carries the parent's high-water mark into a child
    spawned with vfork, as subprocess does), which would floor every figure at this process's peak."""
    for candidate in ("/usr/bin/time", shutil.which("time")):
        if candidate and _reports_rss(candidate):
            return candidate
    return None


def _reports_rss(program: str) -> bool:
    with tempfile.NamedTemporaryFile(prefix="xai-bench-rss-") as out:
        probe = subprocess.run([program, "-f", "%M", "-o", out.name, "true"], capture_output=True)
        return probe.returncode == 0 and _peak_kib(Path(out.name)) is not None


def _peak_kib(path: Path) -> int | None:
    """The last line of GNU time's `-f %M` output (a line before it may name a fatal signal)."""
    lines = path.read_text().split()
    return int(lines[-1]) if lines and lines[-1].isdigit() else None


def rss_method() -> str:
    """How peak RSS is measured in this run, for the report."""
    if gnu_time():
        return "peak RSS: each process's own (GNU time)"
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"peak RSS: wait4 (no GNU time), never below the harness's own peak ({own:.0f} MB now)"


def measure(cmd: list[str], env: dict[str, str], *, first_byte: bool = False) -> Sample:
    """Run one process to completion; wall time, peak RSS and (optionally) time to first stdout byte."""
    with tempfile.NamedTemporaryFile(prefix="xai-bench-rss-") as rss_out, tempfile.TemporaryFile() as err:
        probe = gnu_time()
        argv = [probe, "-f", "%M", "-o", rss_out.name, *cmd] if probe else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err)
        first = None
        chunks = []
        assert proc.stdout is not None
        if first_byte:
            chunks.append(proc.stdout.read(1))
            first = time.perf_counter() - start
        chunks.append(proc.stdout.read())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode()[-500:]}")
        peak_kib = _peak_kib(Path(rss_out.name)) if probe else usage.ru_maxrss
    return Sample(wall, (peak_kib or 0) / 1024, first, b"".join(chunks))


def combine(samples: list[Sample]) -> Sample:
    """Median wall and first byte, largest RSS, the last run's stdout."""
    firsts = [s.first_byte for s in samples if s.first_byte is not None]
    return Sample(
        statistics.median(s.wall for s in samples),
        max(s.rss_mb for s in samples),
        statistics.median(firsts) if firsts else None,
        samples[-1].stdout,
        len(samples),
    )


def median_of(runs: int, make: Callable[[], Sample]) -> Sample:
    """Call `make` `runs` times and combine the samples."""
    return combine([make() for _ in range(runs)])


def interleaved(runs: int, makers: dict[str, Callable[[], Sample]]) -> dict[str, Sample]:
    """Every maker `runs` times, round-robin in dict order, so that a noisy spell on a shared machine
    hits each contender alike; the combined sample of each."""
    samples: dict[str, list[Sample]] = {name: [] for name in makers}
    for _ in range(runs):
        for name, make in makers.items():
            samples[name].append(make())
    return {name: combine(taken) for name, taken in samples.items()}


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds the harness like Ctrl-C does, so every `finally` (stopping servers) runs."""
    raise SystemExit(128 + signum)


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that has Linux SIGKILL the child when the harness dies, even by SIGKILL (which
    runs no `finally` and no atexit, so there is nobody left to wait for a graceful stop); None where
    prctl is not available."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the harness died before the line above took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


class Server:
    """`xai serve` on a free loopback port with its own data dir; `target` is what clients dial.

    The server never outlives the harness: `stop` is also called at exit, SIGTERM unwinds the harness
    as SIGINT does, and the kernel kills the server when the harness is killed outright."""

    def __init__(self, data_dir: Path) -> None:
        env = dict(os.environ, XAI_API_KEY=KEY)
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.proc = subprocess.Popen(
            [*XAI, "serve", "--port", "0", "--data-dir", str(data_dir), "--api-key", KEY],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(),
        )
        atexit.register(self.stop)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline().decode()
        match = re.search(r"listening on \S*?:(\d+)", line)
        if not match:
            raise RuntimeError(f"xai serve did not start: {(line + self._rest_of_stderr())[-1500:]}")
        self.port = int(match.group(1))
        self.target = f"localhost:{self.port}"

    def _rest_of_stderr(self) -> str:
        """What a server that failed to start wrote after its first line (it is ended either way)."""
        try:
            _, rest = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, rest = self.proc.communicate()
        return rest.decode(errors="replace")

    def stop(self) -> None:
        """End the server (gracefully, then by SIGKILL after 15 s); a second call does nothing."""
        atexit.unregister(self.stop)
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client_env(target: str, home: Path) -> dict[str, str]:
    """Environment for xai, the SDK and the floor client against `target`, with state kept under `home`."""
    env = dict(os.environ, XAI_API_KEY=KEY, XAI_API_HOST=target, SDK_API_HOST=target)
    env["XAI_DATA_DIR"] = str(home / "local-data")
    env["XAI_CONFIG_DIR"] = str(home / "config")  # no saved profile or setting of the user's applies
    env["XDG_STATE_HOME"] = str(home / "state")  # client-side state (e.g. an upload index) stays here
    env["XAI_LOGS_PATH"] = str(home / "logs" / "conversations.db")  # chat's conversation log too
    env.pop("XAI_PROFILE", None)
    return env


@dataclass
class Row:
    """One line of the report. `ok` is None for a row without a target (or one that cannot run yet)."""

    name: str
    xai: str
    baseline: str = "-"
    ratio: str = ""
    target: str = ""
    ok: bool | None = None
    runs: int | None = None


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def print_header(title: str) -> None:
    """The report's title and column names."""
    print(title)
    print(f"{'benchmark':{NAME_WIDTH}} {'n':>2} {'xai':>18} {'baseline':>24}  {'ratio':8} {'target':22} ok")


def print_rows(rows: list[Row]) -> None:
    """Rows of the report, fixed-width, one per line (the row's name first), flushed at once."""
    for row in rows:
        runs = "" if row.runs is None else str(row.runs)
        if row.xai.startswith("n/a"):  # a row that cannot run yet says so across the columns
            print(f"{row.name:{NAME_WIDTH}} {runs:>2} {row.xai}")
            continue
        print(
            f"{row.name:{NAME_WIDTH}} {runs:>2} {row.xai:>18} {row.baseline:>24}  {row.ratio:8} "
            f"{row.target:22} {verdict(row.ok)}".rstrip()
        )
    sys.stdout.flush()
