"""The upload index: what this profile uploaded to one host, kept in SQLite across runs.

One database per profile and host, in the user state dir (`XAI_STATE_DIR`, else platformdirs'
user_state_dir for "xai"), WAL journal, mode 0600. It never holds a key: only file ids, names,
sizes, SHA-256 digests, times, and the local path and stat each upload was read from.

- `uploads`: one row per stored file: content (sha256 + size) and name -> file id, expiry, upload
  time; plus the path and its stat at the time of the read, so an unchanged file need not be hashed
  again (see `Snapshot.known_digest`). The sha256 is empty for a file sent without a hash until a
  later check learns it (`digest_op`).
- `pending`: one row per upload under way, written before its first byte is sent (path, name,
  size, start time) and removed when the upload ends. A row left behind means a run was killed
  while the server may have stored the file; a later run reconciles it with the server
  (`core.upload_plan`) instead of uploading a duplicate.

Reads take a `Snapshot` of the rows a run needs in a few queries. Writes are `Op`s: `apply` runs
some in one transaction (a batch's, a group of files at a time: `upload_plan.UploadJournal`); an
`IndexWriter` runs them on a thread of its own with its own connection, as many per transaction
as are waiting, for the pending row of an upload outside a batch's groups.

The index is a help, never a requirement: if it cannot be opened, read or written (corrupt,
locked by another process for longer than LOCK_WAIT, unwritable dir), `warn` is called once and
from then on reads find nothing and writes do nothing. No upload is ever lost because of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import queue
import re
import sqlite3
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from xai_files_cli.core.file_clock import COARSE_MARGIN_NS, FINE_MARGIN_NS, racy_margin_ns
from xai_files_cli.core.records import FileInfo, RawTime, epoch_seconds

STATE_DIR_ENV = "XAI_STATE_DIR"
LOCK_WAIT = 5.0  # seconds to wait for another process's write before giving the index up
SCHEMA_VERSION = 1
# A stat is trusted to stand for unchanged content only when the file's last change is older than
# the read that hashed it by a margin: a write within the same timestamp tick would otherwise go
# unseen (git calls this the "racy" case). The margin follows the file's file system (see
# `core.file_clock`): 50 ms on a local nanosecond one, this much anywhere else.
RACY_MARGIN_NS = COARSE_MARGIN_NS
PENDING_KEPT_NS = 30 * 24 * 3600 * 1_000_000_000  # forget a pending row after 30 days
_QUERY_CHUNK = 500  # values per `IN (...)` list
# Pages each connection keeps in memory (SQLite's default is 2 MB): the index grows with every
# upload, and a cache that fills up to the default made a run's memory grow with the index's size.
# Its rows are read through indexes and appended, so a few hundred KiB hold what a run touches.
CACHE_KIB = 256
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# What a failing index raises: SQLite's errors, file system errors, and values SQLite cannot hold.
_INDEX_ERRORS = (sqlite3.Error, OSError, ValueError, OverflowError)

Warn = Callable[[str], None]
Op = Callable[[sqlite3.Connection], Any]  # one write, run inside a transaction
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    file_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at_ns INTEGER NOT NULL,
    expires_at_ns INTEGER,
    path TEXT,
    dev INTEGER,
    ino INTEGER,
    mtime_ns INTEGER,
    ctime_ns INTEGER,
    read_at_ns INTEGER
);
CREATE INDEX IF NOT EXISTS uploads_by_content ON uploads (name, size, sha256);
CREATE INDEX IF NOT EXISTS uploads_by_path ON uploads (path);
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL,
    path TEXT,
    name TEXT NOT NULL,
    size INTEGER,
    sha256 TEXT,
    started_at_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_by_name ON pending (name, size);
"""


def state_dir() -> Path:
    """`XAI_STATE_DIR` if set, else the platform's user state dir for `xai`: on Linux with an
    absolute `XDG_STATE_HOME`, `$XDG_STATE_HOME/xai` (the XDG rule, which platformdirs follows,
    without importing it: a few ms); else what platformdirs says."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME", "")
    if sys.platform.startswith("linux") and os.path.isabs(xdg):
        return Path(xdg) / "xai"
    import platformdirs

    return Path(platformdirs.user_state_dir("xai", appauthor=False))


def index_path(profile: str, host: str) -> Path:
    """`<state dir>/uploads/<profile>@<host>-<hash>.sqlite3`: one index per profile and host."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", host)[:80]
    digest = hashlib.sha256(f"{profile}\0{host}".encode()).hexdigest()[:10]
    return state_dir() / "uploads" / f"{profile}@{readable}-{digest}.sqlite3"


