"""Commands: `xai auth login|status|logout|token` — API keys stored per profile (gh auth, aws configure).

The key never travels through argv: `login` reads it from a hidden prompt on a terminal, or from
stdin when piped (`echo "$KEY" | xai auth login`). It is shown only masked (`****abcd`), except by
`auth token`, whose whole purpose is `export XAI_API_KEY=$(xai auth token)`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from xai_files_cli.cli.context import NO_KEY_HINT, AppContext, ca_cert_of
from xai_files_cli.cli.options import ProfileOption, check_api_host, json_flag
from xai_files_cli.errors import AuthError, UnavailableError, UsageError, XaiError
from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.redact import mask, register_secret
from xai_files_cli.settings import resolution

if TYPE_CHECKING:
    from xai_files_cli.core.key_info import KeyInfo

LOGIN_TIMEOUT = 10.0
STATUS_TIMEOUT = 3.0
MAX_KEY_BYTES = 4096

auth_app = typer.Typer(
    name="auth",
    help="Log in with an API key, check it, print it, or forget it (keys are stored per profile).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach `xai auth …` to the root app."""
    app.add_typer(auth_app, name="auth")


# -- helpers ----------------------------------------------------------------------------------
def check_key(
    app_ctx: AppContext, target: str, api_key: str, timeout: float, ca_cert: bytes | None = None
) -> None:
    """Make one cheap authenticated call (list one file); raise the mapped XaiError on failure.

    `ca_cert` is the PEM roots to trust instead of the system ones (`--ca-cert`).
    """
    with app_ctx.files_at(target, api_key, timeout=timeout, ca_cert=ca_cert) as files:
        files.list_page(page_size=1)


def read_key(app_ctx: AppContext, *, from_stdin: bool) -> str:
    """The key from piped stdin, or from a hidden prompt when stdin is a terminal."""
    io = app_ctx.io
    if from_stdin or not io.stdin_is_tty:
        raw = io.stdin.read(MAX_KEY_BYTES + 1)
        if len(raw) > MAX_KEY_BYTES:
            raise UsageError(f"stdin holds more than {MAX_KEY_BYTES} bytes; expected one API key")
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            raise UsageError(
                "no API key on stdin",
                hint='pipe one in (`echo "$KEY" | xai auth login`) or run this in a terminal',
            )
        return text
    if io.no_input:
        raise UsageError("cannot prompt for the key: XAI_NO_PROMPT is set", hint="pipe the key on stdin")
    key = app_ctx.prompter.read_secret("Paste your xAI API key (input is hidden): ").strip()
    if not key:  # Enter or Ctrl-D at the prompt: nothing to check, nothing to store
        raise UsageError("no API key entered; nothing was saved")
    return key


def validate_key(key: str) -> None:
    """A key travels in a gRPC header: printable ASCII, no spaces. Never quote it in the error."""
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise UsageError(
            "that does not look like an API key (it has spaces, control or non-ASCII characters)",
            hint="paste only the key, e.g. xai-…",
        )


# -- login ------------------------------------------------------------------------------------
@auth_app.command("login")
def login(
    ctx: typer.Context,
    profile: ProfileOption = None,
    api_host: Annotated[
        str | None,
        typer.Option(
            "--api-host",
            metavar="HOST:PORT",
            help="Also store this endpoint (HOST:PORT) in the profile, and check the key there.",
        ),
    ] = None,
    with_key: Annotated[
        bool, typer.Option("--with-key", help="Read the key from stdin even on a terminal.")
    ] = False,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Store the key without checking it against the server.")
    ] = False,
) -> None:
    """Store an API key for a profile, after checking it with one cheap call.

    The key is read from a hidden prompt, or from stdin when piped (see the examples).
    """
    app_ctx: AppContext = ctx.obj
    store = app_ctx.store()
    name = app_ctx.target_profile(profile)
    if name == resolution.LOCAL_PROFILE:
        raise UsageError("the 'local' profile is the embedded server and needs no key")
    if api_host is not None:
        check_api_host(api_host)
    key = read_key(app_ctx, from_stdin=with_key)
    validate_key(key)
    register_secret(key)
    resolved = app_ctx.settings_for(name)
    target = api_host or resolved.api_host
    if not no_verify:
        timeout = app_ctx.options.timeout or LOGIN_TIMEOUT
        _verify_for_login(app_ctx, target, key, timeout, ca_cert_of(resolved))

    made_default = False
    with store.transaction() as (cfg, credentials):
        credentials.keys[name] = key
        values = cfg.profiles.setdefault(name, {})
        if api_host is not None:
            values["api_host"] = api_host
        if (
            cfg.default_profile is None
            and resolution.DEFAULT_PROFILE not in cfg.profiles
            and name != "default"
        ):
            cfg.default_profile, made_default = name, True

    how = "saved without checking" if no_verify else f"checked against {target}"
    say = app_ctx.say
    say.say(f"logged in: profile '{name}', key {mask(key)} ({how}); stored in {store.credentials_path}")
    if made_default:
        say.say(f"'{name}' is now the default profile (change it with `xai config use`)")
    if resolution.env_api_key() is not None:
        say.note("XAI_API_KEY is set and takes precedence over stored keys")


