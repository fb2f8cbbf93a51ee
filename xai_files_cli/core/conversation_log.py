"""The conversation log: every `xai chat` turn in a local SQLite database, so a conversation can go on.

One database file, `$XAI_LOGS_PATH`, else `conversations.db` in the user data dir (platformdirs,
as llm keeps its `logs.db`). The directory is created 0700 and the file 0600: prompts and answers
are private. A conversation has turns (prompt, answer, model, response id, usage, citations, the
ids of the files attached at that turn, time) and files (id, name, the local path it was uploaded
from, whether the conversation uploaded it, its expiry on the server). Conversation ids are eight
hex digits; any unique prefix of four or more names one.

Writes are one transaction per turn; several `xai` processes may share the file (SQLite locking,
with a busy timeout).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xai_files_cli.errors import InternalError, NotFoundError, UsageError

LOG_PATH_ENV = "XAI_LOGS_PATH"
LOG_FILE_NAME = "conversations.db"
MIN_PREFIX = 4
BUSY_TIMEOUT_MS = 5000
TITLE_CHARS = 60
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    model TEXT NOT NULL,
    system TEXT,
    store INTEGER NOT NULL DEFAULT 0,
    host TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    content TEXT NOT NULL,
    reasoning_content TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL,
    response_id TEXT NOT NULL,
    stored INTEGER NOT NULL DEFAULT 0,
    finish_reason TEXT,
    usage TEXT NOT NULL,
    citations TEXT NOT NULL,
    sources TEXT NOT NULL,
    file_ids TEXT NOT NULL,
    images TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE TABLE IF NOT EXISTS files (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    file_id TEXT NOT NULL,
    name TEXT,
    path TEXT,
    uploaded INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    expires_at REAL,
    turn INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, file_id)
);
CREATE INDEX IF NOT EXISTS conversations_by_update ON conversations(updated_at);
"""


def default_log_path() -> Path:
    """`$XAI_LOGS_PATH`, else `conversations.db` in the user data dir."""
    override = os.environ.get(LOG_PATH_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("xai", appauthor=False)) / LOG_FILE_NAME


def iso_time(seconds: float | None) -> str | None:
    """RFC 3339 UTC with seconds (`2026-03-01T12:00:00Z`), as the JSON of files has it."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def title_of(prompt: str) -> str:
    """A conversation's title: the first line of its first prompt, cut to 60 characters."""
    line = next((part.strip() for part in prompt.splitlines() if part.strip()), "")
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachedFile:
    """A file attached to a conversation.

    `uploaded`: the conversation uploaded it from `path` (and `conversations rm` deletes it) rather
    than being given its id; `kept`: uploaded with --keep, without expiry; `expires_at`: when the
    server deletes it (epoch seconds), None when unknown or never.
    """

    file_id: str
    name: str | None = None
    path: str | None = None
    uploaded: bool = False
    kept: bool = False
    expires_at: float | None = None
    deleted: bool = False

    def label(self) -> str:
        return self.name or self.file_id

    def expired(self, now: float, margin: float = 0.0) -> bool:
        """Gone from the server by `now + margin` (only known for files with an expiry)."""
        return self.expires_at is not None and self.expires_at <= now + margin

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "name": self.name,
            "path": self.path,
            "uploaded": self.uploaded,
            "deleted": self.deleted,
            "expires_at": iso_time(self.expires_at),
        }


@dataclass(frozen=True)
class Turn:
    """One question and its answer, as recorded."""

    seq: int
    prompt: str
    content: str
    model: str
    response_id: str
    created_at: float
    reasoning_content: str = ""
    stored: bool = False  # the server keeps this response (--store)
    finish_reason: str | int | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    citations: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    file_ids: tuple[str, ...] = ()
    images: tuple[str, ...] = ()

    def to_json(self, files: dict[str, AttachedFile]) -> dict[str, Any]:
        """The shape of `xai chat --json`, plus the turn's number, prompt and time."""
        return {
            "turn": self.seq,
            "prompt": self.prompt,
            "id": self.response_id,
            "model": self.model,
            "content": self.content,
            "reasoning_content": self.reasoning_content,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "citations": self.citations,
            "sources": self.sources,
            "stored": self.stored,
            "files": [(files.get(file_id) or AttachedFile(file_id)).to_json() for file_id in self.file_ids],
            "images": list(self.images),
            "created_at": iso_time(self.created_at),
        }


