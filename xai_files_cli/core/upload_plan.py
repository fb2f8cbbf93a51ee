"""What to do with each file of an upload, and the index bookkeeping around each upload.

`UploadPlanner` decides, per file, `upload` or `skip` (with `--skip-existing`):
- skip when the index knows a file of this profile with the same name, size and SHA-256 and the
  server confirms it (it still exists, same name and size, not expired);
- skip when a run that was killed left a pending row for this name and size, and the server holds
  a file of that name and size created after that run started whose content equals the local
  file's (downloaded and hashed: content decides); that file is then recorded as ours;
- upload otherwise: never seen, content changed, or the earlier upload was deleted or expired.

A file is hashed before its upload only when the index has a candidate to compare with; otherwise
the hash is taken during the upload (`core.content_hash`), or not at all for a large file sent by
`upload` without --manifest. A file whose stat equals the one recorded when it was last read is not
hashed again (`Snapshot.known_digest`), and it matches a file uploaded from it without a hash; a
file uploaded without a hash whose stat no longer tells is compared with the stored bytes
(downloaded and hashed once: its digest is remembered). The index is read once per run
(a `Snapshot`) and what the checks learn is written back in one transaction.

`UploadJournal` writes the index around each upload: a pending row before the first byte, the
stored file (replacing the pending row) once the server answered, and the pending row is removed
when nothing can have been stored. A run killed in between leaves the pending row for the planner.
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import grpc

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.core import rpc
from xai_files_cli.core.content_hash import UNKNOWN_DIGEST, HashingSource, HashSink, hash_file
from xai_files_cli.core.files import FilesClient
from xai_files_cli.core.records import FileInfo, UploadItem, epoch_seconds, rfc3339
from xai_files_cli.core.upload_index import (
    Fingerprint,
    IndexEntry,
    IndexWriter,
    Op,
    PendingEntry,
    Snapshot,
    UploadIndex,
    begin_many_op,
    begin_op,
    digest_op,
    end_op,
    expiry_ns,
    forget_op,
    path_key,
    record_many_op,
    record_op,
    refresh_op,
    upload_row,
)
from xai_files_cli.errors import (
    InternalError,
    Interrupted,
    NotFoundError,
    RejectedError,
    UnavailableError,
    XaiError,
)

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

# A killed run's file is looked for among files created from this long before the run started,
# in case the server's clock is behind ours (content is compared, so a wider window is safe).
CLOCK_SKEW_NS = 120 * 1_000_000_000
PLAN_WORKERS = 16  # files checked at once (hashing releases the GIL; the checks wait on the server)
# From this many files to check with the server, one look at its newest files (PAGE per call)
# replaces a call per file.
SCAN_FROM = 8
PAGE = 100
# Without pending rows, the remembered files are asked about in windows of their creation times
# (about WINDOW files each), read at once: one round trip of latency instead of one per page. Stored
# times are floats (sub-microsecond error): each window is widened by EDGE_NS, but never into the
# next window (files a batch uploaded at once are created within microseconds of each other).
WINDOW = 90
EDGE_NS = 1_000_000
HASH_IN_THREADS_FROM = 8 * 1024 * 1024  # bytes to hash before a run's hashing is spread over threads

UPLOAD, SKIP = "upload", "skip"
T = TypeVar("T")


class PlanEntry(NamedTuple):
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


class UploadPlanner:
    """Decides upload or skip for each file; with `dry_run` it never writes the index.

    With --skip-existing, a run's checks go in three steps: each file is looked at locally (stat,
    index rows, hash when there is something to compare with); the server is asked once about all
    of them (the newest files, back to the oldest candidate: a few ListFiles pages instead of one
    call per file, within a page budget, then single gets for what the pages did not reach); then
    each file is decided.
    """

    def __init__(
        self, index: UploadIndex, client: FilesClient, server: ServerFiles, *, dry_run: bool = False
    ) -> None:
        self._index = index
        self._client = client
        self._server = server
        self._dry_run = dry_run

    def plan_all(self, items: list[UploadItem], *, skip_existing: bool) -> list[PlanEntry]:
        """A decision per item, in the items' order."""
        if not skip_existing:
            return [_unchecked(item) for item in items]
        names = [item.filename for item in items if _is_text(item.filename)]
        paths = [_absolute(item.path) for item in items]
        keys = [path_key(path) for path in paths]
        snapshot = self._index.snapshot(names, keys=keys)
        # Without pending rows, the server is asked right away about the newest upload of each name
        # (a re-run's unchanged file), and answers while the files are looked at and hashed.
        early = None
        if not snapshot.pending:
            guessed = [entry.uploaded_at_ns for entry in snapshot.newest_by_name(time.time_ns())]
            early = self._ask_server(guessed, [])
        # A stat each; most end here on a first run.
        checks = [_look(*looked, snapshot) for looked in zip(items, paths, keys, strict=True)]
        writes: list[Op] = []  # list.append is atomic: the workers share it
        # Only hashing (of more than a few MB) and calls to the server go to worker threads; the rest
        # is quicker done in this thread.
        unhashed = [i for i, check in enumerate(checks) if not (check.early or check.sha)]
        hashing = sum(checks[i].size or 0 for i in unhashed)
        # Otherwise it is asked while the files are hashed, about the files each check will most
        # likely need (see `_likely`). Either way, asked again only if the digests then want others.
        started = [p.started_at_ns - CLOCK_SKEW_NS for check in checks for p in check.pending]
        if early is None:
            guessed = _created(checks, _likely)
        with _background(bool(unhashed) and early is None) as background:
            asked = early or self._ask_server(guessed, started, background)
            with _workers(len(unhashed) if hashing > HASH_IN_THREADS_FROM else 0) as workers:
                hashed = workers.map(_hashed, [checks[i] for i in unhashed])
            for i, check in zip(unhashed, hashed, strict=True):
                checks[i] = check
            view = asked()
        needed = _created(checks, _needed)
        if not {created for created in needed if not view.covers(created)} <= set(guessed):
            view = self._ask_server(needed, started)()
        remote = {i for i, check in enumerate(checks) if self._needs_server(check, view)}
        plan = {i: self._decide(check, view, writes) for i, check in enumerate(checks) if i not in remote}
        with _workers(len(remote)) as workers:
            order = sorted(remote)
            plan.update(
                zip(order, workers.map(lambda i: self._decide(checks[i], view, writes), order), strict=True)
            )
        if not self._dry_run:
            self._index.apply(writes)
        return [plan[i] for i in range(len(checks))]

    @staticmethod
    def _needs_server(check: _Check, view: _ServerView) -> bool:
        """Whether deciding `check` takes a call of its own (a get, a filtered list, a download)."""
        if check.early is not None:
            return False
        if check.pending or check.unknown:  # a filtered list, or a download to compare content with
            return True
        return not all(view.covers(entry.uploaded_at_ns) for entry in check.same)

    def plan(self, item: UploadItem, *, skip_existing: bool) -> PlanEntry:
        return self.plan_all([item], skip_existing=skip_existing)[0]

    def _ask_server(
        self, created: list[int], started: list[int], background: _Threads | None = None
    ) -> Callable[[], _ServerView]:
        """Start asking for the server's files created at the times `created` (of remembered files),
        or (with `started`: the start times of pending rows, less the clock skew) from the oldest of
        them up to now; the returned callable waits for the answer. Windows are asked for at once,
        without a thread; a scan runs on `background` (None: now)."""
        if len(created) + len(started) < SCAN_FROM:
            unasked = _ServerView(asked=False)
            return lambda: unasked
        if started:
            return (background or _background(False)).run(self._scan, created, started)
        windows = self._ask_in_windows(sorted(created))

        def view() -> _ServerView:
            try:
                return windows()
            except RejectedError:  # a server without fractional times: one scan
                return self._scan(created, started)

        return view

    def _scan(self, created: list[int], started: list[int]) -> _ServerView:
        """The server's newest files, back to the oldest of `created` and `started`: up to when the
        newest of `created` was, or (with `started`: a killed run's files may have been created
        since) up to now."""
        until = None if started else max(created) + 1_000_000_000
        budget = _budget(len(created) + len(started))
        since = min(created + started) - 1_000_000_000
        files, covered = self._server.newest(since_ns=since, until_ns=until, max_pages=budget)
        return _ServerView(asked=True, files=files, windows=[(since, until, covered or since)])

    def _ask_in_windows(self, created: list[int]) -> Callable[[], _ServerView]:
        """Start reading the files created in windows around `created` (sorted), all windows at
        once; the returned callable waits for them (RejectedError if the server refuses one)."""
        spans = _windows(created)
        read = self._server.windows(spans)

        def view() -> _ServerView:
            results = read()
            windows: list[tuple[int, int | None, int]] = [
                (since, until, covered or since)
                for (since, until, _), (_, covered) in zip(spans, results, strict=True)
            ]
            return _ServerView(
                asked=True, files=(info for found, _ in results for info in found), windows=windows
            )

        return view

    def _decide(self, check: _Check, view: _ServerView, writes: list[Op]) -> PlanEntry:
        if check.early is not None:
            return check.early
        started = time.perf_counter()
        action, reason, existing = self._conclude(check, view, writes)
        seconds = check.seconds + time.perf_counter() - started
        return PlanEntry(check.item, action, reason, check.size, check.sha, existing, seconds)

    def _conclude(
        self, check: _Check, view: _ServerView, writes: list[Op]
    ) -> tuple[str, str, FileInfo | None]:
        """The action, its reason, and the live file a skip stands for."""
        item, size, sha = check.item, check.size, check.sha
        assert size is not None and sha is not None and check.stat is not None
        read_at, path = check.read_at_ns, check.path or _absolute(item.path)
        for entry in check.same:
            info = self._confirm(entry, view, read_at)
            if info is None:
                writes.append(forget_op(entry.file_id))
                continue
            if not _recorded_as_is(entry, info, check):
                writes.append(refresh_op(entry.file_id, info, path=path, stat=check.stat, read_at_ns=read_at))
            if entry.sha256 == UNKNOWN_DIGEST:  # uploaded without a hash: its content is known now
                writes.append(digest_op(entry.file_id, sha))
            return SKIP, f"unchanged: uploaded as {info.id}", info
        for entry in check.unknown:  # uploaded without a hash, and the stat no longer tells
            info = self._confirm(entry, view, read_at)
            stored = self._content_of(entry.file_id) if info is not None else None
            if info is None or stored is None:
                writes.append(forget_op(entry.file_id))
                continue
            writes.append(digest_op(entry.file_id, stored))  # compared by its digest from now on
            if stored == sha:
                writes.append(refresh_op(entry.file_id, info, path=path, stat=check.stat, read_at_ns=read_at))
                return SKIP, f"unchanged: uploaded as {entry.file_id}", info
        if check.pending:
            adopted = self._adopt(item.filename, size, sha, check.pending, view)
            for run in {p.run for p in check.pending}:  # each row named with its run (see `end_op`)
                writes.append(end_op([p.id for p in check.pending if p.run == run], run))
            if adopted is not None:
                writes.append(record_op(adopted, sha, path=path, stat=check.stat, read_at_ns=read_at))
                return SKIP, f"stored by an interrupted run as {adopted.id}", adopted
        if check.same:
            return UPLOAD, f"earlier upload {check.same[0].file_id} deleted or expired", None
        if check.entries:
            return UPLOAD, f"content changed since {check.entries[0].file_id}", None
        return UPLOAD, "not uploaded before", None

    def _confirm(self, entry: IndexEntry, view: _ServerView, now_ns: int) -> FileInfo | None:
        """The server's metadata of a remembered file when it is still live and the same file."""
        if entry.expired(now_ns):
            return None
        if view.covers(entry.uploaded_at_ns):
            info = view.by_id.get(entry.file_id)
        else:
            try:
                info = self._client.get(entry.file_id)
            except NotFoundError:
                info = None
        if info is None or (info.size, info.filename) != (entry.size, entry.name) or _expired(info, now_ns):
            return None
        return info

    def _adopt(
        self, name: str, size: int, sha: str, pending: tuple[PendingEntry, ...], view: _ServerView
    ) -> FileInfo | None:
        """A file stored by a killed run (found by name, size and creation time, then compared by
        content), which the caller records as ours."""
        since = min(p.started_at_ns for p in pending) - CLOCK_SKEW_NS
        if view.covers(since):
            found = [f for f in view.files if (f.filename, f.size) == (name, size) and _ns(f) >= since]
        else:
            found = self._server.matching(
                f'name = "{_quoted(name)}" AND size_bytes = {size} AND created_at >= "{_rfc3339(since)}"'
            )
        now = time.time_ns()
        found = [info for info in found if not _expired(info, now)]
        known = self._index.known_ids([info.id for info in found])
        for info in found:
            if info.id not in known and self._content_of(info.id) == sha:
                return info
        return None

    def _content_of(self, file_id: str) -> str | None:
        sink = HashSink()
        try:
            self._client.download(file_id, sink)
        except NotFoundError:
            return None
        return sink.digest


