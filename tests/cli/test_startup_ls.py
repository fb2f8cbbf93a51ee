"""`xai files ls` loads only what listing needs: no TOML parser or writer when no config file
exists, no `secrets`/`hmac` (temp file names come from os.urandom), no `random` (only a retry's
wait is random), no `dataclasses` (whose classes compile their methods at import), no thread pool
(only `rm` uses one), and no other command's module.
The real entry point runs in a fresh interpreter under `-X importtime` (which lists every module the
process imported) against a real emulator."""

from __future__ import annotations

from tests.support.constants import TEST_KEY
from tests.support.processes import run_python, xai_subprocess_env
from xai_files_cli.emulator.server import RunningServer

# random: only a retry's wait; dataclasses: the value classes are records (xai_files_cli.record)
NOT_NEEDED = ("tomllib", "tomli", "tomli_w", "secrets", "hmac", "random", "dataclasses")
# Modules whose parent package is loaded anyway (by grpc) but which only other commands use: the
# thread pool of `rm`.
NOT_NEEDED_SUBMODULES = ("concurrent.futures.thread",)
# The command modules of the other top-level commands: only `files` is imported to run `files ls`.
OTHER_COMMANDS = ("chat", "completion", "config_cmd", "conversations", "models", "serve")


def test_listing_loads_no_toml_no_secrets_and_no_other_command(server: RunningServer) -> None:
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    result = run_python(
        "-X", "importtime", "-m", "xai_files_cli", "files", "ls", "--json", env=env, timeout=30
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "xai_files_cli.core.files" in modules  # the listing is real: the client shows up in it
    loaded = sorted(m for m in modules if m.split(".")[0] in NOT_NEEDED or m in NOT_NEEDED_SUBMODULES)
    assert loaded == []
    commands = sorted(m for m in modules if m.removeprefix("xai_files_cli.cli.") in OTHER_COMMANDS)
    assert commands == []
