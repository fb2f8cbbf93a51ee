"""`batch-upload DIR` takes a folder as a repository holds it: hidden entries left out unless
`--hidden`, `--exclude GLOB`, a count of what was left out, and names relative to the folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from tests.support.processes import xai_command, xai_subprocess_env
from tests.support.stored import stored_by_name


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout: two report.pdf in different folders, .git/, .env, build output, a top file."""
    root = tmp_path / "repo"
    for relative, payload in {
        "README.md": b"# readme",
        "docs/report.pdf": b"%PDF docs",
        "archive/2024/report.pdf": b"%PDF archive",
        ".env": b"SECRET=1",
        ".git/config": b"[core]",
        ".git/objects/ab/cdef": b"blob",
        "docs/.draft.md": b"draft",
        "build/out.o": b"\x7fELF",
        "docs/notes.tmp": b"tmp",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    return root


def test_a_folder_skips_hidden_entries_and_names_files_by_their_relative_path(
    emulators: Emulators, repo: Path
) -> None:
    server = emulators.start()
    result = run_xai("files", "batch-upload", str(repo))
    assert result.code == 0, result
    assert sorted(stored_by_name(server)) == [
        "README.md",
        "archive/2024/report.pdf",
        "build/out.o",
        "docs/notes.tmp",
        "docs/report.pdf",
    ]
    assert result.stderr.splitlines()[0] == "xai: skipped 3 hidden paths (--hidden includes them)"


def test_hidden_includes_them(emulators: Emulators, repo: Path) -> None:
    server = emulators.start()
    assert run_xai("files", "batch-upload", str(repo), "--hidden").code == 0
    assert {".env", ".git/config", ".git/objects/ab/cdef", "docs/.draft.md"} <= set(stored_by_name(server))


def test_exclude_globs_leave_out_files_and_folders_and_are_counted(emulators: Emulators, repo: Path) -> None:
    server = emulators.start()
    result = run_xai(
        "files",
        "batch-upload",
        str(repo),
        "--exclude",
        "build",
        "--exclude",
        "*.tmp",
        "--exclude",
        "archive/*/*",
    )
    assert result.code == 0, result
    assert sorted(stored_by_name(server)) == ["README.md", "docs/report.pdf"]
    assert result.stderr.splitlines()[0] == (
        "xai: skipped 3 hidden paths (--hidden includes them) and 3 paths matching --exclude"
    )


def test_a_file_named_directly_keeps_its_basename_and_a_hidden_one_is_taken(
    emulators: Emulators, repo: Path
) -> None:
    server = emulators.start()
    result = run_xai("files", "batch-upload", str(repo / "docs" / "report.pdf"), str(repo / ".env"), "--json")
    assert result.code == 0
    assert sorted(json.loads(line)["filename"] for line in result.stdout.splitlines()) == [
        ".env",
        "report.pdf",
    ]
    assert sorted(stored_by_name(server)) == [".env", "report.pdf"]


def test_two_folders_with_the_same_relative_names_skip_by_name_and_content(
    emulators: Emulators, repo: Path
) -> None:
    emulators.start()
    first = run_xai("files", "batch-upload", str(repo / "docs"), "--skip-existing", "--json")
    assert sorted(json.loads(line)["filename"] for line in first.stdout.splitlines()) == [
        "notes.tmp",
        "report.pdf",
    ]
    # archive/2024/report.pdf has another content: uploaded; names keep the two apart.
    other = run_xai("files", "batch-upload", str(repo / "archive"), "--skip-existing", "--json")
    (record,) = map(json.loads, other.stdout.splitlines())
    assert (record["filename"], record["status"]) == ("2024/report.pdf", "uploaded")


def test_dry_run_shows_the_names_a_folder_would_get(emulators: Emulators, repo: Path) -> None:
    emulators.start()
    result = run_xai("files", "batch-upload", str(repo / "archive"), "--dry-run")
    assert [entry["name"] for entry in json.loads(result.stdout)] == ["2024/report.pdf"]


def test_a_file_reached_twice_is_uploaded_once(emulators: Emulators, repo: Path) -> None:
    server = emulators.start()
    (repo / "docs" / "link.pdf").symlink_to(repo / "docs" / "report.pdf")  # the same file again
    (repo / "docs" / "linked-dir").symlink_to(repo / "archive")  # a symlinked folder: not followed
    result = run_xai(
        "files", "batch-upload", str(repo / "docs"), str(repo / "docs" / "report.pdf"), str(repo / "docs")
    )
    assert result.code == 0, result
    assert sorted(stored_by_name(server)) == ["link.pdf", "notes.tmp"]  # once, by the first name found


def test_special_entries_links_and_the_manifest_are_left_out_and_counted(
    emulators: Emulators, tmp_path: Path
) -> None:
    server = emulators.start()
    folder = tmp_path / "drop"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"a")
    (folder / "sub" / "b.txt").write_bytes(b"b")
    os.mkfifo(folder / "pipe")
    (folder / "gone").symlink_to(tmp_path / "missing")
    (folder / "loop").symlink_to(folder)
    manifest = folder / "run.jsonl"
    first = run_xai("files", "batch-upload", str(folder), "--manifest", str(manifest))
    assert first.code == 0, first
    assert first.stderr.splitlines()[0] == (
        "xai: skipped 1 path not a regular file (FIFO, socket or device), "
        "1 symbolic link to a folder (not followed) and 1 broken symbolic link"
    )
    again = run_xai("files", "batch-upload", str(folder), "--manifest", str(manifest))
    assert again.code == 0, again
    assert again.stderr.splitlines()[0].endswith("1 broken symbolic link and the --manifest file")
    # The manifest the runs were appending to is never uploaded; the two files went up twice.
    assert sorted(stored_by_name(server)) == ["a.txt", "sub/b.txt"]
    assert [len(ids) for ids in stored_by_name(server).values()] == [2, 2]


def _without_read_override() -> list[str]:
    """A prefix that takes root's power to read any folder away (chmod then applies to the run)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: an unreadable folder cannot be made")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_folder_that_cannot_be_read_fails_the_run_and_the_rest_goes_on(
    emulators: Emulators, tmp_path: Path, dry_run: bool
) -> None:
    server = emulators.start()
    folder = tmp_path / "drop"
    (folder / "locked").mkdir(parents=True)
    (folder / "ok.txt").write_bytes(b"ok")
    (folder / "locked" / "x.txt").write_bytes(b"x")
    (folder / "locked").chmod(0)
    env = xai_subprocess_env({"XAI_API_HOST": server.target, "XAI_API_KEY": TEST_KEY})
    args = ["files", "batch-upload", str(folder), *(["--dry-run"] if dry_run else [])]
    try:
        done = subprocess.run(
            [*_without_read_override(), *xai_command(*args)], env=env, capture_output=True, text=True
        )
    finally:
        (folder / "locked").chmod(0o755)
    assert done.returncode == 7, done.stderr
    lines = done.stderr.splitlines()
    assert f"xai: cannot read folder {folder / 'locked'}: permission denied" in lines
    verb = "planned" if dry_run else "uploaded"
    assert lines[-1] == f"xai: {verb} 1 of 2 files; 1 failed"
    assert sorted(stored_by_name(server)) == ([] if dry_run else ["ok.txt"])
