"""PDF text extraction in a child process, bounded in time, pages, text and memory.

pypdf is pure Python and parses untrusted input: a crafted PDF of a few kilobytes (a compressed
content stream of a million operators, deeply nested forms) keeps it busy for minutes, and
nothing running in a thread can be stopped. So every extraction runs
`python -m xai_files_cli.emulator.pdf_text` with the PDF as its stdin. The child sends the text
page by page on stdout; the parent stops it (SIGKILL) as soon as the time budget is spent, the
caller gives up (the client cancelled) or the caller's text budget is exceeded. The child also
caps its own address space and CPU time, so it ends even if the server died.

Frames on the child's stdout: one kind byte, a 4-byte big-endian length, then the payload:
    T  the text of the next page (UTF-8)
    L  the text budget was exceeded; payload: the number of characters extracted so far
    E  why extraction failed (UTF-8); the last frame
A clean end of stdout with exit status 0 means every page was sent.
"""

from __future__ import annotations

import io
import math
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DEFAULT_SECONDS = 10.0
DEFAULT_MAX_PAGES = 5_000
DEFAULT_MEMORY_BYTES = 1 << 30
_HEADER = struct.Struct(">cI")
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # where `xai_files_cli` itself is found
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class PdfLimits:
    """What one extraction may cost.

    Attributes:
        seconds: wall time the caller spends waiting for the child, all pages together.
        max_pages: PDFs with more pages are refused before any text is extracted.
        memory_bytes: the child's address-space limit.
    """

    seconds: float = DEFAULT_SECONDS
    max_pages: int = DEFAULT_MAX_PAGES
    memory_bytes: int = DEFAULT_MEMORY_BYTES


class PdfError(ValueError):
    """The PDF cannot be read within the limits; the message says why."""


class PdfTextTooLong(PdfError):
    """The PDF has more text than the caller's budget (`chars` were extracted before stopping)."""

    def __init__(self, chars: int) -> None:
        super().__init__(f"the PDF has more than {chars} characters of text")
        self.chars = chars


class ExtractionCancelled(Exception):
    """The caller gave up (the client cancelled); the child was stopped."""


def _never() -> bool:
    return False


def iter_pages(
    source: BinaryIO,
    limits: PdfLimits | None = None,
    *,
    max_chars: int | None = None,
    cancelled: Callable[[], bool] = _never,
) -> Iterator[str]:
    """Yield the text of each page of the PDF in `source`, in order.

    Raises PdfError (parser failure, too many pages, over the time budget), PdfTextTooLong when
    the text passes `max_chars`, and ExtractionCancelled when `cancelled()` turns true. Closing
    the iterator early stops the child too.
    """
    with _Worker(source, limits or PdfLimits(), max_chars) as worker:
        while True:
            frame = worker.next_frame(cancelled)
            if frame is None:
                return
            kind, payload = frame
            if kind == b"T":
                yield payload.decode("utf-8", "replace")
            elif kind == b"L":
                raise PdfTextTooLong(int(payload))
            else:
                raise PdfError(payload.decode("utf-8", "replace"))


class _Worker:
    """One child process and the thread reading its frames into a small queue."""

    def __init__(self, source: BinaryIO, limits: PdfLimits, max_chars: int | None) -> None:
        self.limits = limits
        self.waited = 0.0
        self._frames: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        stdin = _as_real_file(source)
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    __name__,
                    str(limits.max_pages),
                    str(max_chars if max_chars is not None else -1),
                    str(limits.memory_bytes),
                    str(math.ceil(limits.seconds * 2) + 5),
                ],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=_PACKAGE_PARENT,  # `-m` puts the cwd first on sys.path: never the user's dir
            )
        finally:
            if stdin is not source:
                stdin.close()
        self._reader = threading.Thread(target=self._read, name="xai-pdf-reader", daemon=True)
        self._reader.start()

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child if it still runs and release the pipe and the reader thread."""
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def next_frame(self, cancelled: Callable[[], bool]) -> tuple[bytes, bytes] | None:
        """The next frame, or None at a clean end; raises when time runs out or the caller cancels."""
        while True:
            started = time.monotonic()
            try:
                frame = self._frames.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                self.waited += time.monotonic() - started
                self._check(cancelled)
                continue
            if frame is None:
                self._check_exit()
            return frame

    def _check(self, cancelled: Callable[[], bool]) -> None:
        if cancelled():
            raise ExtractionCancelled
        if self.waited > self.limits.seconds:
            raise PdfError(
                f"cannot read PDF: text extraction took longer than {self.limits.seconds:g} s, "
                "the local server's limit"
            )

    def _check_exit(self) -> None:
        code = self.proc.wait()
        if code != 0:
            raise PdfError(f"cannot read PDF: the text extractor stopped (exit status {code})")

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while not self._stop.is_set():
                header = stdout.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    break
                kind, length = _HEADER.unpack(header)
                payload = stdout.read(length)
                if len(payload) < length or not self._put((kind, payload)):
                    return
        except (OSError, ValueError):  # the pipe was closed under us by close()
            pass
        self._put(None)

    def _put(self, item: tuple[bytes, bytes] | None) -> bool:
        while not self._stop.is_set():
            try:
                self._frames.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False


def _as_real_file(source: BinaryIO) -> BinaryIO:
    """`source` itself if it has a descriptor the child can read, else an anonymous temp copy."""
    try:
        source.fileno()
        return source
    except (OSError, AttributeError, io.UnsupportedOperation):
        pass
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller once the child has it
    shutil.copyfileobj(source, copy)
    copy.seek(0)
    return copy


# -- the child ------------------------------------------------------------------------------------


def _send(out: BinaryIO, kind: bytes, payload: bytes) -> None:
    out.write(_HEADER.pack(kind, len(payload)) + payload)
    out.flush()


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - no rlimits on this platform; the parent still kills
        return
    for which, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu_seconds)):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # a lower hard limit is already in force
            continue


def _extract(out: BinaryIO, max_pages: int, max_chars: int) -> None:
    from pypdf import PdfReader

    source: BinaryIO = open(0, "rb", closefd=False)  # noqa: SIM115 - the process's stdin
    if not source.seekable():
        source = io.BytesIO(source.read())
    try:
        reader = PdfReader(source)
        pages = reader.pages
        count = len(pages)
    except Exception as error:  # pypdf raises many kinds of errors on malformed input
        _send(out, b"E", f"cannot read PDF: {type(error).__name__}".encode())
        return
    if count > max_pages:
        message = f"cannot read PDF: it has {count} pages; the local server reads at most {max_pages}"
        _send(out, b"E", message.encode())
        return
    total = 0
    for index in range(count):
        try:
            text = pages[index].extract_text() or ""
        except Exception as error:
            reason = f"cannot extract text from PDF page {index + 1}: {type(error).__name__}"
            _send(out, b"E", reason.encode())
            return
        total += len(text)
        if 0 <= max_chars < total:
            _send(out, b"L", str(total).encode())
            return
        _send(out, b"T", text.encode("utf-8", "surrogatepass"))


def main(argv: list[str]) -> int:
    """Child entry point: `python -m xai_files_cli.emulator.pdf_text PAGES CHARS MEMORY CPU`."""
    max_pages, max_chars, memory_bytes, cpu_seconds = (int(arg) for arg in argv[1:5])
    _limit_self(memory_bytes, cpu_seconds)
    out = sys.stdout.buffer
    try:
        _extract(out, max_pages, max_chars)
    except MemoryError:
        _send(out, b"E", f"cannot read PDF: it needs more than {memory_bytes >> 20} MB of memory".encode())
    except BrokenPipeError:  # the parent stopped listening
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