@dataclass(frozen=True)
class Conversation:
    """A logged conversation; `turns` are loaded for `find`/`latest`, empty in `list` (see turn_count)."""

    id: str
    title: str
    model: str
    system: str | None
    store: bool
    host: str
    created_at: float
    updated_at: float
    turn_count: int
    files: tuple[AttachedFile, ...] = ()
    turns: tuple[Turn, ...] = ()

    def file_map(self) -> dict[str, AttachedFile]:
        return {f.file_id: f for f in self.files}

    def summary_json(self) -> dict[str, Any]:
        """What `conversations ls --json` shows of it."""
        return {
            "id": self.id,
            "title": self.title,
            "model": self.model,
            "store": self.store,
            "turns": self.turn_count,
            "files": [f.to_json() for f in self.files],
            "created_at": iso_time(self.created_at),
            "updated_at": iso_time(self.updated_at),
        }

    def to_json(self) -> dict[str, Any]:
        """What `conversations show --json` shows: the summary, the system prompt and every turn."""
        files = self.file_map()
        return {
            **self.summary_json(),
            "system": self.system,
            "host": self.host,
            "messages": [turn.to_json(files) for turn in self.turns],
        }


@dataclass(frozen=True)
class NewConversation:
    """What a conversation's first recorded turn creates."""

    id: str
    title: str
    system: str | None
    store: bool
    host: str


# -- the database ---------------------------------------------------------------------------------


