"""Plain, immutable results of the Files API; protobuf types stop here.

`output/` renders these and `cli/` passes them around; neither ever sees a `_pb` message.
JSON field names follow the proto (`id`, `filename`, `size`, `created_at`, `expires_at`) and times
are RFC 3339 UTC strings (`2026-01-02T03:04:05Z`); adding fields is fine, renaming is not.

Values this client cannot name are passed on as the number the wire carried, never a traceback: a
Timestamp outside years 1-9999 (or with invalid nanos) becomes a `RawTime` (JSON: its seconds since
1970 as an integer), and an enum value newer than our protos stays an int (JSON: that integer).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from xai_files_cli.errors import XaiError
from xai_files_cli.record import Record

SORT_KEYS = ("created_at", "filename", "size")


class RawTime(Record):
    """A wire Timestamp that `datetime` cannot hold (before year 1, after 9999, or invalid nanos)."""

    seconds: int
    nanos: int = 0

    def __str__(self) -> str:
        return f"@{self.seconds}"  # seconds since 1970, as `date -d @SECONDS` reads them


Moment = datetime | RawTime


def moment_of(timestamp: Any) -> Moment:
    """A protobuf Timestamp as an aware UTC datetime, or as a RawTime when datetime cannot hold it."""
    try:
        moment: datetime = timestamp.ToDatetime(tzinfo=timezone.utc)
        return moment
    except (ValueError, OverflowError, OSError):
        return RawTime(int(timestamp.seconds), int(timestamp.nanos))


def timestamp_field(message: Any, field: str) -> Moment | None:
    """An optional Timestamp field of `message`; None when the field is absent."""
    if not message.HasField(field):
        return None
    return moment_of(getattr(message, field))


def epoch_seconds(moment: Moment) -> float:
    """Seconds since 1970-01-01 UTC, for any moment (arithmetic never fails on a RawTime)."""
    if isinstance(moment, RawTime):
        return float(moment.seconds)
    return moment.timestamp()


def rfc3339(moment: Moment | None) -> str | int | None:
    """`2026-01-02T03:04:05Z` (UTC, whole seconds); a RawTime's seconds as an int; or None."""
    if moment is None:
        return None
    if isinstance(moment, RawTime):
        return moment.seconds
    utc = moment if moment.tzinfo is timezone.utc else moment.astimezone(timezone.utc)
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


# Whole seconds since 1970 of years 1 and 9999, the range `datetime` (and so `moment_of`) can hold.
_DATETIME_SECONDS = (-62_135_596_800, 253_402_300_799)
_EPOCH_TEXT = "1970-01-01T00:00:00Z"


def _stamp_json(stamp: Any) -> str | int:
    """`rfc3339(moment_of(stamp))`, faster: the text depends on the whole seconds only (cached)."""
    seconds = int(stamp.seconds)
    if 0 <= stamp.nanos < 1_000_000_000 and _DATETIME_SECONDS[0] <= seconds <= _DATETIME_SECONDS[1]:
        return _second_text(seconds)
    return rfc3339(moment_of(stamp))  # type: ignore[return-value]


@functools.lru_cache(maxsize=1024)
def _second_text(seconds: int) -> str:
    text = rfc3339(datetime.fromtimestamp(0, timezone.utc) + timedelta(seconds=seconds))
    assert isinstance(text, str)
    return text


@functools.lru_cache(maxsize=1024)
def _quoted_second(seconds: int) -> str:
    return f'"{_second_text(seconds)}"'


def _stamp_json_text(stamp: Any) -> str:
    """`_stamp_json(stamp)` as JSON text (a quoted string, or the RawTime's integer)."""
    seconds = stamp.seconds
    if 0 <= stamp.nanos < 1_000_000_000 and _DATETIME_SECONDS[0] <= seconds <= _DATETIME_SECONDS[1]:
        return _quoted_second(seconds)
    return str(_stamp_json(stamp))


def _public_url_text(message: Any, between: str) -> str:
    """The public URL members of a file's JSON text (for a message that has a public URL)."""
    expiry = message.public_url_expires_at
    expires = _stamp_json_text(expiry) if message.HasField("public_url_expires_at") else "null"
    url = _json_string(message.public_url)
    return f'{between}"public_url": {url}{between}"public_url_expires_at": {expires}'


# How a file's JSON object is laid out as text: what opens it, what goes between two members (a
# comma, then a newline and indent or a space), and what closes it (output/machine.py names them).
JsonLayout = tuple[str, str, str]
_json_string = json.encoder.encode_basestring  # json.dumps(ensure_ascii=False)'s, in C


def enum_label(enum_type: Any, value: int, *, prefix: str = "") -> str | int:
    """An enum value's name in lower case without `prefix` (`REASON_STOP` -> `stop`), or the number
    itself when the value is newer than this client's protos."""
    try:
        name: str = enum_type.Name(value)
    except ValueError:
        return int(value)
    return name.removeprefix(prefix).lower()


