"""Precedence of every setting: each present/absent combination of flag, env, profile, default.

The resolver is checked exhaustively against real files in a temp config dir; the CLI is then
checked end to end (`config list --json`, `auth status` against the emulator) so the flags and
env vars reach it the way a user passes them.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from xai_files_cli.settings import resolution
from xai_files_cli.settings.config_store import ConfigStore

ENV_KEY = "xai-envkeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
STORED_KEY = "xai-storedBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
OTHER_KEY = "xai-otherCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"


def make_store(
    tmp_path: Path, *, default_profile: str | None = None, **profiles: dict[str, str]
) -> ConfigStore:
    """A config dir holding `profiles` (api_host/model/api_key per profile)."""
    store = ConfigStore(tmp_path / "cfg")
    with store.transaction() as (cfg, creds):
        cfg.default_profile = default_profile
        for name, values in profiles.items():
            values = dict(values)
            if "api_key" in values:
                creds.keys[name] = values.pop("api_key")
            cfg.profiles[name] = values
    return store


@pytest.mark.parametrize(
    ("env_key", "stored", "selection"),
    list(itertools.product([False, True], [False, True], ["flag", "env", "default_profile", "implicit"])),
)
def test_key_precedence(tmp_path: Path, env_key: bool, stored: bool, selection: str) -> None:
    """XAI_API_KEY > the selected profile's stored key > none, however the profile was selected."""
    name = "default" if selection == "implicit" else "work"
    profiles: dict[str, dict[str, str]] = {name: {"api_key": STORED_KEY} if stored else {"model": "m"}}
    profiles["other"] = {"api_key": OTHER_KEY}  # never picked: not selected
    store = make_store(
        tmp_path, default_profile="work" if selection == "default_profile" else None, **profiles
    )
    environ = {"XAI_API_KEY": ENV_KEY} if env_key else {}
    if selection == "env":
        environ["XAI_PROFILE"] = "work"
    settings = resolution.resolve(
        profile_flag="work" if selection == "flag" else None, store=store, environ=environ
    )

    assert settings.profile == name
    assert (
        settings.profile_source
        == {
            "flag": "flag --profile",
            "env": "env XAI_PROFILE",
            "default_profile": "config default_profile",
            "implicit": "default",
        }[selection]
    )
    if env_key:
        assert (settings.api_key, settings.key_source) == (ENV_KEY, "env XAI_API_KEY")
    elif stored:
        assert (settings.api_key, settings.key_source) == (STORED_KEY, f"profile {name}")
    else:
        assert (settings.api_key, settings.key_source) == (None, "none")
    assert ENV_KEY not in repr(settings) and STORED_KEY not in repr(settings)


# setting: (resolve's flag keyword, the env var, the profile key, the Settings value and source
# attributes, the value as (flag, env, profile, default) each with the source it is reported as)
PRECEDENCE = {
    "host": (
        "api_host_flag",
        "XAI_API_HOST",
        "api_host",
        ("api_host", "host_source"),
        [
            ("flag.example:3", "flag --api-host"),
            ("env.example:2", "env XAI_API_HOST"),
            ("profile.example:1", "profile work"),
            ("api.x.ai:443", "default"),
        ],
    ),
    "model": (
        "model_flag",
        "XAI_MODEL",
        "model",
        ("model", "model_source"),
        [
            ("flag-model", "flag --model"),
            ("env-model", "env XAI_MODEL"),
            ("profile-model", "profile work"),
            (resolution.DEFAULT_MODEL, "default"),
        ],
    ),
}


@pytest.mark.parametrize("setting", sorted(PRECEDENCE))
@pytest.mark.parametrize(("flag", "env", "profile"), list(itertools.product([False, True], repeat=3)))
def test_flag_env_profile_default_precedence(
    tmp_path: Path, setting: str, flag: bool, env: bool, profile: bool
) -> None:
    """--api-host > XAI_API_HOST > profile api_host > api.x.ai:443; --model (chat) > XAI_MODEL >
    profile model > grok-4."""
    flag_keyword, env_name, profile_key, (value_attr, source_attr), ranked = PRECEDENCE[setting]
    (flag_value, _), (env_value, _), (profile_value, _), _ = ranked
    store = make_store(tmp_path, work={profile_key: profile_value} if profile else {})
    environ = {env_name: env_value} if env else {}
    flags = {flag_keyword: flag_value if flag else None}
    settings = resolution.resolve(profile_flag="work", store=store, environ=environ, **flags)
    expected = next(pair for pair, given in zip(ranked, (flag, env, profile, True), strict=True) if given)
    assert (getattr(settings, value_attr), getattr(settings, source_attr)) == expected


@pytest.mark.parametrize(("flag", "env", "default_profile"), list(itertools.product([False, True], repeat=3)))
def test_profile_selection_precedence(tmp_path: Path, flag: bool, env: bool, default_profile: bool) -> None:
    """--profile > XAI_PROFILE > default_profile > `default`."""
    store = make_store(
        tmp_path,
        default_profile="c" if default_profile else None,
        a={"model": "ma"},
        b={"model": "mb"},
        c={"model": "mc"},
    )
    environ = {"XAI_PROFILE": "b"} if env else {}
    settings = resolution.resolve(profile_flag="a" if flag else None, store=store, environ=environ)
    expected = "a" if flag else "b" if env else "c" if default_profile else "default"
    assert settings.profile == expected
    assert settings.model == {"a": "ma", "b": "mb", "c": "mc", "default": resolution.DEFAULT_MODEL}[expected]


