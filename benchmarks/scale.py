"""The scale section of benchmarks/run.py: xai as the work grows, against the SDK and the floor, same run.

- `ls --all --json` over 10,000 and 50,000 files: wall against the SDK's list loop, peak RSS, first byte;
  at 50,000 also the peak RSS of `--jsonl`, `--ids` and the table a terminal gets.
- batch-upload of 500 and 5,000 x 4 KiB: against the SDK's batch_upload and the floor client.
- download of a 500 MB file to a file: against the SDK, a raw gRPC stream read and a disk write+fsync.
- `--skip-existing` (upload 256 MiB, batch 500 x 4 KiB, an all-skipped re-run): "n/a" until
  `xai files upload/batch-upload --help` lists the flag.

Contenders of a row run round-robin (see `interleaved`). Speed ratios against the SDK are SDK time /
xai time (higher is better); ratios against a floor or a baseline are xai time / that time (lower is better).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import FLOOR, MIB, SDK, XAI, Row, Sample, Server, client_env, interleaved, measure

LIST_SPEEDUP = 2.5  # ls --all --json at the largest size: SDK time / xai time
LIST_RSS_MB = 60.0
FIRST_BYTE_S = 0.5
BATCH_SPEEDUP = 2.0  # batch-upload at the larger size: SDK time / xai time
FLOOR_SLOWDOWN = 1.25  # batch-upload: xai time / floor client time
FLAT_RSS = 1.10  # batch-upload: xai RSS at the larger size / at the smaller
DOWNLOAD_SPEEDUP = 3.0
DOWNLOAD_RSS_MB = 100.0
SKIP_OVERHEAD = 1.10  # --skip-existing on a first run: time / the same work without the flag
RERUN_FRACTION = 1 / 3  # an all-skipped re-run: time / the first run's
NOT_IMPLEMENTED = "n/a (flag not implemented)"


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of one scale run."""

    list_counts: tuple[int, ...]
    batch_counts: tuple[int, int]  # the smaller and the larger batch
    batch_file_size: int
    download_bytes: int
    upload_bytes: int
    runs: int  # repetitions of the smaller rows
    large_runs: int  # repetitions of the largest rows (50,000-file listing, 5,000-file batch, download)
    seed_file_size: int = 64


def plan_for(quick: bool, repeat: int) -> Plan:
    """The full plan (the sizes listed at the top of this module), or a few-second one for the smoke test."""
    if quick:
        return Plan((20, 40), (5, 15), 4096, 1000 * 1000, 1 * MIB, runs=1, large_runs=1)
    return Plan(
        (10_000, 50_000), (500, 5_000), 4096, 500 * 1000 * 1000, 256 * MIB, runs=repeat, large_runs=repeat
    )


def run_scale(work: Path, plan: Plan, emit: Callable[[list[Row]], None]) -> None:
    """Every scale row, handed to `emit` a section at a time (a later failure loses none of them); the
    listing on its own seeded server, the rest on a second one."""
    emit(list_rows(work / "list", plan))
    server = Server(work / "server")
    try:
        env = client_env(server.target, work)
        emit(batch_rows(env, work / "batch", plan))
        emit(download_rows(env, work / "download", plan))
        emit(skip_existing_rows(env, work / "skip", plan))
    finally:
        server.stop()


def progress(message: str) -> None:
    """A progress line on stderr (the report goes to stdout)."""
    print(f"scale: {message}", file=sys.stderr, flush=True)


# -- listing ----------------------------------------------------------------------------------------


