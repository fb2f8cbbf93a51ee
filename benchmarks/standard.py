"""The standard section of benchmarks/run.py: the sizes the README shows, xai against the SDK.

Ratios are SDK time / xai time (higher is better for xai). Targets come from issues 2, 3 and 9.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from harness import MIB, SDK, XAI, Row, Sample, Server, client_env, interleaved, measure, median_of


def run_standard(work: Path, quick: bool, repeat: int) -> list[Row]:
    """Every standard row, against one `xai serve` whose data lives under `work`."""
    runs = 1 if quick else repeat
    big = (1 if quick else 256) * MIB
    batch_count = 10 if quick else 500
    chat_size = (32 * 1024) if quick else 2 * 1000 * 1000
    server = Server(work / "server")
    env = client_env(server.target, work)
    rows: list[Row] = []

    def compare(name: str, ours: Sample, sdk: Sample, target_ratio: float) -> None:
        ratio = sdk.wall / ours.wall
        rows.append(
            Row(
                name,
                ours.brief(),
                f"sdk {sdk.brief()}",
                f"{ratio:5.2f}x",
                f">= {target_ratio}x sdk",
                ratio >= target_ratio,
                runs,
            )
        )

    def repeated(cmd: list[str], first_byte: bool = False) -> Sample:
        return median_of(runs, lambda: measure(cmd, env, first_byte=first_byte))

    try:
        xai_bin = shutil.which("xai", path=str(Path(sys.executable).parent)) or "xai"
        help_run = median_of(runs if quick else max(runs, 5), lambda: measure([xai_bin, "--help"], env))
        rows.append(
            Row(
                "xai --help", help_run.brief(), target="< 0.25 s", ok=help_run.wall < 0.25, runs=help_run.runs
            )
        )

        payload = work / "big.bin"
        write_random(payload, big)
        ours_up = repeated([*XAI, "-q", "files", "upload", str(payload)])
        sdk_up = repeated([*SDK, "upload", str(payload)])
        compare(f"upload {big // MIB} MiB", ours_up, sdk_up, 1.15)

        file_id = ours_up.stdout.decode().strip()
        dest = work / "down.bin"
        ours_down = repeated([*XAI, "-q", "files", "cat", file_id, "-o", str(dest)])
        assert dest.stat().st_size == big
        sdk_down = repeated([*SDK, "download", file_id, str(dest)])
        compare(f"download {big // MIB} MiB", ours_down, sdk_down, 1.5)

        small = work / "small"
        small.mkdir()
        for i in range(batch_count):
            (small / f"f{i:04d}.txt").write_bytes(os.urandom(2048).hex().encode())
        ours_batch = repeated([*XAI, "-q", "files", "batch-upload", str(small)])
        sdk_batch = repeated([*SDK, "batch", str(small)])
        compare(f"batch-upload {batch_count} x 4 KiB", ours_batch, sdk_batch, 1.15)

        ours_ls = repeated([*XAI, "files", "ls", "--all", "--jsonl"])
        sdk_ls = repeated([*SDK, "ls"])
        compare("files ls (all pages)", ours_ls, sdk_ls, 1.5)

        ours_chat, sdk_chat = chat_samples(work, env, chat_size, repeated)
        ours_first, sdk_first = ours_chat.first_byte or 0.0, sdk_chat.first_byte or 0.0
        rows.append(
            Row(
                f"chat, {chat_size // 1000} kB file: first token",
                f"{ours_first:7.3f}s",
                f"sdk {sdk_first:7.3f}s",
                f"{sdk_first / ours_first:5.2f}x",
                runs=runs,
            )
        )
        rows.append(
            Row(
                f"chat, {chat_size // 1000} kB file: total",
                ours_chat.brief(),
                f"sdk {sdk_chat.brief()}",
                f"{sdk_chat.wall / ours_chat.wall:5.2f}x",
                runs=runs,
            )
        )

        going_on, fresh = conversation_samples(work, env, runs)
        on_first, fresh_first = going_on.first_byte or 0.0, fresh.first_byte or 0.0
        rows.append(
            Row(
                f"chat -c, {chat_size // 1000} kB file attached: first token",
                f"{on_first:7.3f}s",
                f"--file ID {fresh_first:7.3f}s",
                f"{on_first / fresh_first:5.2f}x",
                "<= 1.1x fresh --file ID",
                on_first <= 1.1 * fresh_first,
                runs,
            )
        )

        peak = max(s.rss_mb for s in (ours_up, ours_down, ours_batch, ours_ls, ours_chat, going_on))
        rows.append(Row("xai peak RSS (any command)", f"{peak:6.1f}MB", target="< 100 MB", ok=peak < 100))
        rows.append(
            Row(
                "sdk download peak RSS", "-", f"sdk {sdk_down.rss_mb:6.1f}MB", target=f"file {big // MIB} MiB"
            )
        )
    finally:
        server.stop()
    return rows


def write_random(path: Path, size: int) -> None:
    """`size` bytes (a multiple of 1 MiB): one random MiB repeated."""
    block = os.urandom(MIB)
    with path.open("wb") as fh:
        for _ in range(size // MIB):
            fh.write(block)


def chat_samples(
    work: Path, env: dict[str, str], chat_size: int, repeated: Callable[..., Sample]
) -> tuple[Sample, Sample]:
    """xai's and the SDK's chat about a notes file of `chat_size` bytes (first token and total)."""
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
    ours = repeated([*XAI, "-q", "--local", "chat", question, "--file", str(notes)], first_byte=True)
    sdk = repeated([*SDK, "chat", str(notes), question], first_byte=True)
    return ours, sdk


def conversation_samples(work: Path, env: dict[str, str], runs: int) -> tuple[Sample, Sample]:
    """First token of `xai chat -c` going on with a conversation whose file (the chat notes, by id)
    was attached at its first turn, and of a fresh `xai chat --file ID`; each with its own log.

    Every `-c` run goes on with a conversation of one earlier turn (made, untimed, just before),
    so the history sent is the same each time; the two kinds of run take turns."""
    notes = work / "notes.txt"
    file_id = measure([*XAI, "-q", "files", "upload", str(notes)], env).stdout.decode().strip()
    going_on_env = dict(env, XAI_LOGS_PATH=str(work / "logs-going-on" / "conversations.db"))
    fresh_env = dict(env, XAI_LOGS_PATH=str(work / "logs-fresh" / "conversations.db"))
    question = "What is the main risk?"

    def going_on() -> Sample:
        measure([*XAI, "-q", "chat", "Summarise the review", "--file", file_id], going_on_env)
        return measure([*XAI, "-q", "chat", "-c", question], going_on_env, first_byte=True)

    def fresh() -> Sample:
        return measure([*XAI, "-q", "chat", question, "--file", file_id], fresh_env, first_byte=True)

    samples = interleaved(runs, {"going on": going_on, "fresh": fresh})
    return samples["going on"], samples["fresh"]
