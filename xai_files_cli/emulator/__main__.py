"""`python -m xai_files_cli.emulator [OPTIONS]` is the same as `xai serve [OPTIONS]`.

The emulator never imports the CLI: this entry replaces the process with the `xai` program
(`python -m xai_files_cli serve ...`), same pid, so signals and the exit code are its own.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run `xai serve` with this process's arguments."""
    argv = [sys.executable, "-m", "xai_files_cli", "serve", *sys.argv[1:]]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, argv)


if __name__ == "__main__":
    main()
