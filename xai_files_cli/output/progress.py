"""Progress displays that satisfy `core.transfer.Progress`: a rich bar, a CI line logger, or nothing.

- stderr is a terminal: a transient rich bar (bytes, speed, ETA) on stderr;
- stderr is a pipe or CI log (and not --quiet): a plain timestamped line every few seconds, only
  for transfers long enough to need one, with no ANSI codes; while no bytes move, a heartbeat line
  says the transfer is waiting and for how long, so a stalled job's log shows it;
- --quiet: nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from xai_files_cli.core.transfer import NullProgress, Progress
from xai_files_cli.output.files import human_size
from xai_files_cli.output.sanitize import escape_terminal

if TYPE_CHECKING:
    from rich.console import Console

    from xai_files_cli.output.io import IOStreams

LINE_INTERVAL = 5.0  # seconds between CI progress lines
STALLED_AFTER = 1.0  # seconds without a byte after which a line says the transfer is waiting


class RichProgress:
    """A transient rich progress bar on a terminal stderr."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self._lock = threading.Lock()

    def start(self, total: int | None, description: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with self._lock:
            if self._progress is None:
                self._progress = Progress(
                    TextColumn("{task.description}", markup=False),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    TimeRemainingColumn(),
                    console=self._console,
                    transient=True,
                )
                self._progress.start()
            self._task = self._progress.add_task(escape_terminal(description), total=total)

    def advance(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def reset(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.reset(self._task)

    def print_above(self, text: str) -> bool:
        """Print a line above the live bar (so the bar is not torn); False when no bar is showing."""
        if self._progress is None:
            return False
        from rich.text import Text

        self._progress.console.print(Text(text), soft_wrap=True)  # let the terminal wrap: ids stay whole
        return True

    def finish(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
                self._task = None


class LineProgress:
    """Timestamped plain lines for logs: `12:00:05 xai: upload big.bin: 12 MB of 80 MB (15%), 3.1 MB/s`.

    Nothing is printed for a transfer shorter than one interval, so quick commands stay silent. A
    heartbeat thread (started by `start`, ended by `finish`) prints a line whenever a whole interval
    passed without one; when no byte moved for STALLED_AFTER seconds the line says so instead of
    giving a speed: `... download big.bin: waiting: 20 MB of 100 MB (20%) so far, no data for 15 s`.
    No line is printed once `finish` has returned.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        verb: str = "transfer",
    ) -> None:
        self._stream = stream
        self._interval = LINE_INTERVAL if interval is None else interval
        self._clock = clock
        self._verb = verb
        self._lock = threading.Lock()
        self._total: int | None = None
        self._description = ""
        self._done = 0
        self._started = 0.0
        self._last = 0.0  # when the last line was printed (or the transfer started)
        self._last_byte = 0.0  # when bytes last moved (or the transfer started)
        self._printed = False
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def start(self, total: int | None, description: str) -> None:
        with self._lock:
            self._total = total
            self._description = escape_terminal(description)
            self._done = 0
            self._started = self._last = self._last_byte = self._clock()
            self._printed = False
            if self._heartbeat is None:
                self._stop = threading.Event()
                self._heartbeat = threading.Thread(
                    target=self._beat, args=(self._stop,), name="xai-progress-heartbeat", daemon=True
                )
                self._heartbeat.start()

    def advance(self, n: int) -> None:
        with self._lock:
            self._done += n
            now = self._clock()
            if n > 0:  # not a restart's roll-back
                self._last_byte = now
            if now - self._last >= self._interval:
                self._last = now
                self._emit(now)

    def reset(self) -> None:
        with self._lock:
            self._done = 0

    def finish(self) -> None:
        with self._lock:
            self._stop.set()
            heartbeat, self._heartbeat = self._heartbeat, None
            if self._printed:
                self._emit(self._clock())
        if heartbeat is not None and heartbeat is not threading.current_thread():
            heartbeat.join()

    def _beat(self, stop: threading.Event) -> None:
        """Print a line whenever an interval passes without one, until `stop` is set."""
        wait = self._interval
        while not stop.wait(wait):
            with self._lock:
                if stop.is_set():
                    return
                now = self._clock()
                due = self._last + self._interval
                if now >= due:
                    self._last = now
                    self._emit(now, idle=now - self._last_byte)
                    due = now + self._interval
                wait = due - now

    def _emit(self, now: float, idle: float = 0.0) -> None:
        amount = human_size(self._done)
        if self._total:
            percent = min(100, self._done * 100 // self._total)
            amount += f" of {human_size(self._total)} ({percent}%)"
        if idle >= min(self._interval, STALLED_AFTER):  # nothing moves: say so, not an average speed
            state = f"waiting: {amount} so far, no data for {_seconds(idle)}"
        else:
            elapsed = max(now - self._started, 1e-9)
            state = f"{amount}, {human_size(int(self._done / elapsed))}/s"
        stamp = datetime.now().strftime("%H:%M:%S")
        self._stream.write(f"{stamp} xai: {self._verb} {self._description}: {state}\n")
        self._stream.flush()
        self._printed = True


def _seconds(value: float) -> str:
    """`15 s` (a tenth of a second below 10 s: `2.5 s`)."""
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def make_progress(io: IOStreams, *, quiet: bool, verb: str = "transfer") -> Progress:
    """Pick the display for this invocation: rich on a tty stderr, lines otherwise, none when quiet."""
    if quiet:
        return NullProgress()
    if io.show_progress:
        return RichProgress(io.err_console())
    return LineProgress(io.stderr, verb=verb)