def list_rows(work: Path, plan: Plan) -> list[Row]:
    """Seed a server up to each size in turn (through the API, with the floor client), list at each size."""
    server = Server(work / "server")
    env = client_env(server.target, work)
    rows: list[Row] = []
    seeded = 0
    try:
        for count in plan.list_counts:
            started = time.perf_counter()
            measure([*FLOOR, "seed", str(seeded), str(count - seeded), str(plan.seed_file_size)], env)
            progress(f"seeded {count - seeded:,} files in {time.perf_counter() - started:.1f}s")
            seeded = count
            largest = count == plan.list_counts[-1]
            rows += listing_at(env, count, plan.large_runs if largest else plan.runs, largest)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def listing_at(env: dict[str, str], count: int, runs: int, largest: bool) -> list[Row]:
    """`ls --all --json` against the SDK's list loop over `count` files; other modes' RSS at the largest."""
    got = interleaved(
        runs,
        {
            "xai": functools.partial(measure, [*XAI, "files", "ls", "--all", "--json"], env, first_byte=True),
            "sdk": functools.partial(measure, [*SDK, "ls"], env, first_byte=True),
        },
    )
    ours, sdk = got["xai"], got["sdk"]
    load = os.getloadavg()[0]  # both processes share 2 cores with whatever else runs: say how busy
    expect_count(len(json.loads(ours.stdout)), count, "xai ls --all --json")
    expect_count(len(sdk.stdout.splitlines()), count, "sdk ls")
    label = f"ls --all --json, {count:,} files"
    speedup = sdk.wall / ours.wall
    rows = [
        Row(
            f"{label}: wall",
            ours.brief(),
            f"sdk {sdk.brief()} (load {load:.1f})",
            f"{speedup:.2f}x",
            f">= {LIST_SPEEDUP}x sdk" if largest else "",
            speedup >= LIST_SPEEDUP if largest else None,
            runs,
        ),
        rss_row(f"{label}: peak RSS", ours, LIST_RSS_MB),
        Row(
            f"{label}: first byte",
            f"{ours.first_byte:.3f}s",
            f"sdk {sdk.first_byte:.3f}s",
            target=f"<= {FIRST_BYTE_S} s",
            ok=(ours.first_byte or 0) <= FIRST_BYTE_S,
            runs=runs,
        ),
    ]
    if largest:
        for mode in ("--jsonl", "--ids"):
            sample = measure([*XAI, "files", "ls", "--all", mode], env)
            rows.append(rss_row(f"ls --all {mode}, {count:,} files: peak RSS", sample, LIST_RSS_MB))
        # The table a terminal gets (without its pager: stdout is a pipe here), rendered in chunks.
        table_env = dict(env, XAI_FORCE_TTY="1", COLUMNS="120")
        table = measure([*XAI, "files", "ls", "--all"], table_env)
        expect_count(
            table.stdout.count(b"\nfile_") + table.stdout.startswith(b"file_"), count, "xai ls table"
        )
        rows.append(
            rss_row(f"ls --all table, {count:,} files: peak RSS ({table.wall:.2f}s)", table, LIST_RSS_MB)
        )
    return rows


def rss_row(name: str, sample: Sample, limit_mb: float) -> Row:
    return Row(
        name,
        f"{sample.rss_mb:.1f}MB",
        target=f"<= {limit_mb:.0f} MB",
        ok=sample.rss_mb <= limit_mb,
        runs=sample.runs,
    )


def expect_count(got: int, want: int, what: str) -> None:
    if got != want:
        raise RuntimeError(f"{what} listed {got} files, expected {want}")


# -- batch upload -----------------------------------------------------------------------------------


