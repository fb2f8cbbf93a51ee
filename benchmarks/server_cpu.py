"""Server CPU per small upload: `xai serve` in a subprocess, the floor client uploading to it.

Usage: python benchmarks/server_cpu.py [--count N] [--size BYTES] [--rounds R] [--baseline DIR] [--work DIR]

Each round starts `xai serve` on a fresh data dir, uploads N generated files of SIZE bytes over one
grpc.aio channel (benchmarks/floor_client.py, 64 at once) and reads the server's user+system CPU
time from /proc/<pid>/stat just before and just after the uploads, so start-up is not counted.
With --baseline DIR (a checkout holding another xai_files_cli, e.g. from `git archive`), every round
also runs that code's server, interleaved, so a noisy spell hits both alike. Data dirs are removed
only at the end: ext4 without a journal skips inodes freed in the last minute when it allocates
new ones, so deleting thousands of files between rounds would make the next round's creates
dearer. For the same reason a --work dir away from a busy /tmp (e.g. /var/tmp) gives steadier
figures: creating each upload's file is the largest cost that depends on the machine. Each round and
the end print the load average: on a machine busy with other work the server's CPU per call grows
(more of its thread hand-offs become context switches), so compare ratios measured in one run, over
several rounds. Linux only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEY = "xai-benchmark0000000000000000000000000"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def start_serve(code: Path, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`xai serve` of the package in `code` on a free port; (process, target)."""
    env = dict(os.environ, XAI_API_KEY=KEY, PYTHONPATH=str(code))
    command = [sys.executable, "-m", "xai_files_cli", "serve", "--port", "0", "--data-dir", str(data_dir)]
    proc = subprocess.Popen(command, cwd=code, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    match = re.search(r"listening on (\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"xai serve did not start: {line}{proc.communicate()[1].decode()}")
    return proc, match.group(1)


def one_round(code: Path, data_dir: Path, count: int, size: int) -> tuple[float, float]:
    """(server CPU ms per file, wall seconds) of one fresh server receiving `count` uploads."""
    proc, target = start_serve(code, data_dir)
    try:
        env = dict(os.environ, XAI_API_KEY=KEY, XAI_API_HOST=target)
        floor = [sys.executable, str(HERE / "floor_client.py"), "seed", "0", str(count), str(size)]
        before, started = cpu_seconds(proc.pid), time.perf_counter()
        done = subprocess.run(floor, env=env, capture_output=True, check=True)
        wall = time.perf_counter() - started
        after = cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if int(done.stdout) != count:
        raise SystemExit(f"uploaded {done.stdout!r} files, expected {count}")
    return (after - before) * 1000 / count, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with, interleaved")
    parser.add_argument("--work", type=Path, help="where the data dirs go (default: the temp dir)")
    args = parser.parse_args()
    contenders = {"this": REPO}
    if args.baseline is not None:
        contenders = {"baseline": args.baseline.resolve(), **contenders}
    results: dict[str, list[float]] = {name: [] for name in contenders}
    work = Path(tempfile.mkdtemp(prefix="xai-cpu-", dir=args.work))
    try:
        for number in range(1, args.rounds + 1):
            for name, code in contenders.items():
                ms, wall = one_round(code, work / f"{name}-{number}", args.count, args.size)
                results[name].append(ms)
                load = os.getloadavg()[0]
                what = f"{ms:.3f} ms server CPU per file ({wall:.2f} s, load {load:.1f})"
                print(f"round {number} {name:8s}: {what}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, values in results.items():
        median = statistics.median(values)
        print(f"median {name:8s}: {median:.3f} ms server CPU per file ({args.count} x {args.size} B)")
    if args.baseline is not None:
        ratio = statistics.median(results["this"]) / statistics.median(results["baseline"])
        print(f"this / baseline: {ratio:.2f}")
    print("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
