"""What to do with each file of an upload, and the index bookkeeping around each upload.

`UploadPlanner` decides, per file, `upload` or `skip` (with `--skip-existing`):
- skip when the index knows a file of this profile with the same name, size and SHA-256 and the
  server confirms it (it still exists, same name and size, not expired);
- skip when a run that was killed left a pending row for this name and size, and the server holds
  a file of that name and size created after that run started whose content equals the local
  file's (downloaded and hashed: content decides); that file is then recorded as ours;
- upload otherwise: never seen, content changed, or the earlier upload was deleted or expired.

A file is hashed before its upload only when the index has a candidate to compare with; otherwise
the hash is taken during the upload (`core.content_hash`). A file whose stat equals the one recorded
when it was last read is not hashed again (`UploadIndex.known_digest`).

`UploadJournal` writes the index around each upload: a pending row before the first byte, the
stored file (replacing the pending row) once the server answered, and the pending row is removed
when nothing can have been stored. A run killed in between leaves the pending row for the planner.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import grpc

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.core import rpc
from xai_files_cli.core.content_hash import HashingSource, HashSink, hash_file
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.records import FileInfo, UploadItem, epoch_seconds, rfc3339
from xai_files_cli.core.upload_index import Fingerprint, IndexEntry, PendingEntry, UploadIndex
from xai_files_cli.errors import (
    InternalError,
    Interrupted,
    NotFoundError,
    RejectedError,
    UnavailableError,
    XaiError,
)

# A killed run's file is looked for among files created from this long before the run started,
# in case the server's clock is behind ours (content is compared, so a wider window is safe).
CLOCK_SKEW_NS = 120 * 1_000_000_000
PLAN_WORKERS = 16  # files checked at once (hashing releases the GIL; the checks wait on the server)

UPLOAD, SKIP = "upload", "skip"


@dataclass(frozen=True)
class PlanEntry:
    """The decision for one file: `action` is "upload" or "skip", `reason` says why."""

    item: UploadItem
    action: str
    reason: str
    size: int | None
    sha256: str | None = None
    existing: FileInfo | None = None  # the live file a skip stands for
    seconds: float = 0.0  # time spent deciding

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "path": str(self.item.path),
            "name": self.item.filename,
            "size": self.size,
            "reason": self.reason,
        }
        if self.existing is not None:
            data["id"] = self.existing.id
        return data


ListMatching = Callable[[str], Iterable[FileInfo]]


class UploadPlanner:
    """Decides upload or skip for each file; with `dry_run` it never writes the index."""

    def __init__(
        self,
        index: UploadIndex,
        client: FilesClient,
        *,
        list_matching: ListMatching,
        dry_run: bool = False,
    ) -> None:
        self._index = index
        self._client = client
        self._list_matching = list_matching
        self._dry_run = dry_run

    def plan_all(self, items: list[UploadItem], *, skip_existing: bool) -> list[PlanEntry]:
        """A decision per item, in the items' order; up to PLAN_WORKERS files checked at once."""
        if not skip_existing or len(items) <= 1:
            return [self.plan(item, skip_existing=skip_existing) for item in items]
        with ThreadPoolExecutor(PLAN_WORKERS, thread_name_prefix="xai-plan") as pool:
            return list(pool.map(lambda item: self.plan(item, skip_existing=True), items))

    def plan(self, item: UploadItem, *, skip_existing: bool) -> PlanEntry:
        started = time.perf_counter()
        entry = self._decide(item, skip_existing)
        return replace(entry, seconds=time.perf_counter() - started)

    def _decide(self, item: UploadItem, skip_existing: bool) -> PlanEntry:
        try:
            st = os.stat(item.path)
        except OSError as error:
            return PlanEntry(item, UPLOAD, f"cannot read: {error.strerror or error}", None)
        size = st.st_size
        if not skip_existing:
            return PlanEntry(item, UPLOAD, "no --skip-existing", size)
        name = item.filename
        if not _is_text(name):  # the upload refuses it (exit 2) before anything is sent
            return PlanEntry(item, UPLOAD, "the name is not valid UTF-8", size)
        entries = self._index.entries(name, size)
        pending = self._index.pending(name, size)
        if not entries and not pending:
            return PlanEntry(item, UPLOAD, "not uploaded before", size)
        read_at = time.time_ns()
        sha = self._index.known_digest(_absolute(item.path), Fingerprint.of(st))
        if sha is None:
            try:
                sha, st = hash_file(item.path)
            except OSError as error:
                return PlanEntry(item, UPLOAD, f"cannot read: {error}", size)
            if st.st_size != size:
                return PlanEntry(item, UPLOAD, "changed while checked", st.st_size)
        same = [entry for entry in entries if entry.sha256 == sha]
        for entry in same:
            info = self._confirm(entry, read_at)
            if info is not None:
                if not self._dry_run:
                    self._index.refresh(
                        entry.file_id, info, path=_absolute(item.path), stat=st, read_at_ns=read_at
                    )
                return PlanEntry(item, SKIP, f"unchanged: uploaded as {info.id}", size, sha, info)
        if pending:
            adopted = self._adopt(item, size, sha, pending, st, read_at)
            if adopted is not None:
                return PlanEntry(
                    item, SKIP, f"stored by an interrupted run as {adopted.id}", size, sha, adopted
                )
        if same:
            return PlanEntry(item, UPLOAD, f"earlier upload {same[0].file_id} deleted or expired", size, sha)
        if entries:
            return PlanEntry(item, UPLOAD, f"content changed since {entries[0].file_id}", size, sha)
        return PlanEntry(item, UPLOAD, "not uploaded before", size, sha)

    def _confirm(self, entry: IndexEntry, now_ns: int) -> FileInfo | None:
        """The server's metadata of a remembered file when it is still live and the same file."""
        if entry.expired(now_ns):
            self._forget(entry.file_id)
            return None
        try:
            info = self._client.get(entry.file_id)
        except NotFoundError:
            self._forget(entry.file_id)
            return None
        if info.size != entry.size or info.filename != entry.name or _expired(info, now_ns):
            self._forget(entry.file_id)
            return None
        return info

    def _forget(self, file_id: str) -> None:
        if not self._dry_run:
            self._index.forget(file_id)

    def _adopt(
        self,
        item: UploadItem,
        size: int,
        sha: str,
        pending: list[PendingEntry],
        st: os.stat_result,
        read_at: int,
    ) -> FileInfo | None:
        """A file stored by a killed run (found by name, size and creation time, then compared by
        content), now recorded as ours; the pending rows are settled either way."""
        name = item.filename
        since = min(p.started_at_ns for p in pending) - CLOCK_SKEW_NS
        found = [info for info in self._candidates(name, size, since) if not _expired(info, time.time_ns())]
        known = self._index.known_ids([info.id for info in found])
        adopted = None
        for info in found:
            if info.id not in known and self._content_of(info.id) == sha:
                adopted = info
                break
        if not self._dry_run:
            if adopted is not None:
                self._index.record(adopted, sha, path=_absolute(item.path), stat=st, read_at_ns=read_at)
            self._index.end([p.id for p in pending])
        return adopted

    def _candidates(self, name: str, size: int, since_ns: int) -> list[FileInfo]:
        """Files named `name` of `size` bytes created since `since_ns`: the server's filter, or a
        scan of the newest files when the server does not take the filter."""
        since = datetime.fromtimestamp(since_ns / 1e9, timezone.utc)
        expression = f'name = "{_quoted(name)}" AND size_bytes = {size} AND created_at >= "{rfc3339(since)}"'
        try:
            return list(self._list_matching(expression))
        except RejectedError:
            pass
        found = []
        for info in self._client.iter_files(sort="created_at", descending=True):
            if epoch_seconds(info.created_at) < since.timestamp():
                break
            if info.filename == name and info.size == size:
                found.append(info)
        return found

    def _content_of(self, file_id: str) -> str | None:
        sink = HashSink()
        try:
            self._client.download(file_id, sink)
        except NotFoundError:
            return None
        return sink.digest


