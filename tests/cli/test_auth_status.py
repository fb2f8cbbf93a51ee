"""`xai auth status`, `auth token` and `auth logout` against a real emulator."""

from __future__ import annotations

import json
import socket

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY

WRONG_KEY = "xai-wrongkeyGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG"
ENV_KEY = "xai-envkeyHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH"


def login(profile: str, key: str, *extra: str) -> None:
    result = run_xai("auth", "login", "--no-verify", "-p", profile, *extra, stdin=key.encode())
    assert result.code == 0, result


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_json(*args: str, offline: bool = False) -> tuple[int, dict[str, dict[str, object]], str]:
    result = run_xai(*args, "auth", "status", *(["--offline"] if offline else []))
    doc = json.loads(result.stdout)
    return result.code, {p["profile"]: p for p in doc["profiles"]}, result.stderr


@pytest.mark.usefixtures("fast_retries")
def test_status_reports_each_profile_with_source_masked_key_and_live_check(server: object) -> None:
    target = server.target  # type: ignore[attr-defined]
    down = f"127.0.0.1:{closed_port()}"
    login("good", TEST_KEY, "--api-host", target)
    login("bad", WRONG_KEY, "--api-host", target)
    login("gone", TEST_KEY, "--api-host", down)
    run_xai("config", "set", "-p", "empty", "model", "m")
    run_xai("config", "use", "good")

    code, rows, stderr = status_json()
    assert code == 0, stderr
    assert rows["good"] == {
        "profile": "good",
        "active": True,
        "host": target,
        "host_source": "profile good",
        "key": "****stuv",
        "key_source": "profile good",
        "stored_key": None,
        "status": "works",
        "key_info": {  # from the Auth service's get_api_key_info
            "name": "local server key",
            "redacted_key": "****stuv",
            "key_id": rows["good"]["key_info"]["key_id"],  # type: ignore[index]
            "team_id": "00000000-0000-4000-8000-00000000c0de",
            "user_id": "00000000-0000-4000-8000-0000000000e5",
            "created_at": rows["good"]["key_info"]["created_at"],  # type: ignore[index]
            "acls": ["api-key:model:*", "api-key:endpoint:*"],
            "disabled": False,
            "blocked": False,
        },
    }
    assert rows["bad"]["key_info"] is None and rows["empty"]["key_info"] is None
    assert (rows["bad"]["status"], rows["bad"]["key"]) == ("UNAUTHENTICATED", "****GGGG")
    assert rows["gone"]["status"] == "unreachable"
    assert (rows["empty"]["status"], rows["empty"]["key"], rows["empty"]["key_source"]) == (
        "no key",
        None,
        "none",
    )
    assert rows["local"]["status"] == "built in"
    assert list(rows) == ["bad", "empty", "gone", "good", "local"]

    assert status_json("-p", "bad")[0] == 3
    assert status_json("-p", "gone")[0] == 6
    code, _, stderr = status_json("-p", "empty", offline=True)
    assert code == 3
    assert "profile 'empty' has no API key" in stderr
    assert "xai auth login" in stderr and "XAI_API_KEY" in stderr and "--local" in stderr


def test_status_human_form_on_a_terminal_masks_the_key(
    server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    login("work", TEST_KEY, "--api-host", server.target)  # type: ignore[attr-defined]
    monkeypatch.setenv("XAI_API_KEY", ENV_KEY)
    result = run_xai("auth", "status", "--offline", stdout_tty=True)
    assert result.code == 0, result
    assert result.stdout == (
        "local\n"
        "  host:    embedded server\n"
        "  key:     not needed\n"
        "  status:  built in\n"
        "work  (active)\n"
        f"  host:    {server.target}  (profile work)\n"  # type: ignore[attr-defined]
        "  key:     ****HHHH  (env XAI_API_KEY); stored ****stuv is overridden\n"
        "  status:  not checked\n"
    )
    assert TEST_KEY not in result.stdout + result.stderr and ENV_KEY not in result.stdout + result.stderr
    assert json.loads(run_xai("auth", "status", "--offline", "--json", stdout_tty=True).stdout)


def test_status_on_a_terminal_describes_the_key_as_the_server_knows_it(server: object) -> None:
    login("work", TEST_KEY, "--api-host", server.target)  # type: ignore[attr-defined]
    result = run_xai("auth", "status", stdout_tty=True)
    assert result.code == 0, result
    work = result.stdout.split("work  (active)\n", 1)[1]
    about = work.splitlines()[2]
    assert about.startswith(
        "  about:   local server key · team 00000000-0000-4000-8000-00000000c0de · created "
    )
    assert work.splitlines()[3] == "  status:  works"
    assert TEST_KEY not in result.stdout


def test_a_server_without_the_auth_service_is_checked_with_a_files_call(emulators) -> None:
    no_auth = emulators.start("get_api_key_info:fail:code=UNIMPLEMENTED,times=0", point_cli=False)
    login("work", TEST_KEY, "--api-host", no_auth.target)
    code, rows, stderr = status_json()
    assert (code, stderr) == (0, "")
    assert rows["work"]["status"] == "works" and rows["work"]["key_info"] is None
    assert no_auth.faults.calls("get_api_key_info") == 1 and no_auth.faults.calls("ListFiles") == 1


def test_status_without_any_key_exits_3_without_network() -> None:
    code, rows, stderr = status_json()
    assert code == 3
    assert rows["default"]["status"] == "no key" and rows["default"]["active"]
    assert "xai auth login" in stderr


def test_token_prints_the_effective_key_for_export(monkeypatch: pytest.MonkeyPatch) -> None:
    login("work", TEST_KEY)
    result = run_xai("auth", "token")
    assert (result.code, result.stdout, result.stderr) == (0, TEST_KEY + "\n", "")
    assert run_xai("auth", "token", "-p", "work").stdout == TEST_KEY + "\n"
    monkeypatch.setenv("XAI_API_KEY", ENV_KEY)
    assert run_xai("auth", "token").stdout == ENV_KEY + "\n"


def test_token_without_key_or_for_local() -> None:
    result = run_xai("auth", "token")
    assert result.code == 3 and result.stdout == ""
    assert "no API key configured for profile 'default'" in result.stderr
    assert "xai auth login" in result.stderr
    result = run_xai("auth", "token", "-p", "local")
    assert result.code == 2 and "has no key" in result.stderr
    result = run_xai("auth", "token", "-p", "nosuch")
    assert result.code == 2 and "profile 'nosuch'" in result.stderr


def test_logout_forgets_the_key_but_keeps_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    login("work", TEST_KEY, "--api-host", "example.com:443")
    login("home", WRONG_KEY)
    result = run_xai("auth", "logout", "-p", "work")
    assert result.code == 0, result
    assert result.stderr == "xai: removed the stored key of 'work'\n"
    assert run_xai("-p", "work", "auth", "token").code == 3
    assert run_xai("-p", "work", "config", "get", "api_host").stdout == "example.com:443\n"
    assert run_xai("-p", "home", "auth", "token").stdout == WRONG_KEY + "\n"

    again = run_xai("auth", "logout", "-p", "work")
    assert (again.code, again.stderr) == (0, "xai: no stored key for 'work'\n")

    monkeypatch.setenv("XAI_API_KEY", ENV_KEY)
    result = run_xai("auth", "logout", "--all")
    assert result.code == 0
    assert "removed the stored key of 'home'" in result.stderr
    assert "XAI_API_KEY is still set" in result.stderr
    monkeypatch.delenv("XAI_API_KEY")
    assert run_xai("-p", "home", "auth", "token").code == 3
