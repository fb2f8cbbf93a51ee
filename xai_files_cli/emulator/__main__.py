"""`python -m xai_files_cli.emulator [OPTIONS]` is the same as `xai serve [OPTIONS]`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run `xai serve` with this process's arguments."""
    from xai_files_cli.cli.app import main as xai_main

    sys.argv = [sys.argv[0], "serve", *sys.argv[1:]]
    xai_main()


if __name__ == "__main__":
    main()