def _expired(info: FileInfo, now_ns: int) -> bool:
    return info.expires_at is not None and epoch_seconds(info.expires_at) * 1e9 <= now_ns


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _quoted(text: str) -> str:
    """`text` inside a double-quoted filter string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def list_matching(channel: grpc.Channel, *, timeout: float, target: str | None = None) -> ListMatching:
    """ListFiles with a server-side `filter`, following every page (RejectedError if refused)."""
    stub = files_pb2_grpc.FilesStub(channel)

    def run(expression: str) -> Iterator[FileInfo]:
        token: str | None = None
        while True:
            request = files_pb2.ListFilesRequest(limit=100, filter=expression)
            if token:
                request.pagination_token = token
            with rpc.translate("list files", target=target, timeout=timeout):
                reply = stub.ListFiles(request, timeout=timeout)
            yield from (FileInfo.from_pb(message) for message in reply.data)
            token = reply.pagination_token if reply.HasField("pagination_token") else None
            if not token or not reply.data:
                return

    return run


# -- around each upload --------------------------------------------------------------------------------
@dataclass
class Ticket:
    """One upload under way: its pending row and the path it is read from (None for a stream)."""

    pending_id: int | None
    path: Path | None


class UploadJournal:
    """Writes the index around uploads: pending before, stored after, pending removed when
    nothing can have been stored (the read never reached the end, or the server refused it)."""

    def __init__(self, index: UploadIndex) -> None:
        self.index = index

    def started(self, item_path: Path | None, name: str, src: HashingSource) -> Ticket:
        path = _absolute(item_path) if item_path is not None else None
        pending_id = self.index.begin(path=path, name=name, size=src.size)
        return Ticket(pending_id, path)

    def stored(self, ticket: Ticket, src: HashingSource, info: FileInfo) -> str:
        """Record the stored file; returns the SHA-256 of what was sent."""
        sha = src.hexdigest()
        stat = src.opened_stat if ticket.path is not None else None
        self.index.record(
            info,
            sha,
            path=ticket.path,
            stat=stat,
            read_at_ns=src.read_started_ns,
            pending_id=ticket.pending_id,
        )
        return sha

    def failed(self, ticket: Ticket, src: HashingSource, error: BaseException) -> None:
        if not (src.read_to_end and _may_have_been_stored(error)):
            self.index.end([ticket.pending_id])

    def discarded(self, file_ids: Iterable[str]) -> None:
        """Files stored and deleted again after an interrupt."""
        for file_id in file_ids:
            self.index.forget(file_id)


def _may_have_been_stored(error: BaseException) -> bool:
    """After every byte was sent: could the server have stored the file despite `error`?"""
    if isinstance(error, (UnavailableError, Interrupted, InternalError)):
        return True
    return not isinstance(error, XaiError)
