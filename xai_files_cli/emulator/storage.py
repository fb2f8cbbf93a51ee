"""Crash-safe file store of the emulator: SQLite metadata (WAL) plus one blob file per file id.

Layout under the data dir (dirs the store creates are 0700, files 0600; an existing data dir keeps
its mode):
    files.db (+ -wal, -shm)   metadata; schema from migrations.py; the bytes of small files
    blobs/<file id>           content of a committed file larger than INLINE_LIMIT, named by its id
    tmp/<file id>.part        an upload in progress
    lost+found/<file id>      blobs the database did not list at start-up, kept rather than deleted

Small files (at most INLINE_LIMIT bytes) never touch the file system: an upload keeps them in memory
and its row's transaction stores them in `inline_blobs`, so the WAL sync that makes the row durable
makes the bytes durable too; they have no blob file, and cleanup has nothing to do for them.

Write protocol of a larger file (a crash at any step leaves no half-stored file): an upload streams
into tmp/<id>.part (once it outgrows INLINE_LIMIT), is
fsynced, noted in `blob_intents`, renamed to blobs/<id>, the blobs dir is fsynced, and only THEN
the row is inserted (dropping the note). Uploads that reach that point together share the steps
after their own fsync (group commit, group_commit.py): one transaction notes them all, each is
renamed, one fsync of blobs/ covers every rename, and one transaction inserts every row; each
file still goes through every step in this order, so the guarantees are the same as one by one.
A delete commits the row removal together with a note, and unlinks the blob afterwards. So after
a crash at any point a file is either fully present (row + blob) or absent from every listing.

Start-up cleanup never destroys what the server cannot prove is its own garbage: it removes only
temp files named like its own, blobs the database noted as garbage, and never follows a symlink
(subdirectories must be real directories of this user; entries are opened relative to a dir fd
with O_NOFOLLOW). A blob the database does not know is moved to lost+found (and moved back if its
row reappears, e.g. after a backup of files.db is restored); if the database is missing or has no
rows while blobs exist, the store refuses to open instead (UnlistedBlobsError).

Several processes may share one data dir (`xai serve` and `xai --local` runs): SQLite serializes
the metadata, and every upload holds an exclusive flock on its temp/blob file until its row is
committed, so another process's startup cleanup never touches a file that is still being written.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import json
import logging
import os
import re
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator import content
from xai_files_cli.emulator.filters import PUBLIC_URL_LIVE
from xai_files_cli.emulator.group_commit import MAX_GROUP, GroupCommit, Ticket
from xai_files_cli.emulator.migrations import apply_migrations
from xai_files_cli.emulator.validation import is_file_id, is_temp_name, new_file_id

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: open files cannot be deleted there anyway
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("xai.emulator")

DEFAULT_MAX_FILE_SIZE = 512_000_000
# Files up to this size live in the database (`inline_blobs`), larger ones in blobs/. Creating,
# fsyncing and renaming a file per upload costs more server CPU than a SQLite insert of 64 KiB, and
# SQLite reads blobs below about 100 KB faster than separate files; above that, a streamed file
# keeps downloads and public links (sendfile) flat in memory. An upload holds at most this much in
# memory before it spills to its temp file, so uploads in memory stay bounded by this times the
# concurrent calls (64 KiB x 128 calls = 8 MiB).
INLINE_LIMIT = 64 * 1024
BUSY_TIMEOUT_MS = 10_000
# SQLite steps the reads of one `quick_reads` block may take (a list page takes about 4,000; scanning
# 50,000 files for a filter that matches few of them about 600,000), and every how many steps they are
# counted (each count takes the GIL: a page is counted about once).
QUICK_READ_STEPS = 50_000
STEP_COUNT_INTERVAL = 5_000
DB_NAME = "files.db"
LOST_AND_FOUND = "lost+found"
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # no symlinks, no FIFO hangs
_DIR_FDS = (
    hasattr(os, "O_DIRECTORY")
    and os.open in os.supports_dir_fd
    and os.listdir in os.supports_fd
    and os.rename in os.supports_dir_fd
)
# Sort key -> (column, the index of migration m005 whose order is (column, id)).
_SORT_INDEXES = {
    "created_at": ("created_at_ns", "files_by_created"),
    "filename": ("filename", "files_by_filename"),
    "size": ("size", "files_by_size"),
}
PUBLIC_TOKEN_BYTES = 24  # 32 URL-safe characters
_PUBLIC_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_PUBLIC_PORT_SETTING = "public_port"
# A write-only view on the writer connection: inserting (id, filename, size, content_type,
# created_at_ns, expires_at_ns, list_entry, data) stores an uploaded file's row, its bytes when `data`
# is not NULL (an inline file), and otherwise drops the note of its blob file (see `_note_uploads`).
_UPLOAD_ROWS_SQL = """
CREATE TEMP VIEW upload_rows
    (id, filename, size, content_type, created_at_ns, expires_at_ns, list_entry, data)
AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0;
CREATE TEMP TRIGGER upload_rows_insert INSTEAD OF INSERT ON upload_rows
BEGIN
    DELETE FROM blob_intents WHERE NEW.data IS NULL AND id = NEW.id;
    INSERT INTO files (id, filename, size, content_type, created_at_ns, expires_at_ns, list_entry)
        VALUES (NEW.id, NEW.filename, NEW.size, NEW.content_type, NEW.created_at_ns, NEW.expires_at_ns,
                NEW.list_entry);
    INSERT INTO inline_blobs (id, data) SELECT NEW.id, NEW.data WHERE NEW.data IS NOT NULL;
END;
"""
_COLUMNS = (
    "id, filename, size, content_type, created_at_ns, expires_at_ns, public_url, public_url_expires_at_ns"
)


class FileTooLarge(Exception):
    """An upload crossed the maximum file size; the partial data is already removed."""


class UploadCancelled(Exception):
    """The upload's caller went away before its row was inserted; nothing was stored."""


class StorageFull(Exception):
    """The disk is full (ENOSPC/EDQUOT); the partial data is already removed."""


