"""Commands: `xai config list|get|set|unset|use|delete|path` — profiles and their plain settings
(api_host, model, ca_cert).

Keys never go through here (argv leaks into `ps` and shell history): `xai auth login` stores them.
`list` shows every effective value with its source (flag, env, profile, default), the key masked.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from xai_files_cli.cli.complete_ids import complete_profile
from xai_files_cli.cli.context import AppContext
from xai_files_cli.cli.options import ProfileOption, check_api_host, json_flag
from xai_files_cli.errors import UsageError
from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.redact import mask
from xai_files_cli.settings import resolution
from xai_files_cli.settings.config_store import PROFILE_KEYS

config_app = typer.Typer(
    name="config",
    help="Show and change settings and profiles (api_host, model, ca_cert). Keys: see `xai auth`.",
    no_args_is_help=True,
)

KEY_REFUSED_HINT = (
    "store keys with `xai auth login` (hidden prompt or stdin); print one with `xai auth token`"
)
ENV_OVERRIDES = {"api_host": "XAI_API_HOST", "model": "XAI_MODEL", "ca_cert": "XAI_CA_CERT"}


def register(app: typer.Typer) -> None:
    """Attach `xai config …` to the root app."""
    app.add_typer(config_app, name="config")


def _check_key_name(key: str, *, allow_profile: bool = False) -> str:
    if key in ("api_key", "key", "token"):
        raise UsageError("API keys are not set through `xai config`", hint=KEY_REFUSED_HINT)
    valid = [*PROFILE_KEYS, *(["profile"] if allow_profile else [])]
    if key not in valid:
        raise UsageError(f"unknown setting {key!r}; valid settings: {', '.join(valid)}")
    return key


def _validate_value(key: str, value: str) -> str:
    value = value.strip()
    if key == "api_host":
        check_api_host(value)
    elif key == "ca_cert":
        from pathlib import Path

        from xai_files_cli.settings.ca import load_ca_cert

        if not value:
            raise UsageError("invalid ca_cert: expected the path of a PEM CA bundle")
        value = str(Path(value).expanduser().resolve())  # the profile must not depend on the cwd
        load_ca_cert(value, "xai config set")
    elif not value or not value.isprintable() or any(c.isspace() for c in value):
        raise UsageError(f"invalid {key}: expected one word without spaces or control characters")
    return value


# -- list / get -------------------------------------------------------------------------------
def _rows(app_ctx: AppContext, profile: str | None) -> list[dict[str, str | None]]:
    """One row per effective setting: name, value (key masked), source, and the file it is in."""
    s = app_ctx.settings_for(profile)
    store = app_ctx.store()

    def row(name: str, value: str | None, source: str, path: object) -> dict[str, str | None]:
        in_file = source.startswith("profile ") or source == "config default_profile"
        return {"name": name, "value": value, "source": source, "location": str(path) if in_file else None}

    key = mask(s.api_key) if s.api_key else None
    rows = [
        row("profile", s.profile, s.profile_source, store.config_path),
        row("api_host", s.api_host, s.host_source, store.config_path),
        row("api_key", key, s.key_source, store.credentials_path),
        row("model", s.model, s.model_source, store.config_path),
    ]
    if s.ca_cert:  # rarely used; shown only when a custom CA is in effect
        rows.append(row("ca_cert", s.ca_cert, s.ca_cert_source, store.config_path))
    return rows


@config_app.command("list")
def list_(
    ctx: typer.Context,
    profile: ProfileOption = None,
    as_json: Annotated[bool, json_flag("A JSON array of {name, value, source, location}.")] = False,
) -> None:
    """Show each effective setting, its source (flag, env, profile, default) and file; the key masked."""
    app_ctx: AppContext = ctx.obj
    rows = _rows(app_ctx, profile)
    io = app_ctx.io
    if as_json:
        io.write_out(json.dumps(rows, indent=2) + "\n")
    elif io.stdout_is_tty:
        table = [("NAME", "VALUE", "SOURCE", "LOCATION")]
        table += [
            (str(r["name"]), str(r["value"] or "-"), str(r["source"]), str(r["location"] or "-"))
            for r in rows
        ]
        widths = [max(len(line[i]) for line in table) for i in range(3)]
        for line in table:
            cells = [escape_terminal(cell).ljust(width) for cell, width in zip(line, widths, strict=False)]
            io.write_out("  ".join([*cells, escape_terminal(line[3])]) + "\n")
    else:
        for row in rows:
            io.write_out(f"{row['name']}\t{row['value'] or ''}\t{row['source']}\t{row['location'] or ''}\n")


@config_app.command("get")
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="api_host, model, ca_cert or profile.")],
    profile: ProfileOption = None,
) -> None:
    """Print the effective value of one setting (what a command would use now)."""
    _check_key_name(key, allow_profile=True)
    app_ctx: AppContext = ctx.obj
    s = app_ctx.settings_for(profile)
    value = {"api_host": s.api_host, "model": s.model, "ca_cert": s.ca_cert, "profile": s.profile}[key]
    app_ctx.io.write_out((value or "") + "\n")


# -- set / unset ------------------------------------------------------------------------------
@config_app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="api_host (HOST:PORT), model or ca_cert (PEM file).")],
    value: Annotated[str, typer.Argument(help="The new value.")],
    profile: ProfileOption = None,
) -> None:
    """Set a profile's api_host, model or ca_cert (creating the profile if needed)."""
    _check_key_name(key)
    app_ctx: AppContext = ctx.obj
    name = app_ctx.target_profile(profile)
    if name == resolution.LOCAL_PROFILE and key in ("api_host", "ca_cert"):
        raise UsageError(f"the 'local' profile always uses the embedded server; it has no {key}")
    value = _validate_value(key, value)
    store = app_ctx.store()
    with store.transaction() as (cfg, _):
        cfg.profiles.setdefault(name, {})[key] = value
    app_ctx.say.say(f"{key} = {value} in profile '{name}' ({store.config_path})")
    _note_env_override(app_ctx, key)


