"""`xai files batch-upload`: expansion of dirs/globs, per-file results, summary and exit codes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import REPO_ROOT, TEST_KEY
from tests.support.processes import xai_command, xai_subprocess_env
from xai_files_cli.core.files import INTERRUPT_GRACE


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """docs/a.txt (1 B), docs/sub/b.txt (2 B), docs/sub/deeper/c.md (3 B), top.txt (4 B)."""
    root = tmp_path / "tree"
    (root / "docs" / "sub" / "deeper").mkdir(parents=True)
    (root / "docs" / "a.txt").write_bytes(b"a")
    (root / "docs" / "sub" / "b.txt").write_bytes(b"bb")
    (root / "docs" / "sub" / "deeper" / "c.md").write_bytes(b"ccc")
    (root / "top.txt").write_bytes(b"dddd")
    return root


def _ids_by_name(server) -> dict[str, str]:
    records = [server.storage.get(i) for i in server.storage.all_ids()]
    return {r.filename: r.id for r in records}


def test_piped_prints_id_tab_path_per_file_and_a_summary(xai, server, tree: Path) -> None:
    result = xai("files", "batch-upload", str(tree / "docs"), str(tree / "top.txt"))
    ids = _ids_by_name(server)
    assert result.code == 0
    expected = {
        f"{ids['a.txt']}\t{tree / 'docs' / 'a.txt'}",
        f"{ids['sub/b.txt']}\t{tree / 'docs' / 'sub' / 'b.txt'}",
        f"{ids['sub/deeper/c.md']}\t{tree / 'docs' / 'sub' / 'deeper' / 'c.md'}",
        f"{ids['top.txt']}\t{tree / 'top.txt'}",
    }
    assert result.stdout.endswith("\n") and set(result.stdout.splitlines()) == expected
    assert result.stderr == "xai: uploaded 4 files (10 B)\n"


def test_quoted_globs_are_expanded_by_us(xai, server, tree: Path) -> None:
    result = xai("--quiet", "files", "batch-upload", str(tree / "**" / "*.txt"), "--concurrency", "1")
    assert (result.code, result.stderr) == (0, "")
    assert sorted(_ids_by_name(server)) == ["a.txt", "b.txt", "top.txt"]
    assert len(result.stdout.splitlines()) == 3


def test_json_is_one_object_per_file(xai, server, tree: Path) -> None:
    result = xai("files", "batch-upload", str(tree / "top.txt"), "--json", "-e", "1h")
    assert result.code == 0
    (line,) = result.stdout.splitlines()
    body = json.loads(line)
    assert body["path"] == str(tree / "top.txt")
    assert (body["id"], body["filename"], body["size"]) == (_ids_by_name(server)["top.txt"], "top.txt", 4)
    assert body["expires_at"] is not None


def test_tty_prints_result_lines(xai, server, tree: Path) -> None:
    result = xai("files", "batch-upload", str(tree / "top.txt"), stdout_tty=True)
    file_id = _ids_by_name(server)["top.txt"]
    assert result.code == 0
    # The path may be shortened from the left to fit the terminal; the id is never cut.
    assert re.fullmatch(rf"✓ …?\S*/tree/top\.txt → {file_id} \(4 B\)\n", result.stdout), result.stdout
    assert result.stderr == "xai: uploaded 1 file (4 B)\n"


def test_tty_progress_does_not_break_results(xai, server, tree: Path) -> None:
    result = xai("files", "batch-upload", str(tree), stdout_tty=True, stderr_tty=True)
    assert result.code == 0
    assert len(_ids_by_name(server)) == 4
    # With a live bar on the same terminal, result lines are printed above it (never lost, never twice).
    shown = result.stdout + result.stderr
    for name in ("a.txt", "b.txt", "c.md", "top.txt"):
        assert shown.count(f"/{name} → file_") == 1


def test_some_failures_exit_7_and_name_each(xai, server, tree: Path) -> None:
    bad = tree / 'bad"name.txt'
    bad.write_bytes(b"x")
    result = xai("files", "batch-upload", str(bad), str(tree / "top.txt"))
    assert result.code == 7
    assert result.stdout == f"{_ids_by_name(server)['top.txt']}\t{tree / 'top.txt'}\n"
    lines = result.stderr.splitlines()
    assert lines[0].startswith('xai: upload bad"name.txt: ') and lines[0].endswith("(INVALID_ARGUMENT)")
    assert lines[1] == "xai: uploaded 1 of 2 files; 1 failed"


def test_all_failed_exits_with_their_code(xai, tree: Path) -> None:
    bad = tree / "semi;colon.txt"
    bad.write_bytes(b"x")
    result = xai("files", "batch-upload", str(bad), "--json")
    assert result.code == 5
    body = json.loads(result.stdout)
    assert body["path"] == str(bad)
    assert (body["error"]["code"], body["error"]["exit_code"]) == ("INVALID_ARGUMENT", 5)


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("missing.txt", "xai: cannot upload {tmp}/missing.txt: no such file\n"),
        ("*.nothing", "xai: no files match '{tmp}/*.nothing'\n"),
    ],
)
def test_bad_paths_exit_2_before_any_upload(emulators, tree: Path, arg: str, message: str) -> None:
    server = emulators.start()
    result = run_xai("files", "batch-upload", str(tree / "top.txt"), str(tree / arg))
    assert (result.code, result.stdout, result.stderr) == (2, "", message.format(tmp=tree))
    assert server.faults.calls("UploadFile") == 0


def test_bad_ttl_exits_2(emulators, tree: Path) -> None:
    emulators.start()
    result = run_xai("files", "batch-upload", str(tree), "--expires-after", "31d")
    assert (result.code, result.stdout) == (2, "")
    assert "between 1h and 30d" in result.stderr


def test_empty_directory_uploads_nothing(xai, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = xai("files", "batch-upload", str(empty))
    assert (result.code, result.stdout, result.stderr) == (0, "", "xai: no files to upload\n")


def test_many_files_share_one_channel(xai, server, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"f{i:02}.txt").write_bytes(b"x" * i)
    result = xai("--quiet", "files", "batch-upload", str(folder), "--concurrency", "8")
    assert (result.code, result.stderr) == (0, "")
    assert len(result.stdout.splitlines()) == 60
    assert len(server.storage.all_ids()) == 60


def test_sigint_mid_batch_leaves_no_upload_behind_and_exits_130(emulators, tmp_path: Path) -> None:
    """Uploads still sending are cancelled; those sent in full are waited for and deleted again."""
    server = emulators.start("UploadFile:delay:amount=1.5,times=0", point_cli=False)
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(8):
        (folder / f"f{i}.txt").write_bytes(b"z" * 1000)
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    process = subprocess.Popen(
        xai_command("files", "batch-upload", str(folder), "--concurrency", "4"),
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.faults.wait_for(lambda plan: plan.calls("UploadFile") == 4)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    stdout, stderr = process.communicate(timeout=10)
    assert time.monotonic() - started < 2 + INTERRUPT_GRACE  # the wait for answers is bounded
    assert (process.returncode, stdout) == (130, "")
    deleted = r"deleted the (uploaded file|\d uploaded files) file_\S+(, file_\S+)*"
    assert re.fullmatch(rf"xai: interrupted; (nothing uploaded|{deleted})\n", stderr), stderr
    assert server.faults.wait_for(lambda plan: len(plan.outcomes("UploadFile")) == 4)
    assert server.faults.calls("UploadFile") == 4  # nothing started after Ctrl-C
    assert server.storage.all_ids() == set()  # no file, complete or partial