def path_key(path: Path) -> str:
    """A path as index text: its bytes as UTF-8, any byte that is not shown as `\\xNN`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


class Fingerprint(NamedTuple):
    """What a file's stat says about its content: equal fingerprints, unchanged content (see
    `Snapshot.known_digest` for when that holds). A tuple: a run makes one per file."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    dev: int

    @classmethod
    def of(cls, st: os.stat_result) -> Fingerprint:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class IndexEntry(NamedTuple):
    """A file this profile uploaded, as the index remembers it (a tuple: a run reads one per file)."""

    file_id: str
    name: str
    size: int
    sha256: str
    uploaded_at_ns: int
    expires_at_ns: int | None

    def expired(self, now_ns: int) -> bool:
        return self.expires_at_ns is not None and self.expires_at_ns <= now_ns


class PendingEntry(NamedTuple):
    """An upload that started and never reported how it ended (its run may have been killed)."""

    id: int
    run: str
    path: str | None
    name: str
    size: int | None
    sha256: str | None
    started_at_ns: int


class Snapshot:
    """The index rows a run needs, read once: by (name, size), and the digests by path."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, int], list[IndexEntry]] = defaultdict(list)
        self.pending: dict[tuple[str, int], list[PendingEntry]] = defaultdict(list)
        # path -> (stat when read, sha256 or "" when uploaded without a hash, read time, file id)
        self.digests: dict[str, list[tuple[Fingerprint, str, int, str]]] = defaultdict(list)

    def entries_for(self, name: str, size: int) -> list[IndexEntry]:
        """Files uploaded under `name` with `size` bytes, newest first."""
        return self.entries.get((name, size), [])

    def pending_for(self, name: str, size: int) -> list[PendingEntry]:
        """Pending rows of other runs for `name` with `size` bytes, oldest first."""
        return self.pending.get((name, size), [])

    def known_digest(self, path: Path, fingerprint: Fingerprint) -> str | None:
        """The SHA-256 of `path` as last read, when its stat says it has not changed since.

        The stat (size, mtime_ns, ctime_ns, inode, device) must equal the one taken when the file
        was read, and the file's last change must be older than that read by the racy margin of
        its file system (`core.file_clock.racy_margin_ns`: 50 ms on a local file system with
        nanosecond times, else 2 s); a content write always moves ctime, which no program can set
        back.
        """
        return self.vouched_for_key(path_key(path), fingerprint)[0]

    def vouched_for_key(self, key: str, fingerprint: Fingerprint) -> tuple[str | None, frozenset[str]]:
        """`known_digest` of the path whose `path_key` is `key`, and the ids of the files uploaded
        from it whose content it still holds by the same rule (also those uploaded without a hash)."""
        recorded = self.digests.get(key)
        if not recorded:
            return None, _NO_IDS
        still = [
            (sha, file_id) for was, sha, read_at, file_id in recorded if _unchanged(was, fingerprint, read_at)
        ]
        return next((sha for sha, _ in still if sha), None), frozenset(file_id for _, file_id in still)

    def newest_by_name(self, now_ns: int) -> list[IndexEntry]:
        """The newest live upload of each name (of any size)."""
        newest: dict[str, IndexEntry] = {}
        for entries in self.entries.values():
            live = next((entry for entry in entries if not entry.expired(now_ns)), None)
            if live is not None and live.uploaded_at_ns > getattr(
                newest.get(live.name), "uploaded_at_ns", -1
            ):
                newest[live.name] = live
        return list(newest.values())


_NO_IDS: frozenset[str] = frozenset()


def _unchanged(recorded: Fingerprint, now: Fingerprint, read_at_ns: int) -> bool:
    """Whether a file whose stat is `now` holds what was read at `read_at_ns` with stat `recorded`."""
    if recorded != now:
        return False
    age = read_at_ns - max(now.mtime_ns, now.ctime_ns)  # of the last change, when it was read
    if age > COARSE_MARGIN_NS:
        return True
    return age > FINE_MARGIN_NS and age > racy_margin_ns(now.dev, now.ctime_ns)


def _ns(moment: Any) -> int | None:
    """A time as nanoseconds since 1970, within SQLite's 64-bit integers (a time past 2262 is kept
    as the largest, which still compares as later than any real one)."""
    if moment is None:
        return None
    if isinstance(moment, RawTime):
        ns = moment.seconds * 1_000_000_000 + moment.nanos
    else:
        ns = int(epoch_seconds(moment) * 1_000_000_000)
    return max(_INT64_MIN, min(ns, _INT64_MAX))


# An upload's row as `_sort_into` reads it: its entry, then the path and stat it was read from.
_UPLOAD_COLUMNS = """file_id, name, size, sha256, uploaded_at_ns, expires_at_ns,
    path, mtime_ns, ctime_ns, ino, dev, read_at_ns"""


def _sort_into(found: Snapshot, rows: Iterable[tuple[Any, ...]], names: set[str], keys: set[str]) -> None:
    """`uploads` rows (`_UPLOAD_COLUMNS`) into the snapshot: an entry for each row of one of `names`
    (newest upload first), its digest for each row read from one of `keys` (newest read first)."""
    for row in sorted(rows, key=lambda row: row[4], reverse=True):
        file_id, name, size, sha, uploaded_at, expires_at, key, mtime, ctime, ino, dev, read_at = row
        if name in names:
            found.entries[(name, size)].append(IndexEntry(file_id, name, size, sha, uploaded_at, expires_at))
        if read_at is not None and key in keys:
            found.digests[key].append((Fingerprint(size, mtime, ctime, ino, dev), sha, read_at, file_id))
    for digests in found.digests.values():
        if len(digests) > 1:
            digests.sort(key=lambda digest: digest[2], reverse=True)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _pair_chunk(conn: sqlite3.Connection) -> int:
    """Values per list in a statement with two `IN (...)` lists: at most _QUERY_CHUNK, and half of
    what SQLite allows (999 variables before SQLite 3.32; Python 3.10 cannot ask)."""
    getlimit = getattr(conn, "getlimit", None)
    allowed = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit is not None else 999
    return max(1, min(_QUERY_CHUNK, allowed // 2))


def _chunks(values: Sequence[T], size: int = _QUERY_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class UploadIndex:
    """One profile+host's upload index; safe to share between threads (one connection, a lock).

    Every method swallows the index's own failures (see the module docstring).
    """

    def __init__(self, path: Path | None, *, warn: Warn | None = None) -> None:
        self.path = path
        self.run = os.urandom(8).hex()  # marks this process's pending rows
        self.issued = IssuedIds()  # the ids of the pending rows it wrote
        self._warn = warn
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._broken = path is None
        self._warned = False

    @property
    def usable(self) -> bool:
        return not self._broken

    # -- plumbing -----------------------------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        """A new connection to the index, its schema in place (sqlite3.Error or OSError if not)."""
        assert self.path is not None
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # private from its first byte
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = sqlite3.connect(self.path, timeout=LOCK_WAIT, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"made by a newer xai (schema {version})")
            if version < SCHEMA_VERSION:
                with transaction(conn):  # executescript would commit halfway: one statement each
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self.connect()
            _prune(self._conn)
        return self._conn

    def _safely(self, work: Callable[[sqlite3.Connection], T], fallback: T) -> T:
        """Run `work` on the connection; on any failure of the index warn once and give it up."""
        with self._lock:
            if self._broken:
                return fallback
            try:
                return work(self._connection())
            except _INDEX_ERRORS as error:
                self.give_up(error)
                return fallback

    def give_up(self, error: BaseException) -> None:
        """Stop using the index after `error`, with one warning."""
        with self._lock:
            self._broken = True
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
            if self._warn is None or self._warned:
                return
            self._warned = True
        locked = "locked" in str(error)
        reason = "it is locked by another process" if locked else str(error)
        self._warn(
            f"upload index {self.path} cannot be used ({reason}); carrying on without it: "
            "nothing is skipped or remembered in this run"
            + ("" if locked else "; remove the file to start a new index")
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def open(self) -> UploadIndex:
        """Open now, so a broken index is reported before any work starts."""
        self._safely(lambda conn: None, None)
        return self

    # -- reads --------------------------------------------------------------------------------------
    def snapshot(
        self, names: Iterable[str], paths: Iterable[Path] = (), *, keys: Iterable[str] = ()
    ) -> Snapshot:
        """The uploads and pending rows (of other runs) under `names`, and the digests of `paths`
        (and of the paths whose `path_key` is in `keys`)."""
        names = sorted(set(names))
        wanted = {path_key(path) for path in paths}.union(keys)

        def query(conn: sqlite3.Connection) -> Snapshot:
            found = Snapshot()
            rows: dict[str, tuple[Any, ...]] = {}  # one query per chunk of names and paths: a row once
            size = _pair_chunk(conn)
            pairs = itertools.zip_longest(_chunks(names, size), _chunks(sorted(wanted), size), fillvalue=())
            for name_part, key_part in pairs:
                rows.update(
                    (row[0], row)
                    for row in conn.execute(
                        f"SELECT {_UPLOAD_COLUMNS} FROM uploads "
                        f"WHERE name IN ({_marks(name_part)}) OR path IN ({_marks(key_part)})",
                        (*name_part, *key_part),
                    )
                )
            for part in _chunks(names):
                for row in conn.execute(
                    "SELECT id, run, path, name, size, sha256, started_at_ns FROM pending "
                    f"WHERE name IN ({_marks(part)}) AND run != ? ORDER BY started_at_ns",
                    (*part, self.run),
                ):
                    found.pending[(row[3], row[4])].append(PendingEntry(*row))
            _sort_into(found, rows.values(), set(names), wanted)
            return found

        return self._safely(query, Snapshot())

    def known_ids(self, file_ids: Sequence[str]) -> set[str]:
        """Which of `file_ids` the index already holds."""

        def query(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for part in _chunks(file_ids):
                marks = ",".join("?" * len(part))
                rows = conn.execute(f"SELECT file_id FROM uploads WHERE file_id IN ({marks})", tuple(part))
                found.update(row[0] for row in rows)
            return found

        return self._safely(query, set()) if file_ids else set()

    # -- writes -------------------------------------------------------------------------------------
    def apply(self, ops: Sequence[Op]) -> list[Any]:
        """Run `ops` in one transaction; their results (all None when the index is unusable)."""
        if not ops:
            return []

        def write(conn: sqlite3.Connection) -> list[Any]:
            with transaction(conn):
                return [op(conn) for op in ops]

        return self._safely(write, [None] * len(ops))


def _prune(conn: sqlite3.Connection) -> None:
    """Drop rows that can no longer matter: expired uploads, very old pending rows."""
    now = time.time_ns()
    with transaction(conn):
        conn.execute("DELETE FROM uploads WHERE expires_at_ns IS NOT NULL AND expires_at_ns <= ?", (now,))
        conn.execute("DELETE FROM pending WHERE started_at_ns < ?", (now - PENDING_KEPT_NS,))


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# -- writes ----------------------------------------------------------------------------------------------
_INSERT_UPLOAD = "INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def record_op(
    info: FileInfo,
    sha256: str,
    *,
    path: Path | None,
    stat: os.stat_result | None,
    read_at_ns: int,
) -> Op:
    """Remember a stored file (one that has no pending row of this run: see `record_many_op`)."""
    key = path_key(path) if path is not None else None
    row = upload_row(info, sha256, key=key, stat=stat, read_at_ns=read_at_ns)
    return lambda conn: conn.execute(_INSERT_UPLOAD, row)


def upload_row(
    info: FileInfo, sha256: str, *, key: str | None, stat: os.stat_result | None, read_at_ns: int
) -> tuple[Any, ...]:
    """The `uploads` row of a stored file read from the path whose `path_key` is `key` (None: a
    stream, whose stat is not kept)."""
    if stat is None or key is None:
        where: tuple[Any, ...] = (None,) * 5
    else:
        where = (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, read_at_ns)
    created = _ns(info.created_at) or time.time_ns()
    return (info.id, info.filename, info.size, sha256, created, _ns(info.expires_at), key, *where)


def record_many_op(rows: Sequence[tuple[Any, ...]], pending_ids: Sequence[int | None], run: str) -> Op:
    """Remember stored files (`upload_row`s) and end their pending rows (of `run`), a statement for all."""
    ended = end_op(pending_ids, run)

    def op(conn: sqlite3.Connection) -> None:
        conn.executemany(_INSERT_UPLOAD, rows)
        ended(conn)

    return op


def expiry_ns(info: FileInfo) -> int | None:
    """A file's expiry as the index stores it (None: never)."""
    return _ns(info.expires_at)


