"""Progress displays that satisfy `core.transfer.Progress`: a rich bar, a CI line logger, or nothing.

- stderr is a terminal: a transient rich bar (bytes, speed, ETA) on stderr;
- stderr is a pipe or CI log (and not --quiet): a plain timestamped line at most every few seconds,
  only for transfers long enough to need one, with no ANSI codes;
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

    Nothing is printed for a transfer shorter than one interval, so quick commands stay silent.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        verb: str = "transfer",
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._verb = verb
        self._lock = threading.Lock()
        self._total: int | None = None
        self._description = ""
        self._done = 0
        self._started = 0.0
        self._last = 0.0
        self._printed = False

    def start(self, total: int | None, description: str) -> None:
        with self._lock:
            self._total = total
            self._description = escape_terminal(description)
            self._done = 0
            self._started = self._last = self._clock()
            self._printed = False

    def advance(self, n: int) -> None:
        with self._lock:
            self._done += n
            now = self._clock()
            if now - self._last >= self._interval:
                self._last = now
                self._emit(now)

    def reset(self) -> None:
        with self._lock:
            self._done = 0

    def finish(self) -> None:
        with self._lock:
            if self._printed:
                self._emit(self._clock())

    def _emit(self, now: float) -> None:
        amount = human_size(self._done)
        if self._total:
            percent = min(100, self._done * 100 // self._total)
            amount += f" of {human_size(self._total)} ({percent}%)"
        elapsed = max(now - self._started, 1e-9)
        speed = f", {human_size(int(self._done / elapsed))}/s"
        stamp = datetime.now().strftime("%H:%M:%S")
        self._stream.write(f"{stamp} xai: {self._verb} {self._description}: {amount}{speed}\n")
        self._stream.flush()
        self._printed = True


def make_progress(io: IOStreams, *, quiet: bool, verb: str = "transfer") -> Progress:
    """Pick the display for this invocation: rich on a tty stderr, lines otherwise, none when quiet."""
    if quiet:
        return NullProgress()
    if io.show_progress:
        return RichProgress(io.err_console())
    return LineProgress(io.stderr, verb=verb)