def batch_rows(env: dict[str, str], work: Path, plan: Plan) -> list[Row]:
    """xai, the floor client and the SDK uploading the same folders of small files, round-robin."""
    small_n, large_n = plan.batch_counts
    got: dict[int, dict[str, Sample]] = {}
    for count, runs in ((small_n, plan.runs), (large_n, plan.large_runs)):
        folder = make_folder(work / f"files-{count}", count, plan.batch_file_size, tag=f"b{count}")
        progress(f"batch-upload of {count:,} files, {runs} round(s)")
        got[count] = interleaved(
            runs,
            {
                "xai": functools.partial(measure, [*XAI, "-q", "files", "batch-upload", str(folder)], env),
                "floor": functools.partial(measure, [*FLOOR, "upload", str(folder)], env),
                "sdk": functools.partial(measure, [*SDK, "batch", str(folder)], env),
            },
        )
    shutil.rmtree(work, ignore_errors=True)
    kib = plan.batch_file_size // 1024
    rows: list[Row] = []
    for count in (small_n, large_n):
        ours, floor, sdk = got[count]["xai"], got[count]["floor"], got[count]["sdk"]
        large = count == large_n
        speedup = sdk.wall / ours.wall
        rows.append(
            Row(
                f"batch-upload {count:,} x {kib} KiB vs SDK",
                ours.brief(),
                f"sdk {sdk.brief()}",
                f"{speedup:.2f}x",
                f">= {BATCH_SPEEDUP}x sdk" if large else "",
                speedup >= BATCH_SPEEDUP if large else None,
                ours.runs,
            )
        )
        rows.append(floor_row(f"batch-upload {count:,} x {kib} KiB vs floor", ours, floor))
    rows.append(per_file_row(got[small_n], got[large_n], large_n - small_n))
    small_rss, large_rss = got[small_n]["xai"].rss_mb, got[large_n]["xai"].rss_mb
    growth = large_rss / small_rss
    rows.append(
        Row(
            f"batch-upload RSS, {small_n:,} -> {large_n:,} files",
            f"{large_rss:.1f}MB",
            f"{small_n:,}: {small_rss:.1f}MB",
            f"{growth:.2f}x",
            f"<= {FLAT_RSS}x (flat)",
            growth <= FLAT_RSS,
        )
    )
    return rows


def floor_row(name: str, ours: Sample, floor: Sample) -> Row:
    slowdown = ours.wall / floor.wall
    return Row(
        name,
        ours.brief(),
        f"floor {floor.brief()}",
        f"{slowdown:.2f}x",
        f"<= {FLOOR_SLOWDOWN}x floor time",
        slowdown <= FLOOR_SLOWDOWN,
        ours.runs,
    )


def per_file_row(small: dict[str, Sample], large: dict[str, Sample], extra_files: int) -> Row:
    """The cost of one more file (start-up cancels out): the time difference between the two batches."""
    cost = {
        name: (large[name].wall - small[name].wall) / extra_files * 1000 for name in ("xai", "floor", "sdk")
    }
    slowdown = cost["xai"] / cost["floor"] if cost["floor"] > 0 else float("inf")
    return Row(
        "batch-upload per extra file (ms)",
        f"{cost['xai']:.3f}ms",
        f"floor {cost['floor']:.3f} sdk {cost['sdk']:.3f}",
        f"{slowdown:.2f}x",
        f"<= {FLOOR_SLOWDOWN}x floor",
        slowdown <= FLOOR_SLOWDOWN,
    )


def make_folder(folder: Path, count: int, size: int, tag: str) -> Path:
    """`count` distinct files of `size` bytes (hex text), named f0000.txt onwards; `tag` makes the content
    differ from any other folder's."""
    folder.mkdir(parents=True)
    for index in range(count):
        head = f"{tag}:{index}:".encode()
        (folder / f"f{index:04d}.txt").write_bytes(head + os.urandom(size).hex().encode()[: size - len(head)])
    return folder


# -- download ---------------------------------------------------------------------------------------


def download_rows(env: dict[str, str], work: Path, plan: Plan) -> list[Row]:
    """`xai files cat ID -o PATH` of one large file against the SDK, a raw gRPC read and the disk."""
    work.mkdir(parents=True)
    size = plan.download_bytes
    source = work / "source.bin"
    write_payload(source, size, tag=b"download")
    file_id = measure([*XAI, "-q", "files", "upload", str(source)], env).stdout.decode().strip()
    source.unlink()
    ours_dest, sdk_dest, disk_dest = work / "xai.bin", work / "sdk.bin", work / "disk.bin"
    progress(f"download of {size / 1e6:.0f} MB, {plan.large_runs} round(s)")
    got = interleaved(
        plan.large_runs,
        {
            "xai": functools.partial(
                fresh, ours_dest, [*XAI, "-q", "files", "cat", file_id, "-o", str(ours_dest)], env
            ),
            "sdk": functools.partial(fresh, sdk_dest, [*SDK, "download", file_id, str(sdk_dest)], env),
            "read": functools.partial(measure, [*FLOOR, "read", file_id], env),
            "disk": functools.partial(fresh, disk_dest, [*FLOOR, "write", str(size), str(disk_dest)], env),
        },
    )
    for dest in (ours_dest, sdk_dest):
        if dest.stat().st_size != size:
            raise RuntimeError(f"{dest.name}: {dest.stat().st_size} bytes, expected {size}")
    shutil.rmtree(work, ignore_errors=True)
    ours, sdk = got["xai"], got["sdk"]
    label = f"download {size / 1e6:.0f} MB to a file"
    speedup = sdk.wall / ours.wall
    return [
        Row(
            f"{label} vs SDK",
            ours.brief(),
            f"sdk {sdk.brief()}",
            f"{speedup:.2f}x",
            f">= {DOWNLOAD_SPEEDUP}x sdk",
            speedup >= DOWNLOAD_SPEEDUP,
            ours.runs,
        ),
        rss_row(f"{label}: xai peak RSS", ours, DOWNLOAD_RSS_MB),
        pace_row(f"{label} vs raw gRPC read", ours, got["read"], size),
        pace_row(f"{label} vs disk write+fsync", ours, got["disk"], size),
    ]