class ReadWouldBlock(Exception):
    """A read in a `Storage.quick_reads` block gave up: it ran past its budget of SQLite steps, or it
    would have waited for a lock."""


class _StepBudget:
    """The progress handler of a quick-read connection: counts down the block's budget and interrupts
    the statement that runs past it (SQLite calls it every `STEP_COUNT_INTERVAL` steps)."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = 0

    def __call__(self) -> bool:
        self.left -= 1
        return self.left < 0


class DataDirError(Exception):
    """A directory inside the data dir is unsafe to use: a symlink, not a directory, or another user's."""


class UnlistedBlobsError(Exception):
    """blobs/ holds stored files but the database is missing, empty or new: nothing was changed."""

    def __init__(self, data_dir: Path, count: int) -> None:
        self.count = count
        super().__init__(
            f"the data dir {data_dir} holds {count} stored file(s) in blobs/ that its database {DB_NAME} "
            f"does not list (the database is missing, empty or new); nothing was changed: restore "
            f"{DB_NAME} from a backup, or move {data_dir / 'blobs'} aside to start with an empty store"
        )


class BlobLostError(Exception):
    """A live file's row exists but its bytes are missing, unreadable or of the wrong size."""

    def __init__(self, file_id: str, reason: str) -> None:
        self.file_id = file_id
        super().__init__(f"the content of file {file_id} is lost on the server ({reason})")


@dataclass(frozen=True)
class FileRecord:
    """Metadata of one committed file. Times are integer nanoseconds since the Unix epoch (UTC)."""

    id: str
    filename: str
    size: int
    content_type: str
    created_at_ns: int
    expires_at_ns: int | None
    public_url: str | None = None
    public_url_expires_at_ns: int | None = None

    @property
    def created_at(self) -> datetime:
        return _to_datetime(self.created_at_ns)

    @property
    def expires_at(self) -> datetime | None:
        return None if self.expires_at_ns is None else _to_datetime(self.expires_at_ns)


@dataclass(frozen=True)
class PublicUrlChange:
    """Result of revoking a public URL: whether one existed, and which."""

    revoked: bool
    public_url: str | None


@dataclass(frozen=True)
class PageQuery:
    """Which page of live files to list: ordered by (`sort`, id), `limit` files, after the keyset
    position `after` (sort value, id) of the previous page's last file, and only those matching the
    trusted SQL condition `where` with its bound parameters (see filters.py)."""

    sort: str = "created_at"
    descending: bool = False
    limit: int = 100
    after: tuple[int | str, str] | None = None
    where: tuple[str, tuple[object, ...]] | None = None


FIRST_PAGE = PageQuery()


@dataclass(frozen=True)
class EntriesPage:
    """One list page as the wire form of its files: `entries` is the `data` field of a ListFilesResponse
    (each file framed as the reply frames it), `more` whether files follow it, `last` the (id, filename,
    size, created_at_ns) of its last file when they do (what the next page's token is made from)."""

    entries: bytes
    count: int
    more: bool
    last: tuple[str, str, int, int] | None


def list_entry(
    file_id: str, filename: str, size: int, created_at_ns: int, expires_at_ns: int | None
) -> bytes:
    """A file's entry of a ListFiles reply without its public URL: the bytes protobuf writes for a reply
    holding just that File (the URL's fields come last in a File, so a file with a live URL cannot
    use it)."""
    reply = files_pb2.ListFilesResponse()
    add_files(reply, [(file_id, filename, size, None, created_at_ns, expires_at_ns, None, None)])
    return reply.SerializeToString()


_NS_PER_SECOND = 1_000_000_000


def add_files(response: files_pb2.ListFilesResponse, rows: list[tuple[Any, ...]]) -> None:
    """Append stored files' rows (`Storage.list_rows`, or one list entry's fields: see `list_entry`)
    to a ListFiles reply: what `files_service.to_proto` makes, written into the reply's own messages
    instead of built and copied in."""
    add = response.data.add
    for file_id, filename, size, _, created, expires, url, url_expires in rows:
        message = add(id=file_id, filename=filename, size=size)
        stamp = message.created_at
        stamp.seconds, stamp.nanos = divmod(created, _NS_PER_SECOND)
        if expires is not None:
            stamp = message.expires_at
            stamp.seconds, stamp.nanos = divmod(expires, _NS_PER_SECOND)
        if url is not None:
            message.public_url = url
            if url_expires is not None:
                stamp = message.public_url_expires_at
                stamp.seconds, stamp.nanos = divmod(url_expires, _NS_PER_SECOND)


def _to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


