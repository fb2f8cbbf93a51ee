"""`--manifest FILE`: one JSON line per item of an upload, appended and flushed as each item ends.

    {"path": "docs/a.pdf", "name": "a.pdf", "size": 1234, "sha256": "…", "status": "uploaded",
     "id": "file_…", "error": null, "seconds": 0.042}

`status` is uploaded, skipped or failed; `error` is null or `{code, message}` (the fields of the
error's JSON object); `sha256` is null when the content was never read in full. The file is opened
for appending, so the manifests of several runs accumulate; each line is one write(2) on an
O_APPEND descriptor, so it reaches the file whole even if the process is killed right after.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xai_files_cli.core.records import UploadResult
from xai_files_cli.errors import InternalError, UsageError
from xai_files_cli.output.machine import to_json_text


class Manifest:
    """An open manifest file; `write` appends one item's line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd: int | None = os.open(path, flags, 0o644)
        except OSError as error:
            reason = error.strerror or error
            raise UsageError(f"cannot write manifest {path}: {reason}", path=str(path)) from None

    def write(self, result: UploadResult, size: int | None) -> None:
        """Append the line of one finished item (`size`: the local size when nothing was stored)."""
        if self._fd is None:
            return
        line = to_json_text(manifest_record(result, size), indent=None) + "\n"
        try:
            os.write(self._fd, line.encode("utf-8", errors="surrogateescape"))
        except OSError as error:
            self.close()
            raise InternalError(f"cannot write manifest {self.path}: {error.strerror or error}") from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def manifest_record(result: UploadResult, size: int | None) -> dict[str, Any]:
    """The manifest object of one item."""
    error = None
    if result.error is not None:
        full = result.error.to_json()
        error = {"code": full["code"], "message": full["message"]}
    return {
        "path": str(result.item.path),
        "name": result.item.filename,
        "size": result.file.size if result.file is not None else size,
        "sha256": result.sha256,
        "status": result.status,
        "id": result.file.id if result.file is not None else None,
        "error": error,
        "seconds": round(result.seconds, 6) if result.seconds is not None else None,
    }