class _Check:
    """What the local look at one file found; `early` is the decision when no server is needed.
    (A plain class with slots: a run makes one or two per file, and a dataclass costs half a
    millisecond at import.)

    `same`: the remembered files with this content, by digest or by the stat of the path.
    `unknown`: remembered files uploaded without a hash that the stat cannot vouch for (their
    content is compared with the stored bytes).
    """

    __slots__ = (
        "early",
        "entries",
        "item",
        "path",
        "pending",
        "read_at_ns",
        "same",
        "seconds",
        "sha",
        "size",
        "stat",
        "unchanged",
        "unknown",
    )

    def __init__(
        self,
        item: UploadItem,
        seconds: float,
        early: PlanEntry | None = None,
        size: int | None = None,
        stat: os.stat_result | None = None,
        sha: str | None = None,
        read_at_ns: int = 0,
        entries: tuple[IndexEntry, ...] = (),
        pending: tuple[PendingEntry, ...] = (),
        unchanged: frozenset[str] = frozenset(),  # files uploaded from this path, whose stat it still has
        path: Path | None = None,  # absolute
    ) -> None:
        self.item, self.seconds, self.early, self.size, self.stat = item, seconds, early, size, stat
        self.sha, self.read_at_ns, self.entries, self.pending = sha, read_at_ns, entries, pending
        self.unchanged, self.path = unchanged, path
        self.same = [e for e in entries if (e.sha256 and e.sha256 == sha) or e.file_id in unchanged]
        self.unknown = [e for e in entries if e.sha256 == UNKNOWN_DIGEST and e.file_id not in unchanged]

    def replaced(self, **changes: Any) -> _Check:
        """A copy with `changes` (`same` and `unknown` worked out again)."""
        given = {name: getattr(self, name) for name in self.__slots__ if name not in ("same", "unknown")}
        return _Check(**{**given, **changes})


