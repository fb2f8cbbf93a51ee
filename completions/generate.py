"""Regenerate the committed shell completion scripts: `python completions/generate.py [--check]`.

Writes xai.bash, _xai (zsh) and xai.fish next to this file from `xai completion show SHELL`.
With --check, writes nothing and exits 1 if a committed script differs from a fresh one.
`--out DIR` writes elsewhere (the test regenerates into a temp dir and diffs).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generate(out_dir: Path) -> list[Path]:
    """Write every script into `out_dir`; return the paths written."""
    from xai_files_cli.cli.completion import SCRIPT_FILES, completion_script

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, name in SCRIPT_FILES.items():
        path = out_dir / name
        path.write_text(completion_script(shell), encoding="utf-8")
        written.append(path)
    return written


def check() -> int:
    """Compare the committed scripts with fresh ones; print a diff for each that differs."""
    from xai_files_cli.cli.completion import SCRIPT_FILES, completion_script

    stale = 0
    for shell, name in SCRIPT_FILES.items():
        path = HERE / name
        fresh = completion_script(shell)
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != fresh:
            stale += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(True), fresh.splitlines(True), str(path), f"{name} (fresh)"
                )
            )
    if stale:
        print(
            f"{stale} completion script(s) out of date: run python completions/generate.py", file=sys.stderr
        )
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when out of date")
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write into")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