class Storage:
    """The metadata database and blob directory of one data dir; safe to use from many threads."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Callable[[], int] = time.time_ns,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    ) -> None:
        """Open (creating if needed) the store in `data_dir`, migrate, and clean up after crashes.

        Raises OSError when the data dir cannot be created or used, DataDirError when a directory in
        it is a symlink or someone else's, UnlistedBlobsError when the database does not list blobs
        that exist (a missing or empty files.db), sqlite3.Error when the database is damaged.
        """
        self.data_dir = Path(data_dir)
        self.blob_dir = self.data_dir / "blobs"
        self.tmp_dir = self.data_dir / "tmp"
        self.lost_dir = self.data_dir / LOST_AND_FOUND
        self.db_path = self.data_dir / DB_NAME
        self.clock = clock
        self.max_file_size = max_file_size
        self.inline_limit = INLINE_LIMIT  # tests lower it to put small files in blobs/
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._writer_conn: sqlite3.Connection | None = None
        self._publisher: GroupCommit[Upload] = GroupCommit(self._publish)
        self._closed = False
        _make_dirs(self.data_dir)
        for directory in (self.blob_dir, self.tmp_dir):
            _private_subdir(directory)
        if _is_blank_database(self.db_path):
            stored = _count_ids(self.blob_dir)
            if stored:  # do not even create a new database next to files it would not list
                raise UnlistedBlobsError(self.data_dir, stored)
        if not self.db_path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            apply_migrations(self._conn())
            self._fill_list_entries()
            self.cleanup()
        except BaseException:
            self.close()  # e.g. a damaged database: do not leak the connection just opened
            raise

    # -- connections ---------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection for reads (one per thread; writes go through `_write`)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self, cached_statements: int = 128) -> sqlite3.Connection:
        """A new connection with the store's settings, closed by `close()`.

        Temporary files (statement journals of multi-row inserts) stay in memory: they only serve to
        undo one statement inside its transaction, and a file each cost more than the insert.
        """
        if self._closed:
            raise RuntimeError("storage is closed")
        conn = sqlite3.connect(
            self.db_path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=cached_statements,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA temp_store=MEMORY")
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def quick_reads(self) -> Iterator[None]:
        """Reads made on this thread inside the block either finish soon or raise ReadWouldBlock: past
        QUICK_READ_STEPS SQLite steps (about a millisecond) their statement is interrupted, and a
        read that would wait for a lock gives up at once. For the event loop, which must never be
        held up: it makes the cheap reads itself and hands those that gave up to a thread."""
        local = self._local
        usual = self._conn()
        quick: tuple[sqlite3.Connection, _StepBudget] | None = getattr(local, "quick", None)
        if quick is None:
            quick = local.quick = self._quick_connection()
        conn, budget = quick
        budget.left = QUICK_READ_STEPS // STEP_COUNT_INTERVAL
        local.conn = conn
        try:
            yield
        except sqlite3.OperationalError as error:
            if budget.left < 0 or "locked" in str(error):
                raise ReadWouldBlock(str(error)) from error
            raise
        finally:
            local.conn = usual

    def _quick_connection(self) -> tuple[sqlite3.Connection, _StepBudget]:
        """A read connection that never waits for a lock, with a step budget (see `quick_reads`)."""
        conn = self._connect()
        conn.execute("PRAGMA busy_timeout=0")
        budget = _StepBudget()
        conn.set_progress_handler(budget, STEP_COUNT_INTERVAL)
        return conn, budget

    def _writer(self) -> sqlite3.Connection:
        """The connection of every write of this process (call with the write lock held).

        One connection for all writes keeps its page cache and prepared statements warm: a write
        on whichever thread's own connection first re-read the pages other connections had changed.
        It also holds `upload_rows` (`_UPLOAD_ROWS_SQL`), through which one statement stores a
        group of uploads.
        """
        conn = self._writer_conn
        if conn is None:
            conn = self._connect(cached_statements=2 * MAX_GROUP)  # one insert per group size
            conn.executescript(_UPLOAD_ROWS_SQL)
            self._writer_conn = conn
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE write transaction, serialized within this process.

        On any failure, the COMMIT included, the transaction is rolled back explicitly, as SQLite
        advises: after SQLITE_FULL/IOERR/BUSY it may still be open, holding the write lock.
        """
        with self._write_lock:
            conn = self._writer()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                _roll_back(conn)
                raise

    def pragmas(self) -> dict[str, object]:
        """The durability settings in force on this thread's connection (for tests and `--debug`)."""
        conn = self._conn()
        return {
            name: conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }

    def integrity_check(self) -> str:
        """`PRAGMA integrity_check` result ("ok" when healthy)."""
        return str(self._conn().execute("PRAGMA integrity_check").fetchone()[0])

    def read_connection(self) -> sqlite3.Connection:
        """This thread's connection, for reads of tables other modules own (stored completions)."""
        return self._conn()

    def write_transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One serialized write transaction, for tables other modules own (stored completions)."""
        return self._write()

    def close(self) -> None:
        """Close every connection; later calls fail."""
        self._closed = True
        self._writer_conn = None
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def now_ns(self) -> int:
        """The store's clock (injectable for expiry tests)."""
        return self.clock()

    # -- uploads -------------------------------------------------------------------------------

    def begin_upload(self, filename: str, ttl_seconds: int | None) -> Upload:
        """Start an upload; write data with `Upload.write`, then `commit()` or `abort()`."""
        return Upload(self, filename, ttl_seconds)

    def _publish(self, tickets: Sequence[Ticket[Upload]]) -> None:
        """Make a group of uploads durable and visible: note the fsynced temp files (one
        transaction), rename each into blobs/, fsync blobs/ once, then insert every row still
        wanted, with the bytes of the inline ones (one transaction).

        A failure of one upload's rename fails that upload only; a failure of a shared step fails
        every upload still in the group. Each failed upload is aborted by its own thread.
        """
        on_disk = [ticket for ticket in tickets if not ticket.item.is_inline]
        if on_disk:
            self._note_uploads([ticket.item.file_id for ticket in on_disk])
            for ticket in on_disk:
                ticket.item._noted = True
                _record_failure(ticket, OSError, ticket.item._move_into_blobs)
            if any(ticket.error is None for ticket in on_disk):
                _fsync_dir(self.blob_dir)
        for ticket in tickets:
            if ticket.error is None and not ticket.item._still_wanted():
                ticket.error = UploadCancelled()
        wanted = [ticket.item for ticket in tickets if ticket.error is None]
        if wanted:
            records = [upload._make_record(self.now_ns()) for upload in wanted]
            inline = [(upload.file_id, upload._inline_data()) for upload in wanted if upload.is_inline]
            self._insert(records, inline)
            for upload, record in zip(wanted, records, strict=True):
                upload.record = record

    def _note_uploads(self, file_ids: list[str]) -> None:
        """Record that blobs/<id> of each is about to appear without a row (until `_insert`)."""
        now = self.now_ns()
        values = ", ".join(["(?, 'upload', ?)"] * len(file_ids))
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO blob_intents (id, kind, at_ns) VALUES {values}",
                [value for file_id in file_ids for value in (file_id, now)],
            )

    def _drop_intent(self, file_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM blob_intents WHERE id = ?", (file_id,))

    def _insert(self, records: list[FileRecord], inline: Sequence[tuple[str, bytes]] = ()) -> None:
        """Insert the rows of committed uploads and the bytes of the inline ones, dropping the upload
        notes of the others, all in one statement (its own transaction: at most MAX_GROUP rows, well
        within SQLite's limit of bound parameters).

        One statement instead of a transaction of four: Python's sqlite3 lets go of the GIL several
        times for each statement, and with many upload calls in flight each of those is a thread switch.
        """
        data = dict(inline)
        entries = [
            list_entry(record.id, record.filename, record.size, record.created_at_ns, record.expires_at_ns)
            for record in records
        ]
        values = [
            value
            for record, entry in zip(records, entries, strict=True)
            for value in (
                record.id,
                record.filename,
                record.size,
                record.content_type,
                record.created_at_ns,
                record.expires_at_ns,
                entry,
                data.get(record.id),
            )
        ]
        sql = "INSERT INTO upload_rows VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(records))
        with self._write_lock:
            conn = self._writer()
            try:
                conn.execute(sql, values)
            except BaseException:
                _roll_back(conn)
                raise

    # -- reads ---------------------------------------------------------------------------------

    def get(self, file_id: str) -> FileRecord | None:
        """Metadata of a live file, or None if unknown, deleted or expired."""
        if not is_file_id(file_id):
            return None
        now = self.now_ns()
        return self._live_record(self._conn(), file_id, now)

    def _live_record(self, conn: sqlite3.Connection, file_id: str, now: int) -> FileRecord | None:
        """The row of a file that exists and has not expired at `now`, as a record."""
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM files WHERE id = ? AND (expires_at_ns IS NULL OR expires_at_ns > ?)",
            (file_id, now),
        ).fetchone()
        return None if row is None else self._record(row, now)

    def open_blob(self, file_id: str) -> BinaryIO | None:
        """An open binary file of a live file's content, or None if the file is not live.

        The caller closes it; the open descriptor keeps the content readable even if the file is
        deleted meanwhile. Raises BlobLostError when the row is live but its bytes are missing,
        unreadable or not of the recorded size.
        """
        record = self.get(file_id)
        if record is None:
            return None
        inline = self._conn().execute("SELECT data FROM inline_blobs WHERE id = ?", (file_id,)).fetchone()
        if inline is not None:
            if len(inline[0]) != record.size:
                raise BlobLostError(file_id, f"it has {len(inline[0])} bytes, {record.size} were stored")
            return io.BytesIO(inline[0])
        try:
            blob = open(self.blob_dir / file_id, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as error:
            if self.get(file_id) is None:  # deleted between the lookup and the open
                return None
            reason = "its blob is missing" if isinstance(error, FileNotFoundError) else error.strerror
            raise BlobLostError(file_id, reason or type(error).__name__) from None
        size = os.fstat(blob.fileno()).st_size
        if size != record.size:
            blob.close()
            raise BlobLostError(file_id, f"its blob has {size} bytes, {record.size} were stored")
        return blob

    def list_files(self, query: PageQuery = FIRST_PAGE) -> tuple[list[FileRecord], bool]:
        """One page of live files; returns (records, more_pages_exist).

        Every page costs the same however deep it is: the query seeks the sort key's index to
        `query.after` and reads on from there (see `list_plan`).
        """
        rows, more = self.list_rows(query)
        return [FileRecord(*row) for row in rows], more

    def list_rows(self, query: PageQuery = FIRST_PAGE) -> tuple[list[tuple[Any, ...]], bool]:
        """The page `list_files` gives, as rows of FileRecord's fields in order (no record made per
        file: the cheap form for ListFiles), a public URL past its expiry already cleared."""
        now = self.now_ns()
        sql, params = _page_query(query, now)
        # The page comes back as one row holding a JSON array of rows: Python's sqlite3 lets go of
        # the GIL for every row it steps, and with concurrent calls each of those hand-overs costs
        # a thread switch, more than the whole query.
        packed = self._conn().execute(f"SELECT json_group_array(json_array({_COLUMNS})) FROM ({sql})", params)
        rows = json.loads(packed.fetchone()[0])
        more = len(rows) > query.limit
        del rows[query.limit :]
        if any(row[7] is not None and row[6] is not None and row[7] <= now for row in rows):
            rows = [_live_url(row, now) for row in rows]
        return rows, more

    def list_entries(self, query: PageQuery = FIRST_PAGE) -> EntriesPage | None:
        """The page `list_rows` gives, as the concatenated wire entries of its files (one SQLite row
        holding them and the page's facts: see `list_rows` on the GIL); None when a file of the page
        has a live public URL or no stored entry, and the page must be built from `list_rows`.

        The page's last file and whether more follow are read by a second walk of the sort index to
        files `limit` and `limit + 1` (rows the walk skips are never read from the table), instead
        of numbering the page's rows with a window function, which copies every row and cost twice
        as much as the rest of the query.
        """
        now = self.now_ns()
        entries_sql, entries_params = _page_query(
            query, now, "list_entry, public_url, public_url_expires_at_ns", count=query.limit
        )
        edge_sql, edge_params = _page_query(
            query, now, "id, filename, size, created_at_ns", count=2, skip=query.limit - 1
        )
        edge = f"SELECT json_group_array(json_array(id, filename, size, created_at_ns)) FROM ({edge_sql})"
        facts = (
            "json_array(count(*), total(list_entry IS NULL OR "
            f"(public_url IS NOT NULL AND {PUBLIC_URL_LIVE})), json(({edge})))"
        )
        packed = self._conn().execute(
            f"SELECT CAST({facts} || x'00' || coalesce(group_concat(list_entry, ''), '') AS BLOB) "
            f"FROM ({entries_sql})",
            [now, *edge_params, *entries_params],
        )
        head, _, entries = packed.fetchone()[0].partition(b"\0")
        count, needs_building, edge_files = json.loads(head)
        if needs_building:
            return None
        more = len(edge_files) == 2  # files `limit` and `limit + 1` exist
        return EntriesPage(entries, count, more, tuple(edge_files[0]) if more else None)

    def list_plan(self, query: PageQuery = FIRST_PAGE) -> list[str]:
        """SQLite's `EXPLAIN QUERY PLAN` lines of the page query `list_files` would run."""
        sql, params = _page_query(query, self.now_ns())
        return [str(row[-1]) for row in self._conn().execute(f"EXPLAIN QUERY PLAN {sql}", params)]

    def all_ids(self) -> set[str]:
        """Ids of every row, expired ones included (for cleanup and tests)."""
        return {row[0] for row in self._conn().execute("SELECT id FROM files")}

    def _record(self, row: tuple, now: int) -> FileRecord:
        file_id, filename, size, content_type, created, expires, url, url_expires = row
        if url is not None and url_expires is not None and url_expires <= now:
            url = url_expires = None
        return FileRecord(file_id, filename, size, content_type, created, expires, url, url_expires)

    # -- deletes and expiry --------------------------------------------------------------------

    def delete(self, file_id: str) -> bool:
        """Delete a live file: the row (with inline bytes) first, committed, then the blob. False if
        not found."""
        if not is_file_id(file_id):
            return False
        now = self.now_ns()
        with self._write() as conn:
            row = conn.execute("SELECT expires_at_ns FROM files WHERE id = ?", (file_id,)).fetchone()
            if row is None:
                return False
            inline = conn.execute("DELETE FROM inline_blobs WHERE id = ?", (file_id,)).rowcount
            conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
            if not inline:
                _note_intent(conn, file_id, "delete", now)
        if not inline:
            self._unlink_blob(file_id)
        return row[0] is None or row[0] > now

    def sweep_expired(self) -> int:
        """Remove every expired file (row and inline bytes, then blob); returns how many were removed."""
        now = self.now_ns()
        with self._write() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM files WHERE expires_at_ns IS NOT NULL AND expires_at_ns <= ?", (now,)
                )
            ]
            conn.executemany("DELETE FROM inline_blobs WHERE id = ?", [(file_id,) for file_id in ids])
            conn.executemany("DELETE FROM files WHERE id = ?", [(file_id,) for file_id in ids])
            for file_id in ids:
                _note_intent(conn, file_id, "delete", now)
        for file_id in ids:
            self._unlink_blob(file_id)
        self._forget_finished_deletes()
        return len(ids)

    def _forget_finished_deletes(self) -> None:
        """Drop the delete notes whose blob is gone (the unlink after the commit happened)."""
        ids = [row[0] for row in self._conn().execute("SELECT id FROM blob_intents WHERE kind = 'delete'")]
        done = [(file_id,) for file_id in ids if not os.path.lexists(self.blob_dir / file_id)]
        if done:
            with self._write() as conn:
                conn.executemany("DELETE FROM blob_intents WHERE id = ? AND kind = 'delete'", done)

    def _unlink_blob(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.blob_dir / file_id)

    # -- public URLs ---------------------------------------------------------------------------

    def set_public_url(self, file_id: str, base_url: str, expires_after: int | None) -> FileRecord | None:
        """Create the file's public URL (`base_url` + a new random token), or return the existing one
        (updating its expiry if given).

        With no `expires_after` a new URL inherits the file's own expiry (or never expires).
        Returns the updated record, or None if the file is not live.
        """
        now = self.now_ns()
        with self._write() as conn:
            current = self._live_record(conn, file_id, now)
            if current is None:
                return None
            if current.public_url is not None:
                url = current.public_url
                token = conn.execute("SELECT public_token FROM files WHERE id = ?", (file_id,)).fetchone()[0]
            else:
                token = secrets.token_urlsafe(PUBLIC_TOKEN_BYTES)
                url = base_url + token
            if expires_after is not None:
                url_expires: int | None = now + expires_after * 1_000_000_000
            elif current.public_url is not None:
                url_expires = current.public_url_expires_at_ns
            else:
                url_expires = current.expires_at_ns
            conn.execute(
                "UPDATE files SET public_url = ?, public_token = ?, public_url_expires_at_ns = ? "
                "WHERE id = ?",
                (url, token, url_expires, file_id),
            )
        return FileRecord(
            current.id,
            current.filename,
            current.size,
            current.content_type,
            current.created_at_ns,
            current.expires_at_ns,
            url,
            url_expires,
        )

    def revoke_public_url(self, file_id: str) -> PublicUrlChange | None:
        """Revoke the file's public URL if it has a live one; None if the file is not live."""
        now = self.now_ns()
        with self._write() as conn:
            current = self._live_record(conn, file_id, now)
            if current is None:
                return None
            conn.execute(
                "UPDATE files SET public_url = NULL, public_token = NULL, public_url_expires_at_ns = NULL "
                "WHERE id = ?",
                (file_id,),
            )
        return PublicUrlChange(current.public_url is not None, current.public_url)

    def open_public(self, token: str) -> tuple[FileRecord, BinaryIO] | None:
        """The record and open content of the live file whose live public URL ends in `token`.

        None when no such link exists (never made, revoked, expired, or the file is gone). Raises
        BlobLostError when the file's bytes are lost; the caller closes the returned file.
        """
        if not is_public_token(token):
            return None
        now = self.now_ns()
        sql = (
            f"SELECT {_COLUMNS} FROM files WHERE public_token = ? "
            "AND (expires_at_ns IS NULL OR expires_at_ns > ?) "
            f"AND {PUBLIC_URL_LIVE}"
        )
        row = self._conn().execute(sql, (token, now, now)).fetchone()
        if row is None:
            return None
        record = self._record(row, now)
        blob = self.open_blob(record.id)
        return None if blob is None else (record, blob)

    # -- settings of the data dir ----------------------------------------------------------------

    def public_port(self) -> int | None:
        """The loopback port that serves this data dir's public links, once one was chosen."""
        sql = "SELECT value FROM server_settings WHERE name = ?"
        row = self._conn().execute(sql, (_PUBLIC_PORT_SETTING,)).fetchone()
        return None if row is None else int(row[0])

    def claim_public_port(self, port: int) -> int:
        """Record `port` as the public port unless one is recorded already; returns the recorded one."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO server_settings (name, value) VALUES (?, ?)",
                (_PUBLIC_PORT_SETTING, str(port)),
            )
        recorded = self.public_port()
        assert recorded is not None, "just recorded"
        return recorded

    def move_public_links(self, port: int, base_url: str) -> None:
        """Record `port` as the public port and point every stored public URL at `base_url`."""
        with self._write() as conn:
            before = conn.execute(
                "SELECT value FROM server_settings WHERE name = ?", (_PUBLIC_PORT_SETTING,)
            ).fetchone()
            if before is not None and before[0] == str(port):
                return
            conn.execute(
                "INSERT OR REPLACE INTO server_settings (name, value) VALUES (?, ?)",
                (_PUBLIC_PORT_SETTING, str(port)),
            )
            conn.execute(
                "UPDATE files SET public_url = ? || public_token WHERE public_token IS NOT NULL", (base_url,)
            )

    def _fill_list_entries(self) -> None:
        """Store the list entry of every row without one (written before migration m007, or by an
        older server sharing the data dir), so their list pages are served from the entries too.
        Finding them costs nothing once all have one (a partial index of the rows without)."""
        sql = (
            "SELECT id, filename, size, created_at_ns, expires_at_ns "
            "FROM files INDEXED BY files_without_list_entry WHERE list_entry IS NULL"
        )
        missing = self._conn().execute(sql).fetchall()
        for start in range(0, len(missing), 1000):
            batch = missing[start : start + 1000]
            with self._write() as conn:
                conn.executemany(
                    "UPDATE files SET list_entry = ? WHERE id = ? AND list_entry IS NULL",
                    [(list_entry(*row), row[0]) for row in batch],
                )

    # -- crash recovery ------------------------------------------------------------------------

    def cleanup(self) -> tuple[int, int]:
        """Remove what a crash left behind, and only that; never a file another process is writing.

        Sweeps expired files, removes stale temp files named `<file id>.part`, removes blobs the
        database noted as garbage (`blob_intents`), moves blobs the database does not know to
        lost+found, and moves a lost+found blob back when its row exists. Returns (temp files
        removed, garbage blobs removed). Raises UnlistedBlobsError, changing nothing more, when
        unknown blobs exist and the database has no rows at all.
        """
        self.sweep_expired()
        with _Dir(self.tmp_dir) as tmp:
            temps = sum(_act_if_unlocked(tmp, name, _always, tmp.unlink) for name in _temp_names(tmp))
        with _Dir(self.blob_dir) as blobs:
            on_disk = [name for name in blobs.names() if is_file_id(name)]  # listed before the rows
            rows = self.all_ids()
            intents = self._intents()
            unknown = [name for name in on_disk if name not in rows and name not in intents]
            removed = sum(
                _act_if_unlocked(blobs, name, functools.partial(self._is_garbage, name), blobs.unlink)
                for name in on_disk
                if name not in rows and name in intents
            )
            self._forget_intents_without_files(intents)
            if unknown:
                self._set_aside(blobs, unknown, database_empty=not rows)
            if os.path.lexists(self.lost_dir):
                self._restore_from_lost_and_found(blobs)
        return temps, removed

    def _intents(self) -> dict[str, str]:
        return dict(self._conn().execute("SELECT id, kind FROM blob_intents").fetchall())

    def _is_garbage(self, file_id: str) -> bool:
        """Under the blob's lock: no row, and the database noted it as an upload or delete leftover."""
        conn = self._conn()
        if conn.execute("SELECT 1 FROM files WHERE id = ?", (file_id,)).fetchone() is not None:
            return False
        return conn.execute("SELECT 1 FROM blob_intents WHERE id = ?", (file_id,)).fetchone() is not None

    def _is_unknown(self, file_id: str) -> bool:
        """Under the blob's lock: neither a row nor a note names it."""
        conn = self._conn()
        return all(
            conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (file_id,)).fetchone() is None
            for table in ("files", "blob_intents")
        )

    def _may_set_aside(self, file_id: str) -> bool:
        """Under the blob's lock: still unknown, and lost+found has no file of that name yet."""
        return self._is_unknown(file_id) and not os.path.lexists(self.lost_dir / file_id)

    def _forget_intents_without_files(self, intents: dict[str, str]) -> None:
        """Drop notes whose temp file and blob are both gone (checked in that order: a rename
        between the two checks makes the blob visible, never both invisible)."""
        done = [
            (file_id,)
            for file_id in intents
            if not os.path.lexists(self.tmp_dir / f"{file_id}.part")
            and not os.path.lexists(self.blob_dir / file_id)
        ]
        if done:
            with self._write() as conn:
                conn.executemany("DELETE FROM blob_intents WHERE id = ?", done)

    def _set_aside(self, blobs: _Dir, unknown: list[str], *, database_empty: bool) -> None:
        """Move blobs no row or note names to lost+found; refuse instead if the database is empty."""
        if database_empty:
            present = [name for name in unknown if _is_idle_file(blobs, name)]
            if present:
                raise UnlistedBlobsError(self.data_dir, len(present))
            return
        _private_subdir(self.lost_dir)
        with _Dir(self.lost_dir) as lost:
            moved = sum(
                _act_if_unlocked(
                    blobs,
                    name,
                    functools.partial(self._may_set_aside, name),
                    functools.partial(blobs.rename_to, other=lost),
                )
                for name in unknown
            )
        if moved:
            log.warning(
                "moved %d stored file(s) that the database does not list to %s (kept, not deleted)",
                moved,
                self.lost_dir,
            )

    def _restore_from_lost_and_found(self, blobs: _Dir) -> None:
        """Move lost+found blobs whose row exists again (files.db restored) back into blobs/."""
        _private_subdir(self.lost_dir)
        conn = self._conn()
        with _Dir(self.lost_dir) as lost:
            back = [
                name
                for name in lost.names()
                if is_file_id(name)
                and conn.execute("SELECT 1 FROM files WHERE id = ?", (name,)).fetchone() is not None
                and not os.path.lexists(self.blob_dir / name)
            ]
            restored = sum(
                _act_if_unlocked(lost, name, _always, functools.partial(lost.rename_to, other=blobs))
                for name in back
            )
        if restored:
            log.warning("moved %d file(s) back from %s: the database lists them", restored, self.lost_dir)