class ConversationLog:
    """The log database; open with `ConversationLog.open()`, close when done."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None) -> ConversationLog:
        """Open (creating it private, 0700 directory and 0600 file) the log at `path` or the default.

        Raises:
            InternalError: the file cannot be created, opened or read as a conversation log.
        """
        path = path or default_log_path()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise _log_error(path, error) from None
        log = cls(connection, path)
        try:
            log._prepare()
        except sqlite3.Error as error:
            connection.close()
            raise _log_error(path, error) from None
        return log

    def _prepare(self) -> None:
        self._db.execute("PRAGMA foreign_keys = ON")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"it was written by a newer xai (schema {version})")
        if version < SCHEMA_VERSION:
            self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _guard(self) -> contextlib.AbstractContextManager[None]:
        return _translate(self.path)

    # -- reading ------------------------------------------------------------------------------
    def list(self, limit: int | None = None) -> list[Conversation]:
        """Conversations, most recently updated first, with their files but not their turns."""
        with self._guard():
            rows = self._db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) "
                "FROM conversations c ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
            return [self._conversation(row, with_turns=False) for row in rows]

    def latest(self) -> Conversation | None:
        """The most recently updated conversation, with its turns; None when the log is empty."""
        with self._guard():
            row = self._db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) "
                "FROM conversations c ORDER BY c.updated_at DESC, c.rowid DESC LIMIT 1"
            ).fetchone()
            return None if row is None else self._conversation(row, with_turns=True)

    def find(self, ref: str) -> Conversation:
        """The conversation whose id is `ref` or starts with it (four characters at least).

        Raises:
            NotFoundError: no such conversation (exit 4).
            UsageError: a prefix that is too short or names several (exit 2).
        """
        ref = ref.strip().lower()
        with self._guard():
            row = self._db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) "
                "FROM conversations c WHERE id = ?",
                (ref,),
            ).fetchone()
            if row is None and len(ref) >= MIN_PREFIX:
                matches = self._db.execute(
                    "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) "
                    "FROM conversations c WHERE substr(id, 1, ?) = ? LIMIT 2",
                    (len(ref), ref),
                ).fetchall()
                if len(matches) > 1:
                    raise UsageError(f"conversation id prefix '{ref}' names several; give more of it")
                row = matches[0] if matches else None
            if row is None:
                hint = "`xai conversations ls` lists them"
                if 0 < len(ref) < MIN_PREFIX:
                    hint = f"give at least {MIN_PREFIX} characters of the id; " + hint
                raise NotFoundError(f"no conversation '{ref}' in the log", hint=hint)
            return self._conversation(row, with_turns=True)

    def _conversation(self, row: sqlite3.Row | tuple[Any, ...], *, with_turns: bool) -> Conversation:
        (cid, title, model, system, store, host, created_at, updated_at, turn_count) = row
        files = tuple(
            AttachedFile(
                file_id=f[0],
                name=f[1],
                path=f[2],
                uploaded=bool(f[3]),
                kept=bool(f[4]),
                expires_at=f[5],
            )
            for f in self._db.execute(
                "SELECT file_id, name, path, uploaded, kept, expires_at FROM files "
                "WHERE conversation_id = ? ORDER BY turn, rowid",
                (cid,),
            )
        )
        turns = tuple(self._turns(cid)) if with_turns else ()
        return Conversation(
            id=cid,
            title=title,
            model=model,
            system=system,
            store=bool(store),
            host=host,
            created_at=created_at,
            updated_at=updated_at,
            turn_count=turn_count,
            files=files,
            turns=turns,
        )

    def _turns(self, cid: str) -> Iterator[Turn]:
        rows = self._db.execute(
            "SELECT seq, prompt, content, reasoning_content, model, response_id, stored, finish_reason, "
            "usage, citations, sources, file_ids, images, created_at FROM turns "
            "WHERE conversation_id = ? ORDER BY seq",
            (cid,),
        )
        for row in rows:
            finish = row[7]
            yield Turn(
                seq=row[0],
                prompt=row[1],
                content=row[2],
                reasoning_content=row[3],
                model=row[4],
                response_id=row[5],
                stored=bool(row[6]),
                finish_reason=int(finish) if isinstance(finish, str) and finish.isdigit() else finish,
                usage=json.loads(row[8]),
                citations=json.loads(row[9]),
                sources=json.loads(row[10]),
                file_ids=tuple(json.loads(row[11])),
                images=tuple(json.loads(row[12])),
                created_at=row[13],
            )

    # -- writing ------------------------------------------------------------------------------
    def new_id(self) -> str:
        """A fresh conversation id: eight hex digits, not in the log yet."""
        with self._guard():
            while True:
                candidate = secrets.token_hex(4)
                if not self._db.execute("SELECT 1 FROM conversations WHERE id = ?", (candidate,)).fetchone():
                    return candidate

    def record_turn(
        self,
        conversation_id: str,
        turn: Turn,
        files: Sequence[AttachedFile],
        *,
        new: NewConversation | None = None,
        replaced: dict[str, str] | None = None,
    ) -> None:
        """Add `turn` (creating the conversation first when `new`), its files and the file ids it
        replaced (old id -> new id: an expired upload sent again), in one transaction."""
        with self._guard(), self._transaction():
            if new is not None:
                self._db.execute(
                    "INSERT INTO conversations "
                    "(id, title, model, system, store, host, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new.id,
                        new.title,
                        turn.model,
                        new.system,
                        int(new.store),
                        new.host,
                        turn.created_at,
                        turn.created_at,
                    ),
                )
            for old, fresh in (replaced or {}).items():
                self._replace_file_id(conversation_id, old, fresh)
            for attached in files:
                self._db.execute(
                    "INSERT INTO files "
                    "(conversation_id, file_id, name, path, uploaded, kept, expires_at, turn) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, file_id) DO UPDATE SET "
                    "name = COALESCE(excluded.name, files.name), expires_at = excluded.expires_at",
                    (
                        conversation_id,
                        attached.file_id,
                        attached.name,
                        attached.path,
                        int(attached.uploaded),
                        int(attached.kept),
                        attached.expires_at,
                        turn.seq,
                    ),
                )
            self._db.execute(
                "INSERT INTO turns (conversation_id, seq, prompt, content, reasoning_content, model, "
                "response_id, stored, finish_reason, usage, citations, sources, file_ids, images, "
                "created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    turn.seq,
                    turn.prompt,
                    turn.content,
                    turn.reasoning_content,
                    turn.model,
                    turn.response_id,
                    int(turn.stored),
                    None if turn.finish_reason is None else str(turn.finish_reason),
                    json.dumps(turn.usage),
                    json.dumps(turn.citations),
                    json.dumps(turn.sources),
                    json.dumps(list(turn.file_ids)),
                    json.dumps(list(turn.images)),
                    turn.created_at,
                ),
            )
            self._db.execute(
                "UPDATE conversations SET updated_at = ?, model = ?, store = store OR ? WHERE id = ?",
                (turn.created_at, turn.model, int(turn.stored), conversation_id),
            )

    def _replace_file_id(self, conversation_id: str, old: str, fresh: str) -> None:
        """Every mention of file `old` in the conversation becomes `fresh` (its record is dropped)."""
        self._db.execute(
            "DELETE FROM files WHERE conversation_id = ? AND file_id = ?", (conversation_id, old)
        )
        rows = self._db.execute(
            "SELECT seq, file_ids FROM turns WHERE conversation_id = ?", (conversation_id,)
        ).fetchall()
        for seq, ids in rows:
            listed = json.loads(ids)
            if old in listed:
                updated = [fresh if value == old else value for value in listed]
                self._db.execute(
                    "UPDATE turns SET file_ids = ? WHERE conversation_id = ? AND seq = ?",
                    (json.dumps(updated), conversation_id, seq),
                )

    def delete(self, conversation_id: str) -> None:
        """Remove a conversation, its turns and its file records."""
        with self._guard(), self._transaction():
            self._db.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            self._db.execute("DELETE FROM files WHERE conversation_id = ?", (conversation_id,))
            self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))


def with_names(files: Sequence[AttachedFile], names: dict[str, str]) -> list[AttachedFile]:
    """`files` with a name filled in from `names` (file id -> name) where it was unknown."""
    return [replace(f, name=names[f.file_id]) if not f.name and f.file_id in names else f for f in files]


def _log_error(path: Path, error: Exception) -> InternalError:
    detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return InternalError(
        f"cannot use the conversation log {path}: {detail}",
        hint=f"set {LOG_PATH_ENV} to another file, or use --no-log",
    )


@contextlib.contextmanager
def _translate(path: Path) -> Iterator[None]:
    """sqlite3 errors (a locked, corrupt or unwritable log) as one-line InternalErrors."""
    try:
        yield
    except sqlite3.Error as error:
        raise _log_error(path, error) from None
