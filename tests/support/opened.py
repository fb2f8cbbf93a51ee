"""`watch_opens(folder)`: which files under `folder` this process opened meanwhile, seen through
Python's audit hooks (`open` is raised by `open()`, `io.open` and `os.open` alike, before the file
is opened). The tests run as root, where `chmod 000` would not stop a read: this sees every attempt
to read a file, whoever makes it.

An audit hook cannot be removed, so one is installed per process, on first use, and does nothing
while no folder is watched.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_watched: dict[str, list[str]] = {}  # folder prefix -> paths opened under it
_installed = False


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not _watched or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    with _lock:
        for prefix, opened in _watched.items():
            if path.startswith(prefix):
                opened.append(path)


@contextmanager
def watch_opens(folder: Path) -> Iterator[list[str]]:
    """The absolute paths of the files under `folder` opened while the block runs (one per open)."""
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
        prefix = os.path.join(os.path.abspath(folder), "")
        opened = _watched.setdefault(prefix, [])
    try:
        yield opened
    finally:
        with _lock:
            _watched.pop(prefix, None)