class Upload:
    """An upload in progress: data stays in memory up to the store's inline limit, and goes to
    tmp/<id>.part once it grows past it; nothing is visible until `commit()`.

    Use as a context manager: leaving the block without a commit (error, cancellation) aborts
    and removes the temp file, if any.
    """

    def __init__(self, storage: Storage, filename: str, ttl_seconds: int | None) -> None:
        self.storage = storage
        self.filename = filename
        self.ttl_seconds = ttl_seconds
        self.size = 0
        self._head = b""
        self._done = False
        self._noted = False  # whether blob_intents names this upload (dropped by commit or abort)
        self._content_type = ""
        self._still_wanted: Callable[[], bool] = _always  # see commit()
        self.record: FileRecord | None = None  # set once the row is committed
        self._chunks: list[bytes] | None = []  # the data while it fits the inline limit, else None
        self._file: BinaryIO | None = None
        self.tmp_path: Path | None = None
        self.file_id = new_file_id()  # 122 random bits: unique without a file to claim the name

    @property
    def is_inline(self) -> bool:
        """Whether the data is still in memory (at most the inline limit), to be stored in the row."""
        return self._chunks is not None

    def _inline_data(self) -> bytes:
        assert self._chunks is not None, "only an inline upload has its data in memory"
        return b"".join(self._chunks)

    def _spill(self) -> BinaryIO:
        """Move the data held in memory to a new, locked temp file; the file from now on."""
        assert self._chunks is not None
        self.file_id, self._file, self.tmp_path = self._create_temp()
        for chunk in self._chunks:
            self._file.write(chunk)
        self._chunks = None
        return self._file

    def _create_temp(self) -> tuple[str, BinaryIO, Path]:
        file_id = self.file_id
        while True:
            path = self.storage.tmp_dir / f"{file_id}.part"
            name = str(path)
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # Another process's cleanup may have removed the name between create and lock.
                try:
                    same = os.stat(name).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    file_id = new_file_id()
                    continue
            return file_id, open(fd, "wb"), path

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()

    def write(self, data: bytes) -> None:
        """Append bytes; raises FileTooLarge as soon as the running total crosses the limit."""
        if self.size + len(data) > self.storage.max_file_size:
            self.abort()
            raise FileTooLarge(
                f"file is larger than the maximum of {self.storage.max_file_size} bytes "
                f"(received more than {self.size + len(data)} bytes so far)"
            )
        if len(self._head) < content.SNIFF_BYTES:
            self._head += data[: content.SNIFF_BYTES - len(self._head)]
        if self._chunks is not None and self.size + len(data) <= self.storage.inline_limit:
            self._chunks.append(data)
        else:
            try:
                (self._file or self._spill()).write(data)
            except OSError as error:
                self._fail_on_disk_error(error)
        self.size += len(data)

    def commit(self, still_wanted: Callable[[], bool] | None = None) -> FileRecord:
        """Make the file durable and visible: fsync it, then (grouped with the uploads committing at
        the same time) note it, rename it into blobs/, fsync blobs/ and insert its row. An inline
        upload only inserts its row and bytes: the transaction's WAL sync makes both durable.

        `still_wanted()` is asked right before the row is inserted (from another thread, maybe):
        False aborts the upload with UploadCancelled, e.g. when the call was cancelled because a
        message was too large, which grpc may report only after the request stream has ended.
        """
        try:
            self.make_durable(still_wanted)
            self.storage._publisher.submit(self)
        except BaseException as error:
            self.fail_commit(error)
        return self.published()

    def make_durable(self, still_wanted: Callable[[], bool] | None = None) -> None:
        """The commit's own first step (see `commit`): fsync the temp file, if any, and sniff the type.
        The grouped step (`Storage._publish`) follows, then `published`, or `fail_commit` on an error."""
        self._still_wanted = still_wanted or _always
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._content_type = content.sniff_content_type(self._head, self.filename)

    def fail_commit(self, error: BaseException) -> NoReturn:
        """Abort after a failed commit step and raise the failure (StorageFull for a full disk)."""
        if isinstance(error, OSError):
            self._fail_on_disk_error(error)
        self.abort()
        raise error

    def published(self) -> FileRecord:
        """The commit's last step, once its group inserted the row: the upload is done."""
        assert self.record is not None, "a published upload has its row"
        self._done = True
        self._chunks = None
        if self._file is not None:
            self._file.close()  # releases the flock only now that the row is committed
        return self.record

    def _move_into_blobs(self) -> None:
        """Rename the fsynced temp file to blobs/<id> (its note is committed already)."""
        blob_path = self.storage.blob_dir / self.file_id
        assert self.tmp_path is not None, "only an upload with a temp file is renamed"
        os.rename(self.tmp_path, blob_path)
        self.tmp_path = blob_path  # from here on, abort() must remove the blob

    def _make_record(self, created: int) -> FileRecord:
        return FileRecord(
            id=self.file_id,
            filename=self.filename,
            size=self.size,
            content_type=self._content_type,
            created_at_ns=created,
            expires_at_ns=None if self.ttl_seconds is None else created + self.ttl_seconds * 1_000_000_000,
        )

    def abort(self) -> None:
        """Discard the upload: drop its data, close and remove its temp file (or the renamed blob).
        Idempotent."""
        if self._done:
            return
        self._done = True
        self._chunks = None
        if self.tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp_path)
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._noted:  # best effort: start-up cleanup drops a note whose files are gone
            with contextlib.suppress(sqlite3.Error, RuntimeError):
                self.storage._drop_intent(self.file_id)

    def _fail_on_disk_error(self, error: OSError) -> NoReturn:
        self.abort()
        if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise StorageFull("no space left on the server's disk") from None
        raise error