@pytest.mark.parametrize("how", ["flag --local", "-p local", "XAI_PROFILE=local", "default_profile=local"])
def test_local_profile_means_embedded_server_and_needs_no_key(tmp_path: Path, how: str) -> None:
    store = make_store(tmp_path, default_profile="local" if how == "default_profile=local" else None)
    environ = {"XAI_API_KEY": ENV_KEY, "XAI_API_HOST": "env.example:2"}
    if how == "XAI_PROFILE=local":
        environ["XAI_PROFILE"] = "local"
    settings = resolution.resolve(
        local_flag=how == "flag --local",
        profile_flag="local" if how == "-p local" else None,
        store=store,
        environ=environ,
    )
    assert settings.local and settings.profile == "local"
    assert settings.api_key is None and settings.key_source == "embedded server"


# -- end to end through the CLI ---------------------------------------------------------------
def config_list(*args: str) -> dict[str, dict[str, str | None]]:
    result = run_xai(*args, "config", "list", "--json")
    assert result.code == 0, result
    return {row["name"]: row for row in json.loads(result.stdout)}


def login(profile: str, key: str, *extra: str) -> None:
    result = run_xai("auth", "login", "--no-verify", "-p", profile, *extra, stdin=key.encode())
    assert result.code == 0, result


def test_cli_flags_beat_env_and_env_beats_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    login("work", STORED_KEY, "--api-host", "profile.example:1")
    login("home", OTHER_KEY)
    run_xai("config", "set", "-p", "work", "model", "profile-model")

    rows = config_list()
    assert rows["profile"]["value"] == "work"  # first login became the default profile
    assert rows["profile"]["source"] == "config default_profile"
    assert (rows["api_host"]["value"], rows["api_host"]["source"]) == ("profile.example:1", "profile work")
    assert (rows["api_key"]["value"], rows["api_key"]["source"]) == ("****BBBB", "profile work")
    assert rows["api_key"]["location"].endswith("credentials")
    assert (rows["model"]["value"], rows["model"]["source"]) == ("profile-model", "profile work")

    monkeypatch.setenv("XAI_PROFILE", "home")
    monkeypatch.setenv("XAI_API_HOST", "env.example:2")
    monkeypatch.setenv("XAI_MODEL", "env-model")
    rows = config_list()
    assert (rows["profile"]["value"], rows["profile"]["source"]) == ("home", "env XAI_PROFILE")
    assert (rows["api_host"]["value"], rows["api_host"]["source"]) == ("env.example:2", "env XAI_API_HOST")
    assert (rows["api_key"]["value"], rows["api_key"]["source"]) == ("****CCCC", "profile home")
    assert (rows["model"]["value"], rows["model"]["source"]) == ("env-model", "env XAI_MODEL")

    monkeypatch.setenv("XAI_API_KEY", ENV_KEY)
    rows = config_list("--profile", "work", "--api-host", "flag.example:3")
    assert (rows["profile"]["value"], rows["profile"]["source"]) == ("work", "flag --profile")
    assert (rows["api_host"]["value"], rows["api_host"]["source"]) == ("flag.example:3", "flag --api-host")
    assert (rows["api_key"]["value"], rows["api_key"]["source"]) == ("****AAAA", "env XAI_API_KEY")
    assert rows["api_key"]["location"] is None


def test_env_key_beats_stored_key_on_the_wire(server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key actually sent is the winning one: a wrong stored key is overridden by a right env key."""
    monkeypatch.setenv("XAI_API_HOST", server.target)  # type: ignore[attr-defined]
    login("default", OTHER_KEY)  # wrong for this server
    assert run_xai("auth", "status").code == 3

    monkeypatch.setenv("XAI_API_KEY", TEST_KEY)
    result = run_xai("auth", "status")
    assert result.code == 0, result
    active = next(p for p in json.loads(result.stdout)["profiles"] if p["active"])
    assert (active["key_source"], active["status"], active["stored_key"]) == (
        "env XAI_API_KEY",
        "works",
        "****CCCC",
    )

    monkeypatch.setenv("XAI_API_KEY", OTHER_KEY)
    login("default", TEST_KEY)  # now the stored key is right, but the env's wrong one wins
    assert run_xai("auth", "status").code == 3


def test_unknown_profile_named_explicitly_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    login("work", STORED_KEY)
    monkeypatch.setenv("XAI_API_KEY", ENV_KEY)
    result = run_xai("-p", "wrok", "files", "ls")
    assert result.code == 2, result
    assert "profile 'wrok' (from flag --profile) is not configured" in result.stderr
    assert "known profiles: local, work" in result.stderr
    assert result.stdout == ""


def test_invalid_profile_name_is_refused() -> None:
    result = run_xai("-p", "../etc", "config", "list")
    assert result.code == 2, result
    assert "invalid profile name" in result.stderr


def test_dash_p_local_equals_dash_dash_local() -> None:
    """`xai -p local files ls` does what `xai --local files ls` does (embedded server, no key)."""
    by_profile = run_xai("-p", "local", "files", "ls")
    by_flag = run_xai("--local", "files", "ls")
    assert by_profile.code == by_flag.code == 0, (by_profile, by_flag)
    assert by_profile.stdout == by_flag.stdout
    rows = config_list("-p", "local")
    assert (rows["profile"]["value"], rows["api_host"]["value"]) == ("local", "local")
    assert rows["api_key"]["source"] == "embedded server"
