"""Benchmarks: the `xai` CLI against the official xai-sdk, both against one `xai serve`, same run.

Usage: python benchmarks/run.py [--quick] [--repeat N] [--check]

Every number is a whole process (start-up included), wall time and peak RSS, median of N runs.
Ratios are SDK time / xai time (higher is better for xai). Targets come from issue 2 and 3.
--quick shrinks the data (for a smoke test); --check exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEY = "xai-benchmark0000000000000000000000000"
XAI = [sys.executable, "-m", "xai_files_cli"]
SDK = [sys.executable, str(HERE / "sdk_ops.py")]
MIB = 1024 * 1024


@dataclass
class Sample:
    wall: float
    rss_mb: float
    first_byte: float | None = None
    stdout: bytes = b""


def measure(cmd: list[str], env: dict[str, str], *, first_byte: bool = False) -> Sample:
    """Run one process to completion; wall time, peak RSS and (optionally) time to first stdout byte."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = None
    chunks = []
    assert proc.stdout is not None
    if first_byte:
        chunk = proc.stdout.read(1)
        first = time.perf_counter() - start
        chunks.append(chunk)
    chunks.append(proc.stdout.read())
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr.decode()[-500:]}")
    return Sample(wall, usage.ru_maxrss / 1024, first, b"".join(chunks))


def median_of(runs: int, make: callable) -> Sample:
    samples = [make() for _ in range(runs)]
    return Sample(
        statistics.median(s.wall for s in samples),
        max(s.rss_mb for s in samples),
        statistics.median(s.first_byte for s in samples) if samples[0].first_byte is not None else None,
        samples[-1].stdout,
    )