def refresh_op(file_id: str, info: FileInfo, *, path: Path, stat: os.stat_result, read_at_ns: int) -> Op:
    """After the server confirmed a file: its current expiry, and the stat of the path just read."""
    fp = Fingerprint.of(stat)
    values = (
        expiry_ns(info),
        path_key(path),
        fp.dev,
        fp.ino,
        fp.mtime_ns,
        fp.ctime_ns,
        read_at_ns,
        file_id,
    )
    return lambda conn: conn.execute(
        "UPDATE uploads SET expires_at_ns = ?, path = ?, dev = ?, ino = ?, mtime_ns = ?, ctime_ns = ?, "
        "read_at_ns = ? WHERE file_id = ?",
        values,
    )


def digest_op(file_id: str, sha256: str) -> Op:
    """The SHA-256 of a file that was uploaded without one, once it is known."""
    values = (sha256, file_id)
    return lambda conn: conn.execute(
        "UPDATE uploads SET sha256 = ? WHERE file_id = ? AND sha256 = ''", values
    )


def forget_op(file_id: str) -> Op:
    """The server no longer has this file (deleted, expired, or another account's)."""
    return lambda conn: conn.execute("DELETE FROM uploads WHERE file_id = ?", (file_id,))


class IssuedIds:
    """The pending-row ids one process gave out, so it never gives one out twice: another run's
    planner may remove rows of this run (it settles pending rows it takes for a killed run's), and
    the next id after the largest left would then be one this run still holds."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = 0

    def take(self, conn: sqlite3.Connection, count: int) -> list[int]:
        """`count` ids after the largest in the table and after any given out before (call inside a
        write transaction: no other writer can take them meanwhile)."""
        largest = conn.execute("SELECT coalesce(max(id), 0) FROM pending").fetchone()[0]
        first = max(largest, self.last) + 1
        self.last = first + count - 1
        return list(range(first, first + count))


def begin_op(
    run: str,
    *,
    path: Path | None,
    name: str,
    size: int | None,
    issued: IssuedIds,
    sha256: str | None = None,
) -> Op:
    """The pending row of an upload about to start; the op returns the row's id."""
    row = (run, path_key(path) if path is not None else None, name, size, sha256, time.time_ns())

    def op(conn: sqlite3.Connection) -> int:
        (row_id,) = issued.take(conn, 1)
        conn.execute(
            "INSERT INTO pending (id, run, path, name, size, sha256, started_at_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row_id, *row),
        )
        return row_id

    return op