class FileInfo(Record):
    """Metadata of one stored file (`xai_api.File`)."""

    id: str
    filename: str
    size: int
    created_at: Moment
    expires_at: Moment | None = None
    public_url: str | None = None
    public_url_expires_at: Moment | None = None

    @classmethod
    def from_pb(cls, message: Any) -> FileInfo:
        """Build from an `xai_api.File` message."""
        created = timestamp_field(message, "created_at") or datetime.fromtimestamp(0, timezone.utc)
        return cls(
            id=message.id,
            filename=message.filename,
            size=int(message.size),
            created_at=created,
            expires_at=timestamp_field(message, "expires_at"),
            public_url=message.public_url if message.HasField("public_url") else None,
            public_url_expires_at=timestamp_field(message, "public_url_expires_at"),
        )

    @staticmethod
    def json_from_pb(message: Any) -> dict[str, Any]:
        """`FileInfo.from_pb(message).to_json()` without building the FileInfo (long listings)."""
        data: dict[str, Any] = {
            "id": message.id,
            "filename": message.filename,
            "size": int(message.size),
            "created_at": _stamp_json(message.created_at) if message.HasField("created_at") else _EPOCH_TEXT,
            "expires_at": _stamp_json(message.expires_at) if message.HasField("expires_at") else None,
        }
        if message.HasField("public_url"):
            data["public_url"] = message.public_url
            expiry = message.public_url_expires_at if message.HasField("public_url_expires_at") else None
            data["public_url_expires_at"] = _stamp_json(expiry) if expiry is not None else None
        return data

    @staticmethod
    def json_text_from_pb(message: Any, layout: JsonLayout) -> str:
        """The text `json.dumps` writes for `FileInfo.json_from_pb(message)` (ensure_ascii=False,
        members laid out as `layout` says), made without the object: a long listing's fast path."""
        return FileInfo.json_texts_from_pb([message], layout)[0]

    @staticmethod
    def json_texts_from_pb(messages: Sequence[Any], layout: JsonLayout) -> list[str]:
        """`json_text_from_pb` of each message (a page at a time: one call for a whole page).

        Files listed in time order often share their creation second, so the text of the last
        second is reused while the next file has the same one.
        """
        if not messages:
            return []
        opening, between, closing = layout
        head, filename, size = f'{opening}"id": ', f'{between}"filename": ', f'{between}"size": '
        created_at, expires_at = f'{between}"created_at": ', f'{between}"expires_at": '
        texts: list[str] = []
        append, string, has = texts.append, _json_string, type(messages[0]).HasField
        last_seconds, last_text = None, ""
        for message in messages:
            # An unset created_at reads as 0 seconds: 1970-01-01T00:00:00Z, as `json_from_pb` says.
            stamp = message.created_at
            seconds = stamp.seconds
            if seconds == last_seconds and 0 <= stamp.nanos < 1_000_000_000:
                created = last_text
            else:
                created = _stamp_json_text(stamp)
                # Only a quoted text (a time in range) stands for every stamp of its second.
                last_seconds, last_text = (seconds, created) if created[0] == '"' else (None, "")
            expires = _stamp_json_text(message.expires_at) if has(message, "expires_at") else "null"
            tail = _public_url_text(message, between) + closing if has(message, "public_url") else closing
            append(
                f"{head}{string(message.id)}{filename}{string(message.filename)}"
                f"{size}{message.size:d}{created_at}{created}{expires_at}{expires}{tail}"
            )
        return texts

    def to_json(self) -> dict[str, Any]:
        """The stable JSON object for --json/--jsonl; public URL fields only when a URL is set."""
        data: dict[str, Any] = {
            "id": self.id,
            "filename": self.filename,
            "size": self.size,
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
        }
        if self.public_url is not None:
            data["public_url"] = self.public_url
            data["public_url_expires_at"] = rfc3339(self.public_url_expires_at)
        return data


class Page(Record):
    """One ListFiles page; `next_token` is None on the last page."""

    files: tuple[FileInfo, ...]
    next_token: str | None = None


class PublicUrl(Record):
    """Result of CreatePublicUrl."""

    file_id: str
    url: str
    expires_at: Moment | None = None

    def to_json(self) -> dict[str, Any]:
        # The URL's expiry, named as in a file's JSON (`expires_at` there is the file's own).
        return {
            "id": self.file_id,
            "public_url": self.url,
            "public_url_expires_at": rfc3339(self.expires_at),
        }


class RevokeResult(Record):
    """Result of RevokePublicUrl: `revoked` is False when the file had no URL (a no-op)."""

    file_id: str
    revoked: bool
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.file_id, "revoked": self.revoked, "public_url": self.url}


class DeleteResult(Record):
    """Result of DeleteFile; `already_deleted` when a retry found the file gone after a lost reply."""

    file_id: str
    already_deleted: bool = False


class UploadItem(Record):
    """One file of a batch upload; `name` defaults to the path's basename."""

    path: Path
    name: str | None = None

    @property
    def filename(self) -> str:
        return self.name or self.path.name


class UploadResult(Record):
    """Outcome of one batch item: the stored file (or, when `skipped`, the live file that already
    holds its content), or the error that stopped it; `sha256` of the content when known."""

    item: UploadItem
    file: FileInfo | None = None
    error: XaiError | None = None
    sha256: str | None = None
    seconds: float | None = None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        """`uploaded`, `skipped` or `failed`."""
        if self.error is not None:
            return "failed"
        return "skipped" if self.skipped else "uploaded"

    def to_json(self) -> dict[str, Any]:
        """One JSONL line of a batch: `path`, `status`, then the file object or `error`."""
        head = {"path": str(self.item.path), "status": self.status}
        if self.file is not None:
            return {**head, **self.file.to_json()}
        assert self.error is not None
        return {**head, "error": self.error.to_json()}
