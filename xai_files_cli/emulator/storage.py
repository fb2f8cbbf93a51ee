"""Crash-safe file store of the emulator: SQLite metadata (WAL) plus one blob file per file id.

Layout under the data dir (dirs 0700, files 0600):
    files.db (+ -wal, -shm)   metadata; schema from migrations.py
    blobs/<file id>           content of a committed file, named by the server id only
    tmp/<file id>.part        an upload in progress

Write protocol (reliability.md, security/emulator 6): an upload streams into tmp/<id>.part,
is fsynced, renamed to blobs/<id>, the blobs dir is fsynced, and only THEN the row is inserted.
A delete commits the row removal first and unlinks the blob afterwards. So after a crash at any
point a file is either fully present (row + blob) or absent from every listing; leftovers
(temp files, blobs without a row) are removed when a store is opened.

Several processes may share one data dir (`xai serve` and `xai --local` runs): SQLite serializes
the metadata, and every upload holds an exclusive flock on its temp/blob file until its row is
committed, so another process's startup cleanup never removes a file that is still being written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from xai_files_cli.emulator import content
from xai_files_cli.emulator.migrations import apply_migrations
from xai_files_cli.emulator.validation import is_file_id, new_file_id

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: open files cannot be deleted there anyway
    fcntl = None  # type: ignore[assignment]

DEFAULT_MAX_FILE_SIZE = 512_000_000
BUSY_TIMEOUT_MS = 10_000
DB_NAME = "files.db"
_SORT_COLUMNS = {"created_at": "created_at_ns", "filename": "filename", "size": "size"}
_COLUMNS = (
    "id, filename, size, content_type, created_at_ns, expires_at_ns, public_url, public_url_expires_at_ns"
)


class FileTooLarge(Exception):
    """An upload crossed the maximum file size; the partial data is already removed."""


class StorageFull(Exception):
    """The disk is full (ENOSPC/EDQUOT); the partial data is already removed."""


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
        """Open (creating if needed) the store in `data_dir`, migrate, and clean up after crashes."""
        self.data_dir = Path(data_dir)
        self.blob_dir = self.data_dir / "blobs"
        self.tmp_dir = self.data_dir / "tmp"
        self.db_path = self.data_dir / DB_NAME
        self.clock = clock
        self.max_file_size = max_file_size
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        for directory in (self.data_dir, self.blob_dir, self.tmp_dir):
            _make_private_dir(directory)
        if not self.db_path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            apply_migrations(self._conn())
            self.cleanup()
        except BaseException:
            self.close()  # e.g. a damaged database: do not leak the connection just opened
            raise

    # -- connections ---------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (one per thread; SQLite and the write lock serialize writers)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("storage is closed")
            conn = sqlite3.connect(
                self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE write transaction, serialized within this process.

        On any failure, the COMMIT included, the transaction is rolled back explicitly, as SQLite
        advises: after SQLITE_FULL/IOERR/BUSY it may still be open, holding the write lock.
        """
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # fails if SQLite already rolled back
                    conn.execute("ROLLBACK")
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

    def close(self) -> None:
        """Close every connection; later calls fail."""
        self._closed = True
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

    def _insert(self, record: FileRecord) -> None:
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO files ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    record.id,
                    record.filename,
                    record.size,
                    record.content_type,
                    record.created_at_ns,
                    record.expires_at_ns,
                ),
            )

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
        """An open binary file of a live file's content, or None. The caller closes it.

        The open descriptor keeps the content readable even if the file is deleted meanwhile.
        """
        if self.get(file_id) is None:
            return None
        try:
            return open(self.blob_dir / file_id, "rb")
        except FileNotFoundError:  # deleted between the lookup and the open
            return None

    def list_files(
        self,
        *,
        sort: str = "created_at",
        descending: bool = False,
        limit: int = 100,
        after: tuple[int | str, str] | None = None,
        where: tuple[str, tuple[object, ...]] | None = None,
    ) -> tuple[list[FileRecord], bool]:
        """One page of live files ordered by (`sort`, id); returns (records, more_pages_exist).

        `after` is the keyset position (sort value, id) of the last file of the previous page;
        `where` is an extra trusted SQL condition with its bound parameters (see filters.py).
        """
        column = _SORT_COLUMNS[sort]
        direction, cmp = ("DESC", "<") if descending else ("ASC", ">")
        now = self.now_ns()
        clauses = ["(expires_at_ns IS NULL OR expires_at_ns > ?)"]
        params: list[object] = [now]
        if after is not None:
            clauses.append(f"({column} {cmp} ? OR ({column} = ? AND id {cmp} ?))")
            params.extend([after[0], after[0], after[1]])
        if where is not None:
            clauses.append(f"({where[0]})")
            params.extend(where[1])
        sql = (
            f"SELECT {_COLUMNS} FROM files WHERE {' AND '.join(clauses)} "
            f"ORDER BY {column} {direction}, id {direction} LIMIT ?"
        )
        params.append(limit + 1)
        rows = self._conn().execute(sql, params).fetchall()
        return [self._record(row, now) for row in rows[:limit]], len(rows) > limit

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
        """Delete a live file: the row first (committed), then the blob. False if not found."""
        if not is_file_id(file_id):
            return False
        now = self.now_ns()
        with self._write() as conn:
            row = conn.execute("SELECT expires_at_ns FROM files WHERE id = ?", (file_id,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
        self._unlink_blob(file_id)
        return row[0] is None or row[0] > now

    def sweep_expired(self) -> int:
        """Remove every expired file (row, then blob); returns how many were removed."""
        now = self.now_ns()
        with self._write() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM files WHERE expires_at_ns IS NOT NULL AND expires_at_ns <= ?", (now,)
                )
            ]
            conn.executemany("DELETE FROM files WHERE id = ?", [(file_id,) for file_id in ids])
        for file_id in ids:
            self._unlink_blob(file_id)
        return len(ids)

    def _unlink_blob(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.blob_dir / file_id)

    # -- public URLs ---------------------------------------------------------------------------

    def set_public_url(
        self, file_id: str, make_url: Callable[[], str], expires_after: int | None
    ) -> FileRecord | None:
        """Create the file's public URL, or return the existing one (updating its expiry if given).

        With no `expires_after` a new URL inherits the file's own expiry (or never expires).
        Returns the updated record, or None if the file is not live.
        """
        now = self.now_ns()
        with self._write() as conn:
            current = self._live_record(conn, file_id, now)
            if current is None:
                return None
            url = current.public_url or make_url()
            if expires_after is not None:
                url_expires: int | None = now + expires_after * 1_000_000_000
            elif current.public_url is not None:
                url_expires = current.public_url_expires_at_ns
            else:
                url_expires = current.expires_at_ns
            conn.execute(
                "UPDATE files SET public_url = ?, public_url_expires_at_ns = ? WHERE id = ?",
                (url, url_expires, file_id),
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
                "UPDATE files SET public_url = NULL, public_url_expires_at_ns = NULL WHERE id = ?", (file_id,)
            )
        return PublicUrlChange(current.public_url is not None, current.public_url)

    # -- crash recovery ------------------------------------------------------------------------

    def cleanup(self) -> tuple[int, int]:
        """Remove stale temp files and blobs without a row (never ones another process is writing).

        Also sweeps expired files. Returns (temp files removed, orphan blobs removed).
        """
        self.sweep_expired()
        temps = 0
        for path in self.tmp_dir.iterdir():
            if _remove_if_unlocked(path, lambda: True):
                temps += 1
        known = self.all_ids()
        orphans = 0
        for path in self.blob_dir.iterdir():
            name = path.name
            if not is_file_id(name) or name in known:
                continue

            def still_orphan(name: str = name) -> bool:
                # Re-check under the lock: the writer may have committed just before releasing it.
                return self._conn().execute("SELECT 1 FROM files WHERE id = ?", (name,)).fetchone() is None

            if _remove_if_unlocked(path, still_orphan):
                orphans += 1
        return temps, orphans


