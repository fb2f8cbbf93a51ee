"""Opaque ListFiles page tokens: a keyset cursor (last sort value + last id), validated on the way in.

A token is `p1.` + base64url(JSON). It records the sort key, the direction and a digest of the
filter it was issued for, so reusing it with other parameters is refused (INVALID_ARGUMENT)
instead of silently skipping or repeating files. Because it holds a position rather than an
offset, pages stay correct while other files are inserted or deleted.

The tokens ListFiles issued most recently (`issue`) are remembered with their cursor, so the token of
the next page (nearly every token a server is sent) is taken back without being parsed again.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

from xai_files_cli.emulator.validation import is_file_id

TOKEN_PREFIX = "p1."
# The JSON is UTF-8, so a 255-character filename takes at most 1,020 bytes and the longest token
# is about 1,500 characters; \uXXXX escapes would take up to 3,060 and overflow this limit.
MAX_TOKEN_CHARS = 2048
SORT_KEYS = ("created_at", "filename", "size")
_INT64 = (-(2**63), 2**63 - 1)
ISSUED_TOKENS_KEPT = 1024  # a listing has one token per cursor in flight, used at once
_json_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


class TokenError(ValueError):
    """The pagination token is malformed or belongs to a different query."""


@dataclass(frozen=True)
class Cursor:
    """Position after the last file of a page, for one sort key/direction/filter."""

    sort: str
    descending: bool
    value: int | str
    file_id: str
    filter_digest: str


_issued: OrderedDict[str, Cursor] = OrderedDict()  # token -> the cursor it was made from, oldest first


@functools.lru_cache(maxsize=256)
def filter_digest(filter_text: str | None) -> str:
    """A short digest of the filter text so a token is only valid for the query that made it."""
    return hashlib.sha256((filter_text or "").encode("utf-8")).hexdigest()[:16]


def issue(cursor: Cursor) -> str:
    """`encode(cursor)` for a cursor the server made from a listed file, remembered (see the module doc)."""
    token = encode(cursor)
    _issued[token] = cursor
    if len(_issued) > ISSUED_TOKENS_KEPT:
        _issued.popitem(last=False)
    return token


def encode(cursor: Cursor) -> str:
    """Serialize a cursor into an opaque token: the JSON `json.dumps` writes, without its set-up."""
    value = _json_string(cursor.value) if isinstance(cursor.value, str) else str(int(cursor.value))
    text = (
        f'{{"s":{_json_string(cursor.sort)},"d":{"true" if cursor.descending else "false"},"v":{value},'
        f'"i":{_json_string(cursor.file_id)},"f":{_json_string(cursor.filter_digest)}}}'
    )
    encoded = binascii.b2a_base64(text.encode("utf-8"), newline=False).translate(_TO_URLSAFE)
    return TOKEN_PREFIX + encoded.decode("ascii").rstrip("=")


def decode(token: str, *, sort: str, descending: bool, filter_text: str | None) -> Cursor:
    """Parse and validate a token against the request it came with; raises TokenError."""
    if len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        raise TokenError("invalid pagination token")
    issued = _issued.get(token)
    if (
        issued is not None
        and issued.sort == sort
        and issued.descending == descending
        and issued.filter_digest == filter_digest(filter_text)
    ):
        return issued
    body = token[len(TOKEN_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenError("invalid pagination token") from None
    if not isinstance(payload, dict) or set(payload) != {"s", "d", "v", "i", "f"}:
        raise TokenError("invalid pagination token")
    value, file_id = payload["v"], payload["i"]
    if payload["s"] not in SORT_KEYS or not isinstance(payload["d"], bool):
        raise TokenError("invalid pagination token")
    wants_str = payload["s"] == "filename"
    if wants_str and not (isinstance(value, str) and _is_utf8(value)):
        raise TokenError("invalid pagination token")
    if not wants_str and (isinstance(value, bool) or not isinstance(value, int)):
        raise TokenError("invalid pagination token")
    if not wants_str and not _INT64[0] <= value <= _INT64[1]:  # SQLite cannot bind it
        raise TokenError("invalid pagination token")
    if not isinstance(file_id, str) or not is_file_id(file_id):
        raise TokenError("invalid pagination token")
    if payload["s"] != sort or payload["d"] != descending:
        raise TokenError("pagination token was issued for a different sort_by/order")
    if payload["f"] != filter_digest(filter_text):
        raise TokenError("pagination token was issued for a different filter")
    return Cursor(payload["s"], payload["d"], value, file_id, payload["f"])


def _is_utf8(text: str) -> bool:
    """False for strings with lone surrogates (JSON allows `\\ud800`; SQLite cannot bind it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