def _created(checks: list[_Check], candidates: Callable[[_Check], Iterable[IndexEntry]]) -> list[int]:
    """The creation times of the live `candidates` of each check."""
    now = time.time_ns()
    return [entry.uploaded_at_ns for c in checks for entry in candidates(c) if not entry.expired(now)]


def _needed(check: _Check) -> list[IndexEntry]:
    """The remembered files deciding `check` asks the server about."""
    return [*check.same, *check.unknown]


def _likely(check: _Check) -> list[IndexEntry]:
    """`_needed`, guessed before the file is hashed: the newest file remembered with its name and
    size (a re-run's unchanged file) and those whose content is compared anyway."""
    if check.sha is not None or not check.entries:
        return _needed(check)
    return [check.entries[0], *(e for e in check.unknown if e is not check.entries[0])]


def _recorded_as_is(entry: IndexEntry, info: FileInfo, check: _Check) -> bool:
    """Whether the index row of `entry` already says what a refresh would write: the row was read
    from this path with the stat it still has (the same rule that lets the stat stand for the
    content) and the server's expiry is the one recorded. Then a re-run writes nothing for it."""
    return entry.file_id in check.unchanged and expiry_ns(info) == entry.expires_at_ns


def _look(item: UploadItem, path: Path, key: str, snapshot: Snapshot) -> _Check:
    """Stat the file and find its index rows; a known digest when its stat says it is unchanged
    (`path` is absolute, `key` its `path_key`)."""
    started = time.perf_counter()

    def early(reason: str, size: int | None) -> _Check:
        seconds = time.perf_counter() - started
        return _Check(item, seconds, early=PlanEntry(item, UPLOAD, reason, size, seconds=seconds))

    try:
        st = os.stat(item.path)
    except OSError as error:
        return early(f"cannot read: {error.strerror or error}", None)
    size, name = st.st_size, item.filename
    if not _is_text(name):  # the upload refuses it (exit 2) before anything is sent
        return early("the name is not valid UTF-8", size)
    entries, pending = snapshot.entries_for(name, size), snapshot.pending_for(name, size)
    if not entries and not pending:
        return early("not uploaded before", size)
    read_at = time.time_ns()
    fingerprint = Fingerprint.of(st)
    sha, unchanged = snapshot.vouched_for_key(key, fingerprint)
    seconds = time.perf_counter() - started
    return _Check(
        item,
        seconds,
        size=size,
        stat=st,
        sha=sha,
        read_at_ns=read_at,
        entries=tuple(entries),
        pending=tuple(pending),
        unchanged=unchanged,
        path=path,
    )