class Server:
    """`xai serve` on a free loopback port with a temporary data dir."""

    def __init__(self, data_dir: Path) -> None:
        env = dict(os.environ, XAI_API_KEY=KEY)
        self.proc = subprocess.Popen(
            [*XAI, "serve", "--port", "0", "--data-dir", str(data_dir), "--api-key", KEY],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline().decode()
        match = re.search(r"listening on \S*?:(\d+)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"xai serve did not start: {line!r}")
        self.port = int(match.group(1))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, one run: a smoke test")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    runs = 1 if args.quick else args.repeat
    big = (8 if args.quick else 256) * MIB
    batch_count = 40 if args.quick else 500
    chat_size = (256 * 1024) if args.quick else 2 * 1000 * 1000

    # A regular (non-editable) install byte-compiles the package; do the same so that start-up is
    # measured as users get it, even when PYTHONDONTWRITEBYTECODE is set in this environment.
    compileall.compile_dir(str(HERE.parent / "xai_files_cli"), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="xai-bench-"))
    server = Server(work / "server")
    target = f"localhost:{server.port}"
    env = dict(os.environ, XAI_API_KEY=KEY, XAI_API_HOST=target, SDK_API_HOST=target)
    env["XAI_DATA_DIR"] = str(work / "local-data")
    env.pop("XAI_PROFILE", None)
    rows: list[tuple[str, str, str, str, bool | None]] = []

    def compare(name: str, ours: Sample, sdk: Sample, target_ratio: float) -> None:
        ratio = sdk.wall / ours.wall
        rows.append(
            (
                name,
                f"{ours.wall:7.3f}s {ours.rss_mb:6.1f}MB",
                f"{sdk.wall:7.3f}s {sdk.rss_mb:6.1f}MB",
                f"{ratio:5.2f}x (>= {target_ratio}x)",
                ratio >= target_ratio,
            )
        )

    try:
        xai_bin = shutil.which("xai", path=str(Path(sys.executable).parent)) or "xai"
        help_run = median_of(max(runs, 5), lambda: measure([xai_bin, "--help"], env))
        rows.append(
            (
                "xai --help",
                f"{help_run.wall:7.3f}s {help_run.rss_mb:6.1f}MB",
                "-",
                "< 0.25 s",
                help_run.wall < 0.25,
            )
        )

        payload = work / "big.bin"
        with payload.open("wb") as fh:
            block = os.urandom(MIB)
            for _ in range(big // MIB):
                fh.write(block)

        ours_up = median_of(runs, lambda: measure([*XAI, "-q", "files", "upload", str(payload)], env))
        sdk_up = median_of(runs, lambda: measure([*SDK, "upload", str(payload)], env))
        compare(f"upload {big // MIB} MiB", ours_up, sdk_up, 1.15)

        file_id = ours_up.stdout.decode().strip()
        dest = work / "down.bin"
        ours_down = median_of(
            runs, lambda: measure([*XAI, "-q", "files", "cat", file_id, "-o", str(dest)], env)
        )
        assert dest.stat().st_size == big
        sdk_down = median_of(runs, lambda: measure([*SDK, "download", file_id, str(dest)], env))
        compare(f"download {big // MIB} MiB", ours_down, sdk_down, 1.5)

        small = work / "small"
        small.mkdir()
        for i in range(batch_count):
            (small / f"f{i:04d}.txt").write_bytes(os.urandom(2048).hex().encode())
        ours_batch = median_of(runs, lambda: measure([*XAI, "-q", "files", "batch-upload", str(small)], env))
        sdk_batch = median_of(runs, lambda: measure([*SDK, "batch", str(small)], env))
        compare(f"batch-upload {batch_count} x 4 KiB", ours_batch, sdk_batch, 1.15)

        ours_ls = median_of(runs, lambda: measure([*XAI, "files", "ls", "--all", "--jsonl"], env))
        sdk_ls = median_of(runs, lambda: measure([*SDK, "ls"], env))
        compare("files ls (all pages)", ours_ls, sdk_ls, 1.5)

        notes = work / "notes.txt"
        sentence = "The quarterly risk review found that supplier concentration is the main risk. "
        filler = "Routine operations continued without incident across every region this quarter. "
        with notes.open("w") as fh:
            written = 0
            while written < chat_size:
                fh.write(filler * 20 + "\n\n")
                written += len(filler) * 20 + 2
            fh.write(sentence + "\n")
        question = "What is the main risk?"
        ours_chat = median_of(
            runs,
            lambda: measure(
                [*XAI, "-q", "--local", "chat", question, "--file", str(notes)], env, first_byte=True
            ),
        )
        sdk_chat = median_of(
            runs, lambda: measure([*SDK, "chat", str(notes), question], env, first_byte=True)
        )
        rows.append(
            (
                f"chat, {chat_size // 1000} kB file: first token",
                f"{ours_chat.first_byte:7.3f}s",
                f"{sdk_chat.first_byte:7.3f}s",
                f"{sdk_chat.first_byte / ours_chat.first_byte:5.2f}x",
                None,
            )
        )
        rows.append(
            (
                f"chat, {chat_size // 1000} kB file: total",
                f"{ours_chat.wall:7.3f}s {ours_chat.rss_mb:6.1f}MB",
                f"{sdk_chat.wall:7.3f}s {sdk_chat.rss_mb:6.1f}MB",
                f"{sdk_chat.wall / ours_chat.wall:5.2f}x",
                None,
            )
        )

        peak = max(s.rss_mb for s in (ours_up, ours_down, ours_batch, ours_ls, ours_chat))
        rows.append(("xai peak RSS (any command)", f"{peak:6.1f}MB", "-", "< 100 MB", peak < 100))
        rows.append(
            ("sdk download peak RSS", "-", f"{sdk_down.rss_mb:6.1f}MB", f"file {big // MIB} MiB", None)
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'benchmark':38} {'xai':>18} {'sdk':>18}  {'ratio (sdk/xai)':20} ok")
    for name, ours, sdk, ratio, ok in rows:
        mark = "" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{name:38} {ours:>18} {sdk:>18}  {ratio:20} {mark}")
    missed = [r for r in rows if r[4] is False]
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