def _verify_for_login(
    app_ctx: AppContext, target: str, key: str, timeout: float, ca_cert: bytes | None
) -> None:
    try:
        check_key(app_ctx, target, key, timeout, ca_cert)
    except AuthError as error:
        raise AuthError(
            f"the key was rejected by {target}; nothing was saved",
            status=error.status,
            hint="check the key, or store it anyway with --no-verify",
        ) from None
    except UnavailableError as error:
        raise UnavailableError(
            f"cannot reach {target} to check the key; nothing was saved",
            status=error.status,
            hint="store it without checking with --no-verify",
        ) from None


# -- status -----------------------------------------------------------------------------------
@dataclass
class ProfileStatus:
    """One profile as `auth status` reports it."""

    profile: str
    active: bool
    host: str
    host_source: str
    key: str | None
    key_source: str
    stored_key: str | None
    status: str
    key_info: dict[str, object] | None = None  # what the server says about the key, where it can


@auth_app.command("status")
def status(
    ctx: typer.Context,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not check the keys against the server.")
    ] = False,
    as_json: Annotated[bool, json_flag("JSON on stdout (the default when piped).")] = False,
) -> None:
    """Show each profile: its host, where the effective key comes from (masked), and whether it works.

    Where the server has the Auth service, its description of the key (name, team, creation time)
    is shown too. Exit status follows the selected profile: 0 when usable, 3 without a key or when
    the key is refused (or disabled), 6 when the server cannot be reached.
    """
    app_ctx: AppContext = ctx.obj
    store = app_ctx.store()
    active = app_ctx.settings()
    credentials = store.load_credentials()
    names = resolution.profile_names(store.load_config(), credentials)
    if active.profile not in names:
        names = sorted([*names, active.profile])
    entries: list[tuple[resolution.Settings, ProfileStatus]] = []
    for name in names:
        settings = active if name == active.profile else app_ctx.settings_for(name)
        entries.append(
            (settings, _status_entry(settings, credentials.keys.get(name), name == active.profile))
        )
    if not offline:
        _check_all(app_ctx, entries, app_ctx.options.timeout or STATUS_TIMEOUT)
    rows = [entry for _, entry in entries]
    if as_json or not app_ctx.io.stdout_is_tty:
        doc = {"active_profile": active.profile, "profiles": [asdict(row) for row in rows]}
        app_ctx.io.write_out(json.dumps(doc, indent=2) + "\n")
    else:
        app_ctx.io.write_out(_human_status(rows))
    _raise_for_active(next(row for row in rows if row.active))


def _status_entry(settings: resolution.Settings, stored: str | None, active: bool) -> ProfileStatus:
    if settings.local:
        key, state = None, "built in"
    else:
        key = mask(settings.api_key) if settings.api_key else None
        state = "no key" if settings.api_key is None else "not checked"
    overridden = stored is not None and settings.key_source == resolution.KEY_ENV
    return ProfileStatus(
        profile=settings.profile,
        active=active,
        host=settings.api_host if not settings.local else "embedded server",
        host_source=settings.host_source,
        key=key,
        key_source=settings.key_source,
        stored_key=mask(stored) if overridden else None,
        status=state,
    )


def _check_all(
    app_ctx: AppContext, entries: list[tuple[resolution.Settings, ProfileStatus]], timeout: float
) -> None:
    """Check every distinct (host, key, CA) once, in parallel, each within `timeout` seconds."""
    pending = {_probe_key(s): s for s, row in entries if row.status == "not checked" and s.api_key}
    if not pending:
        return

    def probe(settings: resolution.Settings) -> tuple[str, KeyInfo | None]:
        try:
            info = probe_key(
                app_ctx, settings.api_host, settings.api_key or "", timeout, ca_cert_of(settings)
            )
        except AuthError as error:
            return error.status or "UNAUTHENTICATED", None
        except UnavailableError:
            return "unreachable", None
        except XaiError as error:
            return f"error: {error.message}", None
        if info is not None and (info.disabled or info.blocked):
            return ("disabled" if info.disabled else "blocked"), info
        return "works", info

    with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
        results = dict(zip(pending, pool.map(probe, pending.values()), strict=True))
    for settings, row in entries:
        if _probe_key(settings) in results:
            row.status, info = results[_probe_key(settings)]
            row.key_info = info.to_json() if info is not None else None