def _hashed(check: _Check) -> _Check:
    """The check with the file's content hashed (or an early upload when it cannot be read)."""
    started = time.perf_counter()
    item = check.item
    try:
        sha, st = hash_file(item.path)
    except OSError as error:
        reason, size = f"cannot read: {error}", check.size
    else:
        if st.st_size == check.size:
            return check.replaced(sha=sha, stat=st, seconds=check.seconds + time.perf_counter() - started)
        reason, size = "changed while checked", st.st_size
    seconds = check.seconds + time.perf_counter() - started
    return check.replaced(early=PlanEntry(item, UPLOAD, reason, size, seconds=seconds))


class _Threads:
    """Work on `size` threads of a pool (imported only when a run needs one: a re-run seldom does),
    or in this thread when `size` is 0. On leaving after Ctrl-C, work under way finishes on its own
    and none starts."""

    def __init__(self, size: int, name: str) -> None:
        self._pool: ThreadPoolExecutor | None = None
        if size > 0:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(size, thread_name_prefix=name)

    def map(self, work: Callable[[Any], Any], values: list[Any]) -> list[Any]:
        return list(self._pool.map(work, values) if self._pool is not None else map(work, values))

    def run(self, work: Callable[..., T], *args: Any) -> Callable[[], T]:
        """Start `work(*args)`; the returned callable gives its result (or raises what it raised)."""
        if self._pool is None:
            result = work(*args)
            return lambda: result
        return self._pool.submit(work, *args).result

    def __enter__(self) -> _Threads:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=kind is None, cancel_futures=True)


