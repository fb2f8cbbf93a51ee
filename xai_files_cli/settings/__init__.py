"""Settings of one invocation: where they come from and how they are kept.

- `resolution`: which host, key, model and CA a command uses, and where each value came from;
- `config_store`: the files on disk (`config.toml`, `credentials`), private and written atomically;
- `ca`: the PEM bundle of custom TLS roots, checked before any connection is made.
"""

from __future__ import annotations

from xai_files_cli.settings.ca import load_ca_cert
from xai_files_cli.settings.config_store import ConfigData, ConfigStore, Credentials, check_profile_name
from xai_files_cli.settings.resolution import Settings, profile_names, require_defined_profile, resolve

__all__ = [
    "ConfigData",
    "ConfigStore",
    "Credentials",
    "Settings",
    "check_profile_name",
    "load_ca_cert",
    "profile_names",
    "require_defined_profile",
    "resolve",
]
