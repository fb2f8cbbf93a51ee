"""Settings resolution: which host, key and model a command uses, and where each came from.

Precedence, highest first:
  1. flags (`--api-host`, `--local`) and environment (`XAI_API_KEY`, `XAI_API_HOST`);
  2. the profile chosen by `--profile`, else `XAI_PROFILE`, else the config's default profile;
  3. built-in defaults (`api.x.ai:443`).
The built-in profile `local` means the embedded local server (`xai -p local` == `xai --local`).

NOTE: profiles on disk are added by issue 4; until then only env/flags/defaults are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_API_HOST = "api.x.ai:443"
DEFAULT_MODEL = "grok-4"
LOCAL_PROFILE = "local"


@dataclass(frozen=True)
class Settings:
    """The effective settings of one invocation, with the source of each value."""

    profile: str
    local: bool
    api_host: str
    host_source: str
    api_key: str | None
    key_source: str
    model: str
    model_source: str


def resolve(
    *,
    api_host_flag: str | None = None,
    profile_flag: str | None = None,
    local_flag: bool = False,
) -> Settings:
    """Resolve the effective settings from flags, environment and built-in defaults."""
    profile = profile_flag or os.environ.get("XAI_PROFILE") or "default"
    local = local_flag or profile == LOCAL_PROFILE
    env_host = os.environ.get("XAI_API_HOST")
    if api_host_flag:
        host, host_source = api_host_flag, "flag --api-host"
    elif env_host:
        host, host_source = env_host, "env XAI_API_HOST"
    else:
        host, host_source = DEFAULT_API_HOST, "default"
    env_key = os.environ.get("XAI_API_KEY") or None
    model = os.environ.get("XAI_MODEL")
    return Settings(
        profile=LOCAL_PROFILE if local else profile,
        local=local,
        api_host="local" if local else host,
        host_source="--local" if local else host_source,
        api_key=env_key,
        key_source="env XAI_API_KEY" if env_key else "none",
        model=model or DEFAULT_MODEL,
        model_source="env XAI_MODEL" if model else "default",
    )