def _workers(busy: int) -> _Threads:
    """Threads to check files on when there are several to check, else this thread."""
    return _Threads(PLAN_WORKERS if busy > 1 else 0, "xai-plan")


def _background(wanted: bool) -> _Threads:
    """A thread of its own for one piece of work when `wanted` (the caller has other work meanwhile),
    else this thread."""
    return _Threads(1 if wanted else 0, "xai-plan-ask")


class _ServerView:
    """What a look at the server's files showed: `asked` False when it was not worth it (few files
    to check); else the files created in each window (since, until or None for now, complete from):
    a file of interest created in a window at or after its `complete from` and missing from `files`
    is gone."""

    def __init__(
        self,
        asked: bool,
        files: Iterable[FileInfo] = (),
        windows: Iterable[tuple[int, int | None, int]] = (),
    ) -> None:
        self.asked = asked
        self.by_id = {info.id: info for info in files}
        self.files = list(self.by_id.values())
        # The complete part of each window, merged into disjoint spans (starts ascending), so that
        # `covers` is one bisection however many windows and files there are.
        self._starts: list[int] = []
        self._ends: list[float] = []
        spans = sorted(
            (max(since, complete), math.inf if until is None else until) for since, until, complete in windows
        )
        for start, end in spans:
            if start > end:
                continue
            if self._ends and start <= self._ends[-1]:
                self._ends[-1] = max(self._ends[-1], end)
            else:
                self._starts.append(start)
                self._ends.append(end)

    def covers(self, created_ns: int) -> bool:
        """Whether a file created at `created_ns` would be in `files` if it were live."""
        at = bisect.bisect_right(self._starts, created_ns) - 1
        return self.asked and at >= 0 and created_ns <= self._ends[at]


class ServerFiles:
    """The ListFiles calls the planner makes, on a channel of the client's (blocking stub)."""

    def __init__(self, channel: grpc.Channel, *, timeout: float, target: str | None = None) -> None:
        self._stub = files_pb2_grpc.FilesStub(channel)
        self._timeout = timeout
        self._target = target

    def matching(self, expression: str) -> list[FileInfo]:
        """Every file the server's `filter` expression selects; a server that refuses the filter
        is read newest first instead, to the end (RejectedError only if that fails too)."""
        try:
            request = files_pb2.ListFilesRequest(limit=PAGE, filter=expression)
            return [info for page in self._pages(request) for info in page]
        except RejectedError:
            found, _ = self.newest(since_ns=0, max_pages=None)
            return found

    def newest(
        self, *, since_ns: int, until_ns: int | None = None, max_pages: int | None, exact: bool = False
    ) -> tuple[list[FileInfo], int | None]:
        """Files created from `since_ns` to `until_ns` (None: now), newest first, reading at most
        `max_pages` pages; and None when that reached `since_ns`, else the creation time after
        which it is complete. The window goes to the server as a `filter` (whole seconds, widened;
        `exact`: to the microsecond, widened); a server that refuses it is read from its newest file,
        unless `exact` (then RejectedError)."""
        request = _window_request(since_ns, until_ns, exact=exact)
        pages = self._pages(request)
        try:
            first = next(pages)
        except RejectedError:
            if exact:
                raise
            request.ClearField("filter")
            pages = self._pages(request)
            first = next(pages)
        return _created_within(itertools.chain([first], pages), since_ns, until_ns, max_pages)

    def windows(
        self, spans: Sequence[tuple[int, int, int]]
    ) -> Callable[[], list[tuple[list[FileInfo], int | None]]]:
        """`newest(exact=True)` of each window (since, until, max_pages), all at once: the first
        page of every window is asked for now, as gRPC futures (no thread each); the returned
        callable waits for them, reads any further pages, and gives each window's result in
        turn (RejectedError when the server refuses a window)."""
        requests = [_window_request(since, until, exact=True) for since, until, _ in spans]
        firsts = [self._stub.ListFiles.future(request, timeout=self._timeout) for request in requests]

        def results() -> list[tuple[list[FileInfo], int | None]]:
            try:
                return [
                    _created_within(self._pages(request, first), since, until, budget)
                    for request, first, (since, until, budget) in zip(requests, firsts, spans, strict=True)
                ]
            finally:  # after a failure (or Ctrl-C), the calls still under way are not waited for
                for first in firsts:
                    first.cancel()

        return results

    def _pages(
        self, request: files_pb2.ListFilesRequest, first: grpc.Future | None = None
    ) -> Iterator[list[FileInfo]]:
        """The files of each page in turn, following the pagination tokens; the first page is
        `first`'s reply when that call was started already."""
        while True:
            with rpc.translate("list files", target=self._target, timeout=self._timeout):
                if first is not None:
                    reply, first = first.result(), None
                else:
                    reply = self._stub.ListFiles(request, timeout=self._timeout)
            yield [FileInfo.from_pb(message) for message in reply.data]
            token = reply.pagination_token if reply.HasField("pagination_token") else None
            if not token or not reply.data:
                return
            request.pagination_token = token


