"""Back-pressure: RESOURCE_EXHAUSTED meaning "not now" is waited out, a size rule is not.

A server admitting few calls at once (`max_concurrent_rpcs`) turns the excess away with
RESOURCE_EXHAUSTED "Concurrent RPC limit exceeded!"; a rate limit does the same, sometimes with a
`grpc-retry-pushback-ms` trailer (the fault injector's `pushback=MS`). The client repeats such calls
(an upload from byte 0: nothing was stored), a batch lowers its concurrency while pushed back, and
a size rule still fails at once with exit 5. Back-off timings are shrunk through `rpc.BACKPRESSURE`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import CliResult, run_xai
from tests.support.emulator import seed
from xai_files_cli.core import rpc
from xai_files_cli.emulator.server import (
    DEFAULT_MAX_CONCURRENT_RPCS,
)

BUSY = "code=RESOURCE_EXHAUSTED"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off waits of milliseconds; a pushback from the server is still honoured as sent."""
    monkeypatch.setattr(rpc, "BACKPRESSURE", rpc.BackoffPolicy(initial=0.01, maximum=0.05))


def small_files(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = [folder / f"f{index:03}.txt" for index in range(count)]
    for index, path in enumerate(paths):
        path.write_text(f"small file {index}\n")
    return paths


def listed_names() -> list[str]:
    result = run_xai("files", "ls", "--all", "--json")
    assert result.code == 0, result
    return sorted(entry["filename"] for entry in json.loads(result.stdout))


# -- batches ---------------------------------------------------------------------------------------
def test_300_files_at_concurrency_100_all_reach_a_server_admitting_4(emulators, tmp_path: Path) -> None:
    server = emulators.start(max_concurrent_rpcs=4)
    paths = small_files(tmp_path / "many", 300)
    started = time.monotonic()
    result = run_xai("-v", "files", "batch-upload", str(tmp_path / "many"), "--concurrency", "100", "--json")
    elapsed = time.monotonic() - started
    assert result.code == 0, result.stderr[-2000:]
    assert len(result.stdout.splitlines()) == 300
    assert listed_names() == sorted(path.name for path in paths)  # each file stored exactly once
    assert server.faults.calls("UploadFile") > 300  # some were turned away, and repeated
    assert "server pushing back (Concurrent RPC limit exceeded!): batch concurrency lowered to 50" in (
        result.stderr
    )
    assert elapsed < 15, elapsed


def test_default_batch_upload_of_260_files_with_local(tmp_path: Path) -> None:
    small_files(tmp_path / "many", 260)
    result = run_xai("--local", "files", "batch-upload", str(tmp_path / "many"))
    assert result.code == 0, result.stderr[-2000:]
    assert "uploaded 260 files" in result.stderr
    listed = run_xai("--local", "files", "ls", "--all", "--json")
    assert len(json.loads(listed.stdout)) == 260


def test_the_embedded_and_served_defaults_admit_more_than_a_default_batch(capsys) -> None:
    from xai_files_cli.cli.files import batch_upload
    from xai_files_cli.cli.serve import serve

    batch_default = _option_default(batch_upload, "concurrency")
    assert _option_default(serve, "max_concurrent_rpcs") == DEFAULT_MAX_CONCURRENT_RPCS > batch_default
    assert run_xai("serve", "--help").code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--max-concurrent-rpcs N Calls served at once; more are turned away with RESOURCE_EXHAUSTED" in (
        help_text
    )
    assert "[default: 128;" in help_text


def _option_default(command: Callable[..., object], name: str) -> object:
    import inspect

    default = inspect.signature(command).parameters[name].default
    return getattr(default, "default", default)


