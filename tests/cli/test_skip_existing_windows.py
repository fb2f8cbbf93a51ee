"""A --skip-existing re-run asks the server about its remembered files in windows of their creation
times, all read at once (one round trip of latency however many pages), and still finds a deleted
file; a server that refuses the precise windows is read in one scan instead. Real gRPC, emulator."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_xai
from tests.support.stored import make_files
from xai_files_cli.core import upload_plan
from xai_files_cli.emulator.faults import Fault


def _statuses(result) -> dict[str, str]:
    assert result.code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {line["path"]: line["status"] for line in lines}


def test_a_rerun_reads_one_window_per_group_of_files_at_once(emulators, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(upload_plan, "WINDOW", 4)  # 12 files: three windows
    server = emulators.start()
    make_files(tmp_path / "docs", 12)
    first = run_xai("files", "batch-upload", str(tmp_path / "docs"), "--json")
    ids = {json.loads(line)["path"]: json.loads(line)["id"] for line in first.stdout.splitlines()}
    gone = sorted(ids)[5]  # a file of the middle window
    assert run_xai("files", "rm", ids[gone], "--yes").code == 0
    before = server.faults.calls("ListFiles")
    again = _statuses(run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing", "--json"))
    assert again == {path: "uploaded" if path == gone else "skipped" for path in ids}
    assert server.faults.calls("ListFiles") - before == 3
    assert server.faults.calls("RetrieveFile") == 0  # no single gets


def test_a_server_refusing_a_window_is_read_in_one_scan(emulators, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(upload_plan, "WINDOW", 4)
    server = emulators.start()
    make_files(tmp_path / "docs", 12)
    assert run_xai("files", "batch-upload", str(tmp_path / "docs")).code == 0
    server.faults.faults.append(Fault.parse("ListFiles:fail:code=INVALID_ARGUMENT"))  # the next call
    again = _statuses(run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing", "--json"))
    assert set(again.values()) == {"skipped"} and len(again) == 12
    assert "INVALID_ARGUMENT" in server.faults.outcomes("ListFiles")


class _TickingClock:
    """The server's clock, 10 µs later at each look: a batch's files are created microseconds apart."""

    def __init__(self) -> None:
        self.now = 1_800_000_000 * 1_000_000_000

    def __call__(self) -> int:
        self.now += 10_000
        return self.now


def test_windows_of_files_created_microseconds_apart_do_not_overlap(
    emulators, tmp_path: Path, monkeypatch
) -> None:
    """Each window reaches only to the midpoint to its neighbour, so it lists its own files alone:
    one page each, where windows widened into each other listed every file three times over."""
    monkeypatch.setattr(upload_plan, "WINDOW", 4)
    monkeypatch.setattr(upload_plan, "PAGE", 5)
    server = emulators.start(clock=_TickingClock())
    make_files(tmp_path / "docs", 12)
    assert run_xai("files", "batch-upload", str(tmp_path / "docs")).code == 0
    before = server.faults.calls("ListFiles")
    again = _statuses(run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing", "--json"))
    assert set(again.values()) == {"skipped"} and len(again) == 12
    assert server.faults.calls("ListFiles") - before == 3  # three windows, one page each
    assert server.faults.calls("RetrieveFile") == 0
