"""What the server says about the calling API key: the Auth service's `get_api_key_info`.

The key itself never comes back, only its redacted form. A server without the Auth service
answers UNIMPLEMENTED; `fetch_key_info` then returns None so callers can fall back to another
check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import empty_pb2

from xai_files_cli._pb import auth_pb2_grpc
from xai_files_cli.core import rpc
from xai_files_cli.core.channel import target_of
from xai_files_cli.core.records import Moment, rfc3339, timestamp_field


@dataclass(frozen=True)
class KeyInfo:
    """An API key as `get_api_key_info` describes it (no secret in it)."""

    name: str
    redacted_key: str
    key_id: str
    team_id: str
    user_id: str
    created_at: Moment | None
    acls: tuple[str, ...]
    disabled: bool
    blocked: bool  # the key's or the team's

    @classmethod
    def from_pb(cls, message: Any) -> KeyInfo:
        return cls(
            name=message.name,
            redacted_key=message.redacted_api_key,
            key_id=message.api_key_id,
            team_id=message.team_id,
            user_id=message.user_id,
            created_at=timestamp_field(message, "create_time"),
            acls=tuple(message.acls),
            disabled=message.disabled,
            blocked=message.api_key_blocked or message.team_blocked,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "redacted_key": self.redacted_key,
            "key_id": self.key_id,
            "team_id": self.team_id,
            "user_id": self.user_id,
            "created_at": rfc3339(self.created_at),
            "acls": list(self.acls),
            "disabled": self.disabled,
            "blocked": self.blocked,
        }


def fetch_key_info(channel: grpc.Channel, timeout: float) -> KeyInfo | None:
    """The calling key's description; None when the server has no Auth service (UNIMPLEMENTED).

    Raises:
        XaiError: the mapped failure (AuthError for a refused key, UnavailableError ...).
    """
    stub = auth_pb2_grpc.AuthStub(channel)
    try:
        reply = stub.get_api_key_info(empty_pb2.Empty(), timeout=timeout)
    except grpc.RpcError as error:
        if rpc.status_of(error) == grpc.StatusCode.UNIMPLEMENTED:
            return None
        raise rpc.error_from_rpc(
            error, "check the key", target=target_of(channel), timeout=timeout
        ) from error
    return KeyInfo.from_pb(reply)