def test_a_size_rule_is_not_retried_while_back_pressure_is(emulators, tmp_path: Path) -> None:
    server = emulators.start(max_concurrent_rpcs=2, max_file_size=1000)
    small_files(tmp_path / "many", 30)
    (tmp_path / "many" / "big.bin").write_bytes(b"\0" * 5000)
    result = run_xai("files", "batch-upload", str(tmp_path / "many"), "--concurrency", "20", "--json")
    assert result.code == 7, result
    failures = [json.loads(line) for line in result.stdout.splitlines() if '"error"' in line]
    assert [Path(failure["path"]).name for failure in failures] == ["big.bin"]
    assert failures[0]["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert "larger than the maximum of 1000 bytes" in failures[0]["error"]["message"]
    assert len(listed_names()) == 30
    # Turned away for back-pressure, calls never reach a handler; the size rule was met once.
    assert server.faults.outcomes("UploadFile").count("RESOURCE_EXHAUSTED") == 1


def test_a_single_upload_over_the_servers_size_rule_fails_at_once(emulators, tmp_path: Path) -> None:
    server = emulators.start(max_file_size=1000)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 5000)
    result = run_xai("files", "upload", str(big))
    assert result.code == 5, result
    assert "file is larger than the maximum of 1000 bytes" in result.stderr
    assert server.faults.calls("UploadFile") == 1


# -- single calls and pushback ---------------------------------------------------------------------
def test_an_upload_waits_the_pushback_and_restarts_from_byte_0(emulators, tmp_path: Path) -> None:
    server = emulators.start(f"UploadFile:abort_upload:after=1,times=2,{BUSY},pushback=300,message=slow down")
    source = tmp_path / "data.bin"
    payload = bytes(range(256)) * 14_000  # 3.6 MB: two chunks, the server turns it away after one
    source.write_bytes(payload)
    started = time.monotonic()
    result = run_xai("-v", "files", "upload", str(source), "--json")
    elapsed = time.monotonic() - started
    assert result.code == 0, result
    assert elapsed >= 0.6  # two waits of the server's 300 ms, not the shrunk back-off
    assert server.faults.calls("UploadFile") == 3
    assert result.stderr.count("server busy (slow down); retrying from start in 0.30 s") == 2
    cat = run_xai("files", "cat", json.loads(result.stdout)["id"])
    assert cat.stdout_bytes == payload


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("ListFiles", ("files", "ls", "--json")),
        ("RetrieveFile", ("files", "get", "FILE", "--json")),
        ("RetrieveFileContent", ("files", "cat", "FILE")),  # a server stream
        ("ListLanguageModels", ("models", "--json")),
        ("GetCompletionChunk", ("chat", "hello")),  # a server stream
    ],
)
def test_reads_wait_out_back_pressure_with_pushback(emulators, method: str, args: tuple[str, ...]) -> None:
    server = emulators.start(f"{method}:fail:times=2,{BUSY},pushback=150,message=rate limit exceeded")
    file_id = seed(server, "note.txt", b"hello")
    started = time.monotonic()
    result = run_xai(*(file_id if arg == "FILE" else arg for arg in args))
    assert result.code == 0, result
    assert time.monotonic() - started >= 0.3
    assert server.faults.calls(method) == 3


def test_a_negative_pushback_means_do_not_retry(emulators, tmp_path: Path) -> None:
    server = emulators.start(f"UploadFile:fail:times=0,{BUSY},pushback=-1,message=rate limit exceeded")
    source = tmp_path / "a.txt"
    source.write_text("a")
    result = run_xai("files", "upload", str(source))
    assert result.code == 5, result
    assert server.faults.calls("UploadFile") == 1


def test_endless_back_pressure_gives_up_with_exit_5(emulators, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpc, "BACKPRESSURE", rpc.BackoffPolicy(initial=0.01, maximum=0.01, attempts=4))
    server = emulators.start(f"ListFiles:fail:times=0,{BUSY},message=Concurrent RPC limit exceeded!")
    result: CliResult = run_xai("files", "ls")
    assert result.code == 5, result
    assert result.stderr == (
        "xai: list files: server busy: Concurrent RPC limit exceeded! (RESOURCE_EXHAUSTED); "
        f"{rpc.BUSY_HINT}\n"
    )
    assert server.faults.calls("ListFiles") == 4