def pace_row(name: str, ours: Sample, floor: Sample, size: int) -> Row:
    """How far a transfer is from a floor, as MB/s of each and xai time / floor time (no target)."""
    return Row(
        name,
        f"{size / 1e6 / ours.wall:.0f} MB/s",
        f"floor {size / 1e6 / floor.wall:.0f} MB/s",
        f"{ours.wall / floor.wall:.2f}x",
        runs=ours.runs,
    )


def fresh(dest: Path, cmd: list[str], env: dict[str, str]) -> Sample:
    """`measure` with `dest` removed first, so no run pays for replacing the previous run's file."""
    dest.unlink(missing_ok=True)
    return measure(cmd, env)


def write_payload(path: Path, size: int, tag: bytes) -> None:
    """`size` bytes: `tag` then one random MiB repeated (a distinct tag gives distinct content)."""
    block = os.urandom(MIB)
    with path.open("wb") as fh:
        fh.write(tag)
        left = size - len(tag)
        while left > 0:
            left -= fh.write(block[: min(MIB, left)])


# -- --skip-existing ---------------------------------------------------------------------------------


def has_flag(env: dict[str, str], command: str, flag: str) -> bool:
    """Whether `xai files COMMAND --help` lists `flag`."""
    result = subprocess.run(
        [*XAI, "files", command, "--help"], env=dict(env, COLUMNS="200"), capture_output=True, text=True
    )
    return flag in result.stdout


def skip_existing_rows(env: dict[str, str], work: Path, plan: Plan) -> list[Row]:
    """Upload and batch-upload with `--skip-existing` on a first run against the same work without it,
    and an all-skipped re-run against its first run. A first run gets content no earlier run uploaded
    and its own client state dir, so nothing can be skipped whatever the index keys on."""
    work.mkdir(parents=True)
    rows = upload_skip_rows(env, work, plan)
    rows += batch_skip_rows(env, work, plan)
    shutil.rmtree(work, ignore_errors=True)
    return rows


def settle() -> None:
    """Write what was just created to disk before a first run is measured, as the no-flag contender's
    files were long ago: otherwise the server's fsyncs during the run also flush them (ext4 writes a
    file's data before the journal commit that follows), which the run would be charged for."""
    os.sync()


class FirstRuns:
    """Makes each `--skip-existing` first run new: fresh content and a fresh client state dir."""

    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env, self.work, self.count = env, work, 0
        work.mkdir(parents=True)
        self.last_env: dict[str, str] = env
        self.last_path: Path = work

    def next(self) -> tuple[dict[str, str], Path]:
        """The environment and a new working folder of the next first run."""
        self.count += 1
        self.last_env = dict(self.env, XDG_STATE_HOME=str(self.work / f"state-{self.count}"))
        self.last_path = self.work / f"run-{self.count}"
        self.last_path.mkdir()
        return self.last_env, self.last_path