def _window_request(since_ns: int, until_ns: int | None, *, exact: bool) -> files_pb2.ListFilesRequest:
    """A request for the files created from `since_ns` to `until_ns` (None: now), newest first."""
    window = f'created_at >= "{_rfc3339(since_ns, up=False, exact=exact)}"'
    if until_ns is not None:
        window += f' AND created_at <= "{_rfc3339(until_ns, up=True, exact=exact)}"'
    return files_pb2.ListFilesRequest(
        limit=PAGE, order=files_pb2.DESCENDING, sort_by=files_pb2.FILES_SORT_BY_CREATED_AT, filter=window
    )


def _created_within(
    pages: Iterable[list[FileInfo]], since_ns: int, until_ns: int | None, max_pages: int | None
) -> tuple[list[FileInfo], int | None]:
    """The files of newest-first `pages` created from `since_ns` to `until_ns`, reading at most
    `max_pages` pages; and None when that reached `since_ns`, else the creation time after which
    the result is complete."""
    found: list[FileInfo] = []
    for number, page in enumerate(pages, start=1):
        for info in page:
            created = _ns(info)
            if created < since_ns:
                return found, None
            if until_ns is None or created <= until_ns:
                found.append(info)
        if max_pages is not None and number >= max_pages:
            last = _ns(page[-1]) if page else since_ns
            return found, last + 1  # files created at `last` itself may go on over the next page
    return found, None


def _ns(info: FileInfo) -> int:
    return int(epoch_seconds(info.created_at) * 1_000_000_000)