def probe_key(
    app_ctx: AppContext, target: str, api_key: str, timeout: float, ca_cert: bytes | None = None
) -> KeyInfo | None:
    """Check a key with the Auth service's get_api_key_info, returning its description; a server
    without that service gets the cheap Files call of `check_key` instead (and None)."""
    from xai_files_cli.core.channel import connect
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.key_info import fetch_key_info

    channel = connect(target, api_key, ca_cert=ca_cert, call_timeout=timeout)
    try:
        info = fetch_key_info(channel, timeout)
        if info is None:
            FilesClient(channel, timeout=timeout).list_page(page_size=1)
        return info
    finally:
        channel.close()


def _probe_key(settings: resolution.Settings) -> tuple[str, str | None, str | None]:
    """Profiles that would make the same call (host, key and CA) are checked once."""
    return settings.api_host, settings.api_key, settings.ca_cert


def _human_status(rows: list[ProfileStatus]) -> str:
    lines: list[str] = []
    for row in rows:
        lines.append(escape_terminal(row.profile) + ("  (active)" if row.active else ""))
        host = row.host if row.host_source == resolution.KEY_LOCAL else f"{row.host}  ({row.host_source})"
        lines.append(f"  host:    {escape_terminal(host)}")
        if row.key_source == resolution.KEY_LOCAL:
            key = "not needed"
        elif row.key is None:
            key = "none  (run `xai auth login`)"
        else:
            key = f"{row.key}  ({row.key_source})"
            if row.stored_key:
                key += f"; stored {row.stored_key} is overridden"
        lines.append(f"  key:     {key}")
        if row.key_info:
            lines.append(f"  about:   {_about_key(row.key_info)}")
        lines.append(f"  status:  {escape_terminal(row.status)}")
    return "\n".join(lines) + "\n"


def _about_key(info: dict[str, object]) -> str:
    """`local server key · team 0000… · created 2025-01-01T00:00:00Z` (server strings escaped)."""
    parts = [str(info.get("name") or "unnamed key")]
    if info.get("team_id"):
        parts.append(f"team {info['team_id']}")
    if info.get("created_at"):
        parts.append(f"created {info['created_at']}")
    return escape_terminal(" · ".join(parts))


def _raise_for_active(row: ProfileStatus) -> None:
    where = f"profile '{row.profile}'"
    if row.status == "no key":
        raise AuthError(f"{where} has no API key", hint=NO_KEY_HINT)
    if row.status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        raise AuthError(f"{where}: the key was refused by {row.host}", status=row.status, hint=NO_KEY_HINT)
    if row.status in ("disabled", "blocked"):
        raise AuthError(f"{where}: the key is {row.status} ({row.host} says so)", hint=NO_KEY_HINT)
    if row.status == "unreachable":
        raise UnavailableError(f"{where}: cannot reach {row.host}")
    if row.status.startswith("error: "):
        raise UsageError(f"{where}: {row.status[len('error: ') :]}")


# -- logout and token -------------------------------------------------------------------------
@auth_app.command("logout")
def logout(
    ctx: typer.Context,
    profile: ProfileOption = None,
    all_profiles: Annotated[bool, typer.Option("--all", help="Forget the keys of every profile.")] = False,
) -> None:
    """Forget the stored key of a profile (its other settings stay). Doing it twice is not an error."""
    app_ctx: AppContext = ctx.obj
    store = app_ctx.store()
    name = None if all_profiles else (profile or app_ctx.settings().profile)
    if name is not None:
        resolution.check_profile_name(name)
    with store.transaction() as (_, credentials):
        removed = sorted(credentials.keys) if name is None else [n for n in [name] if n in credentials.keys]
        for gone in removed:
            del credentials.keys[gone]
    if removed:
        app_ctx.say.say(f"removed the stored key of {', '.join(repr(n) for n in removed)}")
    else:
        app_ctx.say.say(f"no stored key for {'any profile' if name is None else repr(name)}")
    if resolution.env_api_key() is not None:
        app_ctx.say.note("XAI_API_KEY is still set in your environment; unset it too")


@auth_app.command("token")
def token(ctx: typer.Context, profile: ProfileOption = None) -> None:
    """Print the effective API key on stdout, for `export XAI_API_KEY=$(xai auth token)`."""
    app_ctx: AppContext = ctx.obj
    settings = app_ctx.settings_for(profile)
    resolution.require_defined_profile(settings, app_ctx.store())
    if settings.local:
        raise UsageError("the 'local' profile is the embedded server and has no key")
    if not settings.api_key:
        raise AuthError(f"no API key configured for profile '{settings.profile}'", hint=NO_KEY_HINT)
    app_ctx.io.write_out(settings.api_key + "\n")
