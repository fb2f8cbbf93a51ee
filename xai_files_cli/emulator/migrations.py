"""Named, ordered schema migrations for the emulator's SQLite database, applied on open.

Each migration runs once, inside the same write transaction that records its name in
`_migrations`, so a crash or a second process opening the same data dir never applies one twice.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[tuple[str, str]] = [
    (
        "m001_files",
        """
        CREATE TABLE files (
            id            TEXT PRIMARY KEY,
            filename      TEXT NOT NULL,
            size          INTEGER NOT NULL,
            content_type  TEXT NOT NULL,
            created_at_ns INTEGER NOT NULL,
            expires_at_ns INTEGER
        );
        CREATE INDEX files_created ON files (created_at_ns, id);
        CREATE INDEX files_filename ON files (filename, id);
        CREATE INDEX files_size ON files (size, id);
        CREATE INDEX files_expires ON files (expires_at_ns) WHERE expires_at_ns IS NOT NULL;
        """,
    ),
    (
        "m002_public_urls",
        """
        ALTER TABLE files ADD COLUMN public_url TEXT;
        ALTER TABLE files ADD COLUMN public_url_expires_at_ns INTEGER;
        """,
    ),
    (
        # Blobs the database knows to be garbage: an upload about to rename its blob into blobs/
        # (the row follows) or a deleted file whose blob is about to be unlinked. Start-up cleanup
        # removes only such blobs; a blob the database cannot name is kept (moved to lost+found).
        "m003_blob_intents",
        """
        CREATE TABLE blob_intents (
            id    TEXT PRIMARY KEY,
            kind  TEXT NOT NULL CHECK (kind IN ('upload', 'delete')),
            at_ns INTEGER NOT NULL
        );
        """,
    ),
    (
        # Chat completions kept with `store_messages`: the conversation up to and including the
        # answer (`context`, a serialized GetCompletionsRequest) and the response as sent, per API
        # key (`owner` is a SHA-256 of the key, never the key).
        "m004_stored_completions",
        """
        CREATE TABLE stored_completions (
            id            TEXT PRIMARY KEY,
            owner         TEXT NOT NULL,
            context       BLOB NOT NULL,
            response      BLOB NOT NULL,
            created_at_ns INTEGER NOT NULL
        );
        CREATE INDEX stored_completions_owner ON stored_completions (owner, created_at_ns);
        """,
    ),
    (
        # List pages seek one of the files_by_* indexes to the page token's (sort value, id) and read
        # on in index order; the columns every page tests (expiry, and created_at windows of
        # concurrent cursors) are in each index, so skipped rows cost no table lookup. Public links
        # are found by their token (the last part of the URL), which the local HTTP server is given;
        # server_settings keeps the data dir's public port, so a link is the same in every process.
        "m005_keyset_indexes_public_links",
        """
        DROP INDEX files_created;
        DROP INDEX files_filename;
        DROP INDEX files_size;
        CREATE INDEX files_by_created ON files (created_at_ns, id, expires_at_ns);
        CREATE INDEX files_by_filename ON files (filename, id, created_at_ns, expires_at_ns);
        CREATE INDEX files_by_size ON files (size, id, created_at_ns, expires_at_ns);
        ALTER TABLE files ADD COLUMN public_token TEXT;
        UPDATE files SET public_token = substr(public_url, instr(public_url, '/public/') + 8)
            WHERE public_url IS NOT NULL AND instr(public_url, '/public/') > 0;
        CREATE UNIQUE INDEX files_public_token ON files (public_token) WHERE public_token IS NOT NULL;
        CREATE TABLE server_settings (
            name  TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        # The bytes of small files (at most storage.INLINE_LIMIT), kept in the database instead of a
        # blob file each, committed in the same transaction as their row. A side table keeps the rows
        # of `files` (read by every list page) as small as before; a row's bytes go with the row.
        "m006_inline_blobs",
        """
        CREATE TABLE inline_blobs (
            id   TEXT PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
            data BLOB NOT NULL
        );
        """,
    ),
    (
        # Each file's entry of a ListFiles reply as it goes on the wire (a framed `data` field: the
        # File without its public URL, whose fields come last), so a list page is the concatenation
        # of its rows' entries. Rows written before (or by an older server) have NULL until the
        # store fills them in at start-up; a page with such a row is built from the columns.
        "m007_list_entries",
        """
        ALTER TABLE files ADD COLUMN list_entry BLOB;
        """,
    ),
    (
        # The rows still without a list entry, found at start-up without a scan of every file (empty
        # once they are filled in; rows with an entry never enter it).
        "m008_rows_without_list_entry",
        """
        CREATE INDEX files_without_list_entry ON files (id) WHERE list_entry IS NULL;
        """,
    ),
]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now (in order).

    `conn` must be in autocommit mode (isolation_level=None); each migration gets its own
    `BEGIN IMMEDIATE` transaction so concurrent openers serialize on SQLite's write lock.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied_now: list[str] = []
    for name, sql in MIGRATIONS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone()
            if done is None:
                for statement in _split_statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", (name,)
                )
                applied_now.append(name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied_now


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations recorded in the database, oldest first."""
    rows = conn.execute("SELECT name FROM _migrations ORDER BY name").fetchall()
    return [row[0] for row in rows]


def _split_statements(sql: str) -> list[str]:
    # executescript() would COMMIT our transaction first, so run statements one by one.
    return [part.strip() for part in sql.split(";") if part.strip()]