def _live_url(row: tuple[Any, ...], now: int) -> tuple[Any, ...]:
    """A files row (`_COLUMNS` order) without its public URL once the URL has expired."""
    url, url_expires = row[6], row[7]
    if url is not None and url_expires is not None and url_expires <= now:
        return (*row[:6], None, None)
    return row


def _roll_back(conn: sqlite3.Connection) -> None:
    """End a failed write's transaction if SQLite left it open (a failed ROLLBACK means it had not)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _record_failure(ticket: Ticket[Upload], kind: type[Exception], step: Callable[[], None]) -> None:
    """Run one upload's own step of a group; an error of `kind` fails that upload only."""
    try:
        step()
    except kind as error:
        ticket.error = error


def is_public_token(text: str) -> bool:
    """Whether `text` looks like a public-link token (anything else is never looked up)."""
    return _PUBLIC_TOKEN.fullmatch(text) is not None


def _page_query(
    query: PageQuery, now: int, columns: str = _COLUMNS, *, count: int | None = None, skip: int = 0
) -> tuple[str, list[object]]:
    """The SQL of one list page and one file more (which tells whether more follow): a keyset seek
    on the sort key's index, never a sort of the table. `count` files (default: the page's and one
    more) after skipping `skip` of them.

    The cursor is a row-value comparison `(column, id) > (?, ?)`, which SQLite turns into a seek
    on the index (an OR of two comparisons would make it scan from the start). The index is named
    so the planner never trades it for an index on a filtered column plus a sort of every match.
    """
    column, index = _SORT_INDEXES[query.sort]
    direction, cmp = ("DESC", "<") if query.descending else ("ASC", ">")
    clauses = ["(expires_at_ns IS NULL OR expires_at_ns > ?)"]
    params: list[object] = [now]
    if query.after is not None:
        clauses.append(f"({column}, id) {cmp} (?, ?)")
        params.extend(query.after)
    if query.where is not None:
        clauses.append(f"({query.where[0]})")
        params.extend(query.where[1])
    sql = (
        f"SELECT {columns} FROM files INDEXED BY {index} WHERE {' AND '.join(clauses)} "
        f"ORDER BY {column} {direction}, id {direction} LIMIT ?"
    )
    params.append(query.limit + 1 if count is None else count)
    if skip:
        sql += " OFFSET ?"
        params.append(skip)
    return sql, params