def _rfc3339(ns: int, *, up: bool = False, exact: bool = False) -> str:
    """`ns` as an RFC 3339 UTC time in whole seconds (or, `exact`, microseconds), rounded down
    (or `up`)."""
    unit = 1_000 if exact else 1_000_000_000
    units = -(-ns // unit) if up else ns // unit
    seconds, micros = divmod(units * unit, 1_000_000_000)
    text = str(rfc3339(datetime.fromtimestamp(seconds, timezone.utc)))
    return f"{text[:-1]}.{micros // 1_000:06d}Z" if exact else text


def _windows(created: list[int]) -> list[tuple[int, int, int]]:
    """Windows (since, until, pages to read) around sorted creation times: WINDOW times each (more
    when several share a time: a window ends only between two different times), each reaching
    EDGE_NS beyond its first and last time but not past the midpoint to its neighbour's, so that
    no file is listed by two windows (which would take a page more)."""
    groups: list[list[int]] = []
    for created_ns in created:
        if groups and (len(groups[-1]) < WINDOW or created_ns == groups[-1][-1]):
            groups[-1].append(created_ns)
        else:
            groups.append([created_ns])
    spans = []
    for at, group in enumerate(groups):
        since, until = group[0] - EDGE_NS, group[-1] + EDGE_NS
        if at > 0:
            since = max(since, (groups[at - 1][-1] + group[0]) // 2 + 1)
        if at + 1 < len(groups):
            until = min(until, (group[-1] + groups[at + 1][0]) // 2)
        spans.append((since, until, _budget(len(group))))
    return spans


def _budget(files: int) -> int:
    """Pages to read for `files` files of interest: twice the pages they fill, and two more."""
    return 2 + 2 * -(-files // PAGE)


def _unchecked(item: UploadItem) -> PlanEntry:
    """The plan without --skip-existing: upload (its size, for the plan and the manifest)."""
    try:
        size: int | None = os.stat(item.path).st_size
    except OSError:
        size = None
    return PlanEntry(item, UPLOAD, "no --skip-existing", size)


def _expired(info: FileInfo, now_ns: int) -> bool:
    return info.expires_at is not None and epoch_seconds(info.expires_at) * 1e9 <= now_ns


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _absolute(path: Path) -> Path:
    """`path` as an absolute path without `..` (a `..` anywhere in its text, as in `a..b`, is only
    a cheaper test than splitting the path into parts: abspath keeps such a name as it is)."""
    return path if path.is_absolute() and ".." not in str(path) else Path(os.path.abspath(path))


def _quoted(text: str) -> str:
    """`text` inside a double-quoted filter string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


# -- around each upload --------------------------------------------------------------------------------
class Ticket(NamedTuple):
    """One upload under way: its pending row and the path it is read from (None for a stream), and
    that path as index text."""

    pending_id: int | None
    path: Path | None
    key: str | None = None


class UploadJournal:
    """Writes the index around uploads: pending before, stored after, the pending row removed when
    nothing can have been stored (the read never reached the end, or the server refused it).

    `prepare` writes the pending rows of a whole batch in one transaction before it starts, and
    `prepared` a group at a time as the batch takes its files; any other upload gets its row
    written (on the index's writer thread) when it starts, and waits for it. What follows an upload
    waits in memory and is written in the caller's thread: in the transaction of the next group's
    pending rows, or once GROUP_OPS writes (or files of GROUP_BYTES) are waiting or the oldest has
    waited GROUP_SECONDS. A batch of small files takes one transaction per group. (Written from a
    thread of its own, each SQLite call handed the GIL back and forth with the event loop: two thread
    switches per file.) `close` writes the rest and waits until everything is written. A run killed
    before a group was written leaves those files' pending rows, which the next --skip-existing run
    settles with the server.
    """

    GROUP_OPS = 256
    GROUP_BYTES = 8 * 1024 * 1024
    GROUP_SECONDS = 1.0  # a slow batch still records its stored files within about a second

    def __init__(self, index: UploadIndex) -> None:
        self._index = index
        self._writer = IndexWriter(index)
        # Prepared tickets by the id of their item (kept alive in the value, so no id is reused):
        # hashing an item costs more than the rest of looking it up.
        self._prepared: dict[int, tuple[UploadItem, Ticket]] = {}
        self._group: list[Op] = []
        self._records: list[tuple[Any, ...]] = []  # stored files waiting to be sent, in one statement
        self._recorded: list[int | None] = []  # their pending rows
        self._group_bytes = 0
        self._waiting_since = 0.0  # when the oldest waiting write came (monotonic seconds)

    def prepare(self, plan: Iterable[PlanEntry]) -> None:
        """The pending rows of the uploads of a batch, before any of them starts."""
        self._prepare_group([(e.item, e.size, e.sha256) for e in plan])

    def prepared(self, items: Sequence[UploadItem]) -> PreparedItems:
        """`items` handed out in groups of PREPARE_GROUP, each group's pending rows written (in one
        transaction) before the first of the group is handed out: every upload still has its row
        before its first byte, and the journal holds a group's tickets instead of the whole batch's."""
        return PreparedItems(self, items)

    def _prepare_group(self, group: list[tuple[UploadItem, int | None, str | None]]) -> None:
        """Write the pending rows of `group`, in one transaction with the writes waiting."""
        paths = [_absolute(item.path) for item, _, _ in group]
        keys = [path_key(path) for path in paths]
        rows = [(key, item.filename, size, sha) for (item, size, sha), key in zip(group, keys, strict=True)]
        waiting = self._take_waiting()
        begin = begin_many_op(self._index.run, rows, self._index.issued)
        ids = self._index.apply([*waiting, begin])[-1] or [None] * len(group)
        prepared = self._prepared
        for (item, _, _), path, key, pending_id in zip(group, paths, keys, ids, strict=True):
            prepared[id(item)] = (item, Ticket(pending_id, path, key))

    def started(
        self, item: UploadItem, src: HashingSource, *, stream: bool = False
    ) -> Ticket | Future[Ticket]:
        """The ticket of an upload about to start: its prepared pending row, or a future of one
        written now (resolved once it is); `stream` for stdin, which has no path."""
        prepared = self._prepared.pop(id(item), None)
        if prepared is not None:
            return prepared[1]
        ticket: Future[Ticket] = Future()
        path = None if stream else _absolute(item.path)
        index = self._index
        begin = begin_op(index.run, path=path, name=item.filename, size=src.size, issued=index.issued)
        written = self._writer.submit(begin)
        written.add_done_callback(lambda done: ticket.set_result(Ticket(done.result(), path)))
        return ticket

    def start(self, item: UploadItem, src: HashingSource, *, stream: bool = False) -> Ticket:
        """`started`, waiting for the pending row to be written."""
        ticket = self.started(item, src, stream=stream)
        return ticket.result() if isinstance(ticket, Future) else ticket

    def abandoned(self, ticket: Future[Ticket]) -> None:
        """The upload never started (cancelled while its pending row was written): remove the row."""
        run = self._index.run
        ticket.add_done_callback(lambda done: self._writer.submit(end_op([done.result().pending_id], run)))

    def stored(self, ticket: Ticket, src: HashingSource, info: FileInfo) -> str:
        """Record the stored file; returns the SHA-256 of what was sent."""
        sha = src.hexdigest()
        path = ticket.path
        key = ticket.key if ticket.key is not None or path is None else path_key(path)
        stat = src.opened_stat if path is not None else None
        self._records.append(upload_row(info, sha, key=key, stat=stat, read_at_ns=src.read_started_ns))
        self._recorded.append(ticket.pending_id)
        self._group_bytes += info.size
        self._send_if_full()
        return sha

    def failed(self, ticket: Ticket, src: HashingSource, error: BaseException) -> None:
        if not (src.read_to_end and _may_have_been_stored(error)):
            self._add(end_op([ticket.pending_id], self._index.run))

    def discarded(self, file_ids: Iterable[str]) -> None:
        """Files stored and deleted again after an interrupt."""
        for file_id in file_ids:
            self._add(forget_op(file_id))
        self._send()

    def close(self) -> None:
        """Remove the pending rows of prepared uploads that never started, and wait for every write."""
        if self._prepared:
            self._add(end_op([ticket.pending_id for _, ticket in self._prepared.values()], self._index.run))
            self._prepared.clear()
        self._send()
        self._writer.close()

    def _add(self, op: Op) -> None:
        self._group.append(op)
        self._send_if_full()

    def write_due(self) -> None:
        """Write the waiting writes if the oldest has waited GROUP_SECONDS: a batch calls this as it
        waits, so a record is written even when no other file finishes (one slow upload left)."""
        if (self._group or self._records) and time.monotonic() - self._waiting_since >= self.GROUP_SECONDS:
            self._send()

    def _send_if_full(self) -> None:
        waiting = len(self._group) + len(self._records)
        now = time.monotonic()
        if waiting == 1:
            self._waiting_since = now
        if (
            waiting >= self.GROUP_OPS
            or self._group_bytes >= self.GROUP_BYTES
            or now - self._waiting_since >= self.GROUP_SECONDS
        ):
            self._send()

    def _send(self) -> None:
        """Write the waiting writes now, in one transaction."""
        waiting = self._take_waiting()
        if waiting:
            self._index.apply(waiting)

    def _take_waiting(self) -> list[Op]:
        """The writes waiting, in order: the stored files first (a later op, such as forgetting a
        file deleted again after an interrupt, may be about one of them)."""
        group = self._group
        if self._records:
            group.insert(0, record_many_op(self._records, self._recorded, self._index.run))
        self._group, self._records, self._recorded, self._group_bytes = [], [], [], 0
        return group


class PreparedItems:
    """A batch's items with their pending rows written a group at a time, as they are handed out
    (see `UploadJournal.prepared`); `unprepared` is the plain sequence, to look at without writing."""

    GROUP = 256

    def __init__(self, journal: UploadJournal, items: Sequence[UploadItem]) -> None:
        self._journal = journal
        self.unprepared = items

    def __len__(self) -> int:
        return len(self.unprepared)

    def __iter__(self) -> Iterator[UploadItem]:
        items = iter(self.unprepared)
        while group := list(itertools.islice(items, self.GROUP)):
            self._journal._prepare_group([(item, _size_of(item.path), None) for item in group])
            yield from group


def _size_of(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _may_have_been_stored(error: BaseException) -> bool:
    """After every byte was sent: could the server have stored the file despite `error`?"""
    if isinstance(error, (UnavailableError, Interrupted, InternalError)):
        return True
    return not isinstance(error, XaiError)
