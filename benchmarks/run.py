"""Benchmarks: the `xai` CLI against the official xai-sdk (and a floor client), against `xai serve`, same run.

Usage: python benchmarks/run.py [--scale] [--quick] [--repeat N] [--check]

Every number is a whole process (start-up included): wall time and peak RSS, median of N runs.
Without --scale: the standard section (the sizes the README shows; benchmarks/standard.py).
With --scale: the scale section (50,000-file listings, 5,000-file batches, a 500 MB download,
--skip-existing; benchmarks/scale.py), about 10 minutes on 2 cores.
--quick shrinks the data and runs once (a smoke test); --check exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import HERE, Row, print_header, print_rows, rss_method
from scale import plan_for, run_scale
from standard import run_standard


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="store_true", help="the scale section instead of the standard one")
    parser.add_argument("--quick", action="store_true", help="small data, one run: a smoke test")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (the median is shown)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    # A regular (non-editable) install byte-compiles the package; do the same so that start-up is
    # measured as users get it, even when PYTHONDONTWRITEBYTECODE is set in this environment.
    compileall.compile_dir(str(HERE.parent / "xai_files_cli"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="xai-bench-"))
    started = time.perf_counter()
    rows: list[Row] = []

    def emit(section_rows: list[Row]) -> None:
        rows.extend(section_rows)
        print_rows(section_rows)

    try:
        if args.scale:
            plan = plan_for(args.quick, args.repeat)
            print_header(
                f"scale section: {plan.runs} run(s) per row, {plan.large_runs} for the largest (n column)"
            )
            run_scale(work, plan, emit)
        else:
            print_header(f"standard section: {1 if args.quick else args.repeat} run(s) per row (n column)")
            emit(run_standard(work, args.quick, args.repeat))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"took {time.perf_counter() - started:.0f}s; {rss_method()}")
    return 1 if (args.check and missed(rows)) else 0


def missed(rows: list[Row]) -> list[Row]:
    """Rows with a target that was not met (rows that cannot run yet have no verdict)."""
    return [row for row in rows if row.ok is False]


if __name__ == "__main__":
    sys.exit(main())
