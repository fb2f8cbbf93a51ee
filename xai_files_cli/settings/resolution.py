"""Settings resolution: which host, key and model a command uses, and where each came from.

Precedence, highest first:
  1. flags and environment: `--api-host` > `XAI_API_HOST`; `XAI_API_KEY` (there is no key flag:
     argv leaks into `ps` and shell history); `--model` (chat) > `XAI_MODEL`; `--ca-cert` >
     `XAI_CA_CERT`; `--local`;
  2. the profile chosen by `--profile`, else `XAI_PROFILE`, else `default_profile` in config.toml,
     else `default`: its `api_host`, `model` and `ca_cert` from config.toml, its key from `credentials`;
  3. built-in defaults (`api.x.ai:443`, `grok-4`).
The built-in profile `local` means the embedded local server (`xai -p local` == `xai --local`) and
needs no key. Files on disk are handled by `settings.config_store`; this module only decides.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from xai_files_cli.errors import UsageError
from xai_files_cli.record import Record, field
from xai_files_cli.redact import register_secret
from xai_files_cli.settings.config_store import ConfigData, ConfigStore, Credentials, check_profile_name

DEFAULT_API_HOST = "api.x.ai:443"
DEFAULT_MODEL = "grok-4"
DEFAULT_PROFILE = "default"
LOCAL_PROFILE = "local"

SOURCE_DEFAULT = "default"
KEY_ENV = "env XAI_API_KEY"
KEY_NONE = "none"
KEY_LOCAL = "embedded server"


class Settings(Record):
    """The effective settings of one invocation, with the source of each value.

    Sources read like `flag --api-host`, `env XAI_API_HOST`, `profile work` or `default`.
    `api_key` is left out of repr() so a logged or printed Settings never shows it.
    """

    profile: str
    local: bool
    api_host: str
    host_source: str
    api_key: str | None = field(repr=False)
    key_source: str
    model: str
    model_source: str
    profile_source: str = SOURCE_DEFAULT
    profile_defined: bool = False
    ca_cert: str | None = None  # path of a PEM CA bundle to trust instead of the system roots
    ca_cert_source: str = KEY_NONE


def env_api_key(environ: Mapping[str, str] | None = None) -> str | None:
    """`XAI_API_KEY` with surrounding whitespace removed, or None when unset or blank."""
    value = (environ if environ is not None else os.environ).get("XAI_API_KEY", "").strip()
    return value or None


def profile_names(config: ConfigData, credentials: Credentials) -> list[str]:
    """Every profile known from either file, plus the built-in `local`, sorted."""
    return sorted(set(config.profiles) | set(credentials.keys) | {LOCAL_PROFILE})


Fallback = TypeVar("Fallback", str, "str | None")


def first_set(
    *candidates: tuple[str | None, str], fallback: tuple[Fallback, str]
) -> tuple[str | Fallback, str]:
    """The first (value, source) pair whose value is set, else `fallback`."""
    for value, source in candidates:
        if value:
            return value, source
    return fallback


def select_profile(
    profile_flag: str | None, config: ConfigData, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """The profile name and why it was chosen: flag > XAI_PROFILE > default_profile > `default`."""
    env = environ if environ is not None else os.environ
    if profile_flag:
        return check_profile_name(profile_flag), "flag --profile"
    if env.get("XAI_PROFILE"):
        return check_profile_name(env["XAI_PROFILE"]), "env XAI_PROFILE"
    if config.default_profile:
        return config.default_profile, "config default_profile"
    return DEFAULT_PROFILE, SOURCE_DEFAULT


def refuse_remote_flags(settings: Settings, *, api_host_flag: str | None, ca_cert_flag: str | None) -> None:
    """The embedded server has no host and no certificate: when the invocation runs on it, a flag
    asking for one is a usage error rather than silently ignored (environment variables, set for
    every run, are not)."""
    if not settings.local:
        return
    for flag, value in (("--api-host", api_host_flag), ("--ca-cert", ca_cert_flag)):
        if value:
            source = settings.profile_source
            chosen = "--local" if source == "flag --local" else f"the local profile ({source})"
            raise UsageError(f"{flag} cannot be used with {chosen}: the embedded server has no host")


def resolve(
    *,
    api_host_flag: str | None = None,
    profile_flag: str | None = None,
    local_flag: bool = False,
    model_flag: str | None = None,
    ca_cert_flag: str | None = None,
    store: ConfigStore | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the effective settings from flags, environment, the config files and defaults.

    Raises UsageError (exit 2) for a corrupt or unsafe config file or an invalid profile name.
    """
    env = environ if environ is not None else os.environ
    store = store if store is not None else ConfigStore()
    config = store.load_config()
    credentials = store.load_credentials()
    profile, profile_source = select_profile(profile_flag, config, env)
    if local_flag:
        profile, profile_source = LOCAL_PROFILE, "flag --local"
    local = profile == LOCAL_PROFILE
    values = config.profiles.get(profile, {})
    defined = local or profile in config.profiles or profile in credentials.keys

    profile_source_label = f"profile {profile}"
    ca_cert: str | None = None
    ca_cert_source = KEY_NONE
    if local:
        host, host_source = "local", KEY_LOCAL
        key, key_source = None, KEY_LOCAL
    else:
        ca_cert, ca_cert_source = first_set(
            (ca_cert_flag, "flag --ca-cert"),
            (env.get("XAI_CA_CERT", "").strip(), "env XAI_CA_CERT"),
            (values.get("ca_cert"), profile_source_label),
            fallback=(None, KEY_NONE),
        )
        host, host_source = first_set(
            (api_host_flag, "flag --api-host"),
            (env.get("XAI_API_HOST", "").strip(), "env XAI_API_HOST"),
            (values.get("api_host"), profile_source_label),
            fallback=(DEFAULT_API_HOST, SOURCE_DEFAULT),
        )
        key, key_source = first_set(
            (env_api_key(env), KEY_ENV),
            (credentials.keys.get(profile), profile_source_label),
            fallback=(None, KEY_NONE),
        )
    register_secret(key)
    for stored in credentials.keys.values():
        register_secret(stored)
    model, model_source = first_set(
        (model_flag, "flag --model"),
        (env.get("XAI_MODEL", "").strip(), "env XAI_MODEL"),
        (values.get("model"), profile_source_label),
        fallback=(DEFAULT_MODEL, SOURCE_DEFAULT),
    )

    return Settings(
        profile=profile,
        local=local,
        api_host=host,
        host_source=host_source,
        api_key=key,
        key_source=key_source,
        model=model,
        model_source=model_source,
        profile_source=profile_source,
        profile_defined=defined,
        ca_cert=ca_cert,
        ca_cert_source=ca_cert_source,
    )


def require_defined_profile(settings: Settings, store: ConfigStore) -> None:
    """Refuse a profile that was asked for by name but exists in neither file (a typo, usually)."""
    if settings.profile_defined or settings.profile_source == SOURCE_DEFAULT:
        return
    known = ", ".join(profile_names(store.load_config(), store.load_credentials()))
    raise UsageError(
        f"profile '{settings.profile}' (from {settings.profile_source}) "
        f"is not configured in {store.directory}",
        hint=f"known profiles: {known}; create it with `xai auth login --profile {settings.profile}`",
    )
