"""The Auth service's get_api_key_info over real gRPC: the calling key described, never revealed."""

from __future__ import annotations

import grpc

from tests.emulator.conversation_helpers import ChatClient
from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from tests.support.raw_grpc import error_of
from xai_files_cli.emulator.auth_service import KEY_NAME, LOCAL_TEAM_ID, LOCAL_USER_ID, NO_KEY_NAME
from xai_files_cli.emulator.models_service import CREATED_SECONDS
from xai_files_cli.emulator.server import RunningServer


def test_key_info_describes_the_calling_key_without_revealing_it(server: RunningServer) -> None:
    client = ChatClient(server.target, TEST_KEY)
    try:
        info = client.key_info()
        again = client.key_info()
    finally:
        client.close()
    assert info == again  # deterministic
    assert info.redacted_api_key == "****" + TEST_KEY[-4:]
    assert TEST_KEY not in str(info) and TEST_KEY[:-4] not in str(info)
    assert info.name == KEY_NAME and info.team_id == LOCAL_TEAM_ID and info.user_id == LOCAL_USER_ID
    assert info.create_time.seconds == CREATED_SECONDS == info.modify_time.seconds
    assert list(info.acls) == ["api-key:model:*", "api-key:endpoint:*"]
    assert len(info.api_key_id) == 36 and info.modified_by == LOCAL_USER_ID
    assert not (info.api_key_blocked or info.team_blocked or info.disabled)


def test_key_info_needs_the_key(server: RunningServer) -> None:
    client = ChatClient(server.target, "xai-wrongkey0000000000000000000000000000")
    try:
        assert error_of(client.key_info).code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        client.close()


def test_without_auth_each_presented_key_is_described_apart(emulators: Emulators) -> None:
    running = emulators.start(point_cli=False, api_key=None, faults=None)
    clients = [ChatClient(running.target, key) for key in (TEST_KEY, "another-key-abcdefgh", None)]
    try:
        first, second, anonymous = (client.key_info() for client in clients)
    finally:
        for client in clients:
            client.close()
    assert first.api_key_id != second.api_key_id
    assert second.redacted_api_key == "****efgh"
    assert anonymous.name == NO_KEY_NAME and anonymous.redacted_api_key == "" and not anonymous.api_key_id