def upload_skip_rows(env: dict[str, str], work: Path, plan: Plan) -> list[Row]:
    """`upload` of one large file: without the flag vs the SDK (today's figure), with it vs without."""
    mib = plan.upload_bytes // MIB
    payload = work / "upload.bin"
    write_payload(payload, plan.upload_bytes, tag=b"plain")
    makers: dict[str, Callable[[], Sample]] = {
        "xai": functools.partial(measure, [*XAI, "-q", "files", "upload", str(payload)], env),
        "sdk": functools.partial(measure, [*SDK, "upload", str(payload)], env),
    }
    implemented = has_flag(env, "upload", "--skip-existing")
    if implemented:
        first_runs = FirstRuns(env, work / "upload-first")

        def skip_first_run() -> Sample:
            run_env, folder = first_runs.next()
            path = folder / "upload.bin"
            write_payload(path, plan.upload_bytes, tag=f"skip {first_runs.count}".encode())
            settle()
            sample = measure([*XAI, "-q", "files", "upload", "--skip-existing", str(path)], run_env)
            path.unlink()
            return sample

        makers["skip"] = skip_first_run
    progress(f"upload of {mib} MiB, {plan.runs} round(s)")
    got = interleaved(plan.runs, makers)
    payload.unlink()
    ours, sdk = got["xai"], got["sdk"]
    rows = [
        Row(
            f"upload {mib} MiB (no flag) vs SDK",
            ours.brief(),
            f"sdk {sdk.brief()}",
            f"{sdk.wall / ours.wall:.2f}x",
            runs=ours.runs,
        )
    ]
    name = f"upload {mib} MiB --skip-existing, first run"
    rows.append(overhead_row(name, got.get("skip"), ours) if implemented else Row(name, NOT_IMPLEMENTED))
    return rows


def batch_skip_rows(env: dict[str, str], work: Path, plan: Plan) -> list[Row]:
    """`batch-upload` of the smaller batch: a first run with the flag vs without; an all-skipped re-run."""
    count = plan.batch_counts[0]
    kib = plan.batch_file_size // 1024
    first_name = f"batch-upload {count:,} x {kib} KiB --skip-existing, first run"
    rerun_name = f"batch-upload {count:,} --skip-existing re-run (all skipped)"
    if not has_flag(env, "batch-upload", "--skip-existing"):
        return [Row(first_name, NOT_IMPLEMENTED), Row(rerun_name, NOT_IMPLEMENTED)]
    plain = make_folder(work / "batch-plain", count, plan.batch_file_size, tag="plain")
    first_runs = FirstRuns(env, work / "batch-first")

    def skip_first_run() -> Sample:
        run_env, folder = first_runs.next()
        files = make_folder(folder / "files", count, plan.batch_file_size, tag=f"skip {first_runs.count}")
        settle()
        return measure([*XAI, "-q", "files", "batch-upload", "--skip-existing", str(files)], run_env)

    def rerun() -> Sample:  # the folder and state dir of the first run just made, in the same round
        files = first_runs.last_path / "files"
        return measure(
            [*XAI, "-q", "files", "batch-upload", "--skip-existing", str(files)], first_runs.last_env
        )

    progress(f"batch-upload --skip-existing of {count:,} files, {plan.runs} round(s)")
    got = interleaved(
        plan.runs,
        {
            "xai": functools.partial(measure, [*XAI, "-q", "files", "batch-upload", str(plain)], env),
            "skip": skip_first_run,
            "rerun": rerun,
        },
    )
    first, again = got["skip"], got["rerun"]
    fraction = again.wall / first.wall
    return [
        overhead_row(first_name, first, got["xai"]),
        Row(
            rerun_name,
            again.brief(),
            f"first {first.brief()}",
            f"{fraction:.2f}x",
            f"< {RERUN_FRACTION:.2f}x first run",
            fraction < RERUN_FRACTION,
            again.runs,
        ),
    ]


def overhead_row(name: str, flagged: Sample | None, plain: Sample) -> Row:
    """A run with `--skip-existing` against the same work without it (xai both times)."""
    assert flagged is not None
    overhead = flagged.wall / plain.wall
    return Row(
        name,
        flagged.brief(),
        f"no flag {plain.brief()}",
        f"{overhead:.2f}x",
        f"<= {SKIP_OVERHEAD}x no-flag time",
        overhead <= SKIP_OVERHEAD,
        flagged.runs,
    )
