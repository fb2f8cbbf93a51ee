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
