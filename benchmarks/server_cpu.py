"""Server CPU per small upload: `xai serve` in a subprocess, the floor client uploading to it.

Usage: python benchmarks/server_cpu.py [--count N] [--size BYTES] [--rounds R] [--baseline DIR] [--work DIR]
                                      [--floor]

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
several rounds. With --floor, every round also runs a plain sync grpc-python server whose UploadFile
reads the request stream (and one receive more, as the emulator must) and answers without storing
anything: what gRPC itself costs per upload, so the end also gives each server's CPU above that
floor, the part its own code spends; and a grpc.aio server doing the same on its event loop (the
emulator's own kind of server since UploadFile became an async handler). Linux only.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEY = "xai-benchmark0000000000000000000000000"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


FLOOR = "grpc floor"
AIO_FLOOR = "aio floor"
FLOORS = {FLOOR: "sync", AIO_FLOOR: "aio"}


def start_serve(
    code: Path, data_dir: Path, grpc_floor: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`xai serve` of the package in `code` (or, with `grpc_floor` "sync" or "aio", that gRPC floor
    server) on a free port; (process, target)."""
    env = dict(os.environ, XAI_API_KEY=KEY, PYTHONPATH=str(code))
    command = [sys.executable, "-m", "xai_files_cli", "serve", "--port", "0", "--data-dir", str(data_dir)]
    if grpc_floor:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-floor", grpc_floor]
    proc = subprocess.Popen(command, cwd=code, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    match = re.search(r"listening on (\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"xai serve did not start: {line}{proc.communicate()[1].decode()}")
    return proc, match.group(1)


def serve_floor() -> None:
    """Serve UploadFile as cheaply as a sync grpc-python server can while keeping the emulator's
    calls: read every message, ask for one more after the end, answer; nothing is stored."""
    from concurrent import futures

    import grpc

    from xai_files_cli._pb import files_pb2, files_pb2_grpc

    class Floor(files_pb2_grpc.FilesServicer):
        def UploadFile(
            self, request_iterator: Iterator[files_pb2.UploadFileChunk], context: grpc.ServicerContext
        ) -> files_pb2.File:
            requests = iter(request_iterator)
            size = sum(len(message.data) for message in requests)
            next(requests, None)
            return files_pb2.File(id="file_floor", filename="floor", size=size)

    threads = 128  # as `xai serve`: a thread per call in flight
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads), maximum_concurrent_rpcs=threads)
    files_pb2_grpc.add_FilesServicer_to_server(Floor(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"grpc floor listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server.wait_for_termination()


def serve_aio_floor() -> None:
    """The floor of a grpc.aio server: an async UploadFile on the loop that reads every message and one
    receive more, and answers; nothing is stored."""
    import asyncio

    import grpc

    from xai_files_cli._pb import files_pb2, files_pb2_grpc

    class Floor(files_pb2_grpc.FilesServicer):
        async def UploadFile(  # type: ignore[override]
            self, request_iterator: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> files_pb2.File:
            size = 0
            async for message in request_iterator:
                size += len(message.data)
            await context.read()
            return files_pb2.File(id="file_floor", filename="floor", size=size)

    async def serve() -> None:
        server = grpc.aio.server(maximum_concurrent_rpcs=128)
        files_pb2_grpc.add_FilesServicer_to_server(Floor(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(f"aio floor listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        await server.wait_for_termination()

    asyncio.run(serve())


def one_round(
    code: Path, data_dir: Path, count: int, size: int, grpc_floor: str | None = None
) -> tuple[float, float]:
    """(server CPU ms per file, wall seconds) of one fresh server receiving `count` uploads."""
    proc, target = start_serve(code, data_dir, grpc_floor)
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
    parser.add_argument("--floor", action="store_true", help="also measure the gRPC floor servers")
    parser.add_argument("--serve-floor", choices=("sync", "aio"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_aio_floor() if args.serve_floor == "aio" else serve_floor()
        return
    contenders = {"this": REPO}
    if args.baseline is not None:
        contenders = {"baseline": args.baseline.resolve(), **contenders}
    if args.floor:
        contenders.update({name: REPO for name in FLOORS})
    results: dict[str, list[float]] = {name: [] for name in contenders}
    work = Path(tempfile.mkdtemp(prefix="xai-cpu-", dir=args.work))
    try:
        for number in range(1, args.rounds + 1):
            for name, code in contenders.items():
                data_dir = work / f"{name.replace(' ', '-')}-{number}"
                ms, wall = one_round(code, data_dir, args.count, args.size, grpc_floor=FLOORS.get(name))
                results[name].append(ms)
                load = os.getloadavg()[0]
                what = f"{ms:.3f} ms server CPU per file ({wall:.2f} s, load {load:.1f})"
                print(f"round {number} {name:10s}: {what}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, median in medians.items():
        print(f"median {name:10s}: {median:.3f} ms server CPU per file ({args.count} x {args.size} B)")
    if args.baseline is not None:
        print(f"this / baseline: {medians['this'] / medians['baseline']:.2f}")
    if args.floor:
        servers = [name for name in medians if name not in FLOORS]
        for floor in FLOORS:
            above = {name: medians[name] - medians[floor] for name in servers}
            print(f"above the {floor}: " + ", ".join(f"{name} {ms:.3f} ms" for name, ms in above.items()))
    print("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