def begin_many_op(
    run: str, rows: Sequence[tuple[str | None, str, int | None, str | None]], issued: IssuedIds
) -> Op:
    """The pending rows (path key, name, size, sha256) of uploads about to start, in one statement;
    the op returns their ids, in order (see `IssuedIds`)."""
    started = time.time_ns()

    def op(conn: sqlite3.Connection) -> list[int]:
        ids = issued.take(conn, len(rows))
        conn.executemany(
            "INSERT INTO pending (id, run, path, name, size, sha256, started_at_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(row_id, run, *row, started) for row_id, row in zip(ids, rows, strict=True)],
        )
        return ids

    return op


def end_op(pending_ids: Sequence[int | None], run: str) -> Op:
    """Remove pending rows of `run`: their uploads ended without storing anything, or were
    reconciled. A row is named by its id and its run: an id another run freed may be taken again."""
    ids = [i for i in pending_ids if i is not None]

    def op(conn: sqlite3.Connection) -> None:
        for part in _chunks(ids):
            conn.execute(f"DELETE FROM pending WHERE run = ? AND id IN ({_marks(part)})", (run, *part))

    return op


class IndexWriter:
    """Runs write ops on a thread of its own (its own connection), every op waiting when a
    transaction starts going into it; `submit` returns a Future of the op's result (None when the
    index is unusable). `close` waits for every op submitted."""

    def __init__(self, index: UploadIndex) -> None:
        self._index = index
        self._queue: queue.SimpleQueue[tuple[Op, Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, op: Op) -> Future[Any]:
        future: Future[Any] = Future()
        if not self._index.usable:
            future.set_result(None)
            return future
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xai-index", daemon=True)
            self._thread.start()
        self._queue.put((op, future))
        return future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                waiting = [self._queue.get()]
                with contextlib.suppress(queue.Empty):
                    while waiting[-1] is not None:
                        waiting.append(self._queue.get_nowait())
                work = [item for item in waiting if item is not None]
                conn = self._write(conn, work)
                if waiting[-1] is None:
                    return
        finally:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()

    def _write(
        self, conn: sqlite3.Connection | None, work: list[tuple[Op, Future[Any]]]
    ) -> sqlite3.Connection | None:
        results: list[Any] = [None] * len(work)
        if work and self._index.usable:
            try:
                conn = conn or self._index.connect()
                with transaction(conn):
                    results = [op(conn) for op, _ in work]
            except (
                Exception
            ) as error:  # the writer must never die: a dead one would leave its callers waiting
                self._index.give_up(error)
                results = [None] * len(work)
        for (_, future), result in zip(work, results, strict=True):
            future.set_result(result)
        return conn
