"""The local server's Auth service: `get_api_key_info` describes the key a call was made with.

The values are deterministic: the emulator has one team and one user, the key's id is derived from
a SHA-256 of the key (so the same key always gets the same id, and the key cannot be read back
from it), and the key shows only masked (`****abcd`, as the CLI masks keys). With `--no-auth`, the
key a client happens to send is described; a call without one gets an empty description named so.

`presented_key` and `key_owner` are shared with the stored completions, which belong to a key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from xai_files_cli._pb import auth_pb2, auth_pb2_grpc
from xai_files_cli.emulator.models_service import CREATED_SECONDS
from xai_files_cli.redact import mask

LOCAL_TEAM_ID = "00000000-0000-4000-8000-00000000c0de"
LOCAL_USER_ID = "00000000-0000-4000-8000-0000000000e5"
KEY_NAME = "local server key"
NO_KEY_NAME = "no key (the local server runs without auth)"
KEY_ACLS = ("api-key:model:*", "api-key:endpoint:*")
_SCHEME = "Bearer "


def register(server: grpc.Server) -> None:
    """Add the Auth service to `server`."""
    auth_pb2_grpc.add_AuthServicer_to_server(AuthServicer(), server)


def presented_key(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The API key of the call's `authorization: Bearer <key>` metadata, or "" without one.

    The auth interceptor has already checked it when the server has a key; with `--no-auth`
    whatever key was sent is taken as the caller's identity.
    """
    for name, value in metadata or ():
        if name != "authorization":
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text.startswith(_SCHEME):
            return text[len(_SCHEME) :].strip()
    return ""


def key_owner(key: str) -> str:
    """The identity stored data is kept under: a SHA-256 of the key (hex), never the key itself."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def api_key_info(key: str) -> auth_pb2.ApiKey:
    """The description of `key` ("" = no key) that get_api_key_info returns."""
    created = Timestamp(seconds=CREATED_SECONDS)
    if not key:
        return auth_pb2.ApiKey(name=NO_KEY_NAME, team_id=LOCAL_TEAM_ID, create_time=created)
    digest = hashlib.sha256(b"api-key-id:" + key.encode("utf-8", "surrogateescape")).hexdigest()
    return auth_pb2.ApiKey(
        redacted_api_key=mask(key),
        user_id=LOCAL_USER_ID,
        name=KEY_NAME,
        create_time=created,
        modify_time=created,
        modified_by=LOCAL_USER_ID,
        team_id=LOCAL_TEAM_ID,
        acls=list(KEY_ACLS),
        api_key_id=str(uuid.UUID(hex=digest[:32], version=4)),
        api_key_blocked=False,
        team_blocked=False,
        disabled=False,
    )


class AuthServicer(auth_pb2_grpc.AuthServicer):
    """`xai_api.Auth`: get_api_key_info for the calling key."""

    def get_api_key_info(self, request, context):
        return api_key_info(presented_key(context.invocation_metadata()))