def _note_intent(conn: sqlite3.Connection, file_id: str, kind: str, now: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO blob_intents (id, kind, at_ns) VALUES (?, ?, ?)", (file_id, kind, now)
    )


def _make_dirs(path: Path) -> None:
    """Create `path` and its missing parents with mode 0700; existing directories keep their mode."""
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
    if not path.is_dir():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))


def _private_subdir(path: Path) -> None:
    """Create a 0700 directory, or accept an existing one only if it is a real directory of ours."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        with _Dir(path):  # checks: no symlink, a directory, owned by this user
            pass


def _is_blank_database(db_path: Path) -> bool:
    """Whether the database file is missing or empty (0 bytes): a new database would be created."""
    try:
        return os.stat(db_path).st_size == 0
    except FileNotFoundError:
        return True


def _count_ids(blob_dir: Path) -> int:
    with _Dir(blob_dir) as blobs:
        return sum(1 for name in blobs.names() if is_file_id(name))


def _temp_names(tmp: _Dir) -> list[str]:
    return [name for name in tmp.names() if is_temp_name(name)]


class _Dir:
    """A directory of the data dir, opened without following symlinks and checked to be ours.

    Names inside are resolved relative to its descriptor, so swapping the directory for a link
    after the check changes nothing. (Where descriptors cannot do that, e.g. on Windows, paths
    are used after the same checks.)
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        if _DIR_FDS:
            try:
                self.fd = os.open(path, _OPEN_FLAGS | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0))
            except OSError as error:
                if os.path.islink(path):
                    raise DataDirError(_unsafe(path, "is a symbolic link")) from None
                if error.errno == errno.ENOTDIR:
                    raise DataDirError(_unsafe(path, "is not a directory")) from None
                raise
            info = os.fstat(self.fd)
        else:  # pragma: no cover - platforms without directory descriptors
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                raise DataDirError(_unsafe(path, "is a symbolic link"))
            if not stat.S_ISDIR(info.st_mode):
                raise DataDirError(_unsafe(path, "is not a directory"))
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            self.close()
            raise DataDirError(_unsafe(path, "belongs to another user"))

    def __enter__(self) -> _Dir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _name(self, name: str) -> str | Path:
        return name if self.fd is not None else self.path / name

    def names(self) -> list[str]:
        return os.listdir(self.fd if self.fd is not None else self.path)

    def open(self, name: str) -> int:
        """Open an entry for reading without following a symlink or blocking on a FIFO."""
        return os.open(self._name(name), _OPEN_FLAGS | _NOFOLLOW, dir_fd=self.fd)

    def lstat(self, name: str) -> os.stat_result:
        return os.stat(self._name(name), dir_fd=self.fd, follow_symlinks=False)

    def unlink(self, name: str) -> None:
        os.unlink(self._name(name), dir_fd=self.fd)

    def rename_to(self, name: str, other: _Dir) -> None:
        """Move an entry to the same name in `other`."""
        os.rename(self._name(name), other._name(name), src_dir_fd=self.fd, dst_dir_fd=other.fd)


def _unsafe(path: Path, problem: str) -> str:
    return f"{path} {problem}; the server only uses real directories of its own inside the data dir"


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover - directories cannot be opened/fsynced on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _act_if_unlocked(
    directory: _Dir, name: str, still_wanted: Callable[[], bool], act: Callable[[str], None]
) -> bool:
    """Run `act(name)` if the entry is a regular file no process holds the flock of, and
    `still_wanted()` holds while we hold that lock. Returns whether `act` ran and succeeded."""
    try:
        fd = directory.open(name)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # a live writer in some process owns it
        if not still_wanted():
            return False
        try:
            if directory.lstat(name).st_ino != info.st_ino:
                return False
            act(name)
        except OSError:
            return False
        return True
    finally:
        os.close(fd)


def _is_idle_file(directory: _Dir, name: str) -> bool:
    """Whether the entry is a regular file that no upload holds locked right now."""
    return _act_if_unlocked(directory, name, _always, _do_nothing)


def _always() -> bool:
    return True


def _do_nothing(name: str) -> None:
    return None