@config_app.command("unset")
def unset(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="api_host, model or ca_cert.")],
    profile: ProfileOption = None,
) -> None:
    """Remove a profile's api_host, model or ca_cert, so the built-in default applies again."""
    _check_key_name(key)
    app_ctx: AppContext = ctx.obj
    name = app_ctx.target_profile(profile)
    store = app_ctx.store()
    with store.transaction() as (cfg, _):
        removed = cfg.profiles.get(name, {}).pop(key, None) is not None
    state = "removed" if removed else "was not set"
    app_ctx.say.say(f"{key} {state} in profile '{name}'")


def _note_env_override(app_ctx: AppContext, key: str) -> None:
    variable = ENV_OVERRIDES.get(key)
    if variable and os.environ.get(variable, "").strip():
        app_ctx.say.note(f"{variable} is set and takes precedence over the profile")


# -- profiles ---------------------------------------------------------------------------------
@config_app.command("use")
def use(
    ctx: typer.Context,
    profile: Annotated[
        str, typer.Argument(help="An existing profile, or 'local'.", autocompletion=complete_profile)
    ],
) -> None:
    """Make PROFILE the default profile (XAI_PROFILE and --profile still win)."""
    app_ctx: AppContext = ctx.obj
    resolution.check_profile_name(profile)
    store = app_ctx.store()
    with store.transaction() as (cfg, credentials):
        known = resolution.profile_names(cfg, credentials)
        if profile not in known:
            raise UsageError(
                f"profile '{profile}' does not exist; known profiles: {', '.join(known)}",
                hint=f"create it with `xai auth login --profile {profile}`",
            )
        cfg.default_profile = profile
    app_ctx.say.say(f"default profile is now '{profile}'")
    if os.environ.get("XAI_PROFILE"):
        app_ctx.say.note("XAI_PROFILE is set and takes precedence over the default profile")


@config_app.command("delete")
def delete(
    ctx: typer.Context,
    profile: Annotated[str, typer.Argument(help="The profile to delete.", autocompletion=complete_profile)],
) -> None:
    """Delete a profile: its settings and its stored key. The built-in 'local' cannot be deleted."""
    app_ctx: AppContext = ctx.obj
    resolution.check_profile_name(profile)
    if profile == resolution.LOCAL_PROFILE:
        raise UsageError("the built-in 'local' profile cannot be deleted")
    store = app_ctx.store()
    with store.transaction() as (cfg, credentials):
        if profile not in cfg.profiles and not credentials.has_profile(profile):
            raise UsageError(f"profile '{profile}' does not exist")
        cfg.profiles.pop(profile, None)
        credentials.forget_profile(profile)
        if cfg.default_profile == profile:
            cfg.default_profile = None
    app_ctx.say.say(f"deleted profile '{profile}'")


@config_app.command("path")
def path(
    ctx: typer.Context,
    which: Annotated[
        str | None, typer.Argument(help="dir, config or credentials [default: all three].")
    ] = None,
) -> None:
    """Print where configuration lives (XAI_CONFIG_DIR, else the platform's user config dir)."""
    app_ctx: AppContext = ctx.obj
    store = app_ctx.store()
    paths = {"dir": store.directory, "config": store.config_path, "credentials": store.credentials_path}
    if which is not None:
        if which not in paths:
            raise UsageError(f"unknown path {which!r}; choose dir, config or credentials")
        app_ctx.io.write_out(f"{paths[which]}\n")
        return
    for name, location in paths.items():
        app_ctx.io.write_out(f"{name}\t{location}\n")
