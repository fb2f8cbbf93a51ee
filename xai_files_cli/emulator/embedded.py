"""The embedded local server behind the global `--local` flag: loopback, random port, random key.

The key lives only in this process (registered with `redact` so it is masked if it ever shows up
in a message); the data dir is shared with `xai serve` by default, so files uploaded with
`--local` are visible to a running `xai serve` on the same machine and vice versa.
Test-only faults from XAI_EMULATOR_FAULTS apply here too (see faults.py).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from xai_files_cli.emulator.server import (
    DEFAULT_MAX_CONCURRENT_RPCS,
    RunningServer,
    ServerConfig,
    faults_from_env,
    start_server,
)
from xai_files_cli.redact import register_secret

DATA_DIR_ENV = "XAI_DATA_DIR"


def default_data_dir() -> Path:
    """$XAI_DATA_DIR if set, else `<platformdirs user data dir for "xai">/local-server`."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("xai")) / "local-server"


def start_embedded(data_dir: Path | None = None) -> RunningServer:
    """Start a private emulator on 127.0.0.1:<free port> with a fresh per-process API key."""
    api_key = "local-" + secrets.token_urlsafe(32)
    register_secret(api_key)
    config = ServerConfig(
        data_dir=data_dir or default_data_dir(),
        api_key=api_key,
        max_concurrent_rpcs=DEFAULT_MAX_CONCURRENT_RPCS,  # as `xai serve`: above the batch's 50 uploads
        faults=faults_from_env(),
    )
    return start_server(config, host="127.0.0.1", port=0)