class Upload:
    """An upload in progress: data goes to tmp/<id>.part; nothing is visible until `commit()`.

    Use as a context manager: leaving the block without a commit (error, cancellation) aborts
    and removes the temp file.
    """

    def __init__(self, storage: Storage, filename: str, ttl_seconds: int | None) -> None:
        self.storage = storage
        self.filename = filename
        self.ttl_seconds = ttl_seconds
        self.size = 0
        self._head = b""
        self._done = False
        self.file_id, self._file, self.tmp_path = self._create_temp()

    def _create_temp(self) -> tuple[str, BinaryIO, Path]:
        while True:
            file_id = new_file_id()
            path = self.storage.tmp_dir / f"{file_id}.part"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # Another process's cleanup may have removed the name between create and lock.
                try:
                    same = os.stat(path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
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
        try:
            self._file.write(data)
        except OSError as error:
            self._fail_on_disk_error(error)
        self.size += len(data)

    def commit(self) -> FileRecord:
        """Make the file durable and visible: fsync, rename, fsync dir, then insert the row."""
        storage = self.storage
        blob_path = storage.blob_dir / self.file_id
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            os.rename(self.tmp_path, blob_path)
            self.tmp_path = blob_path  # from here on, abort() must remove the blob
            _fsync_dir(storage.blob_dir)
        except OSError as error:
            self._fail_on_disk_error(error)
        created = storage.now_ns()
        record = FileRecord(
            id=self.file_id,
            filename=self.filename,
            size=self.size,
            content_type=content.sniff_content_type(self._head, self.filename),
            created_at_ns=created,
            expires_at_ns=None if self.ttl_seconds is None else created + self.ttl_seconds * 1_000_000_000,
        )
        try:
            storage._insert(record)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._file.close()  # releases the flock only now that the row is committed
        return record

    def abort(self) -> None:
        """Discard the upload: close and remove the temp file (or the renamed blob). Idempotent."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp_path)
        with contextlib.suppress(OSError):
            self._file.close()

    def _fail_on_disk_error(self, error: OSError) -> None:
        self.abort()
        if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise StorageFull("no space left on the server's disk") from None
        raise error


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover - directories cannot be opened/fsynced on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_if_unlocked(path: Path, still_wanted: Callable[[], bool]) -> bool:
    """Unlink `path` if no process holds its flock and `still_wanted()` holds under our lock."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # a live writer in some process owns it
        if not still_wanted():
            return False
        try:
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return False
            os.unlink(path)
        except OSError:
            return False
        return True
    finally:
        os.close(fd)
