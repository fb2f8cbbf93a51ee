"""A 100-file batch stopped at a random moment (Ctrl-C, SIGTERM, kill -9 of the client, kill -9 of
`xai --local` and its embedded server) and run again with `--skip-existing` ends with every file on
the server exactly once, each with the content of its local file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators
from tests.support.processes import start_xai, start_xai_against, xai_command, xai_subprocess_env
from tests.support.stored import index_rows, make_files, stored_by_name

FILES = 100


def _each_exactly_once(stored: dict[str, list[tuple[str, str]]], made: dict[str, str]) -> None:
    assert sorted(stored) == sorted(made)
    for name, copies in stored.items():
        assert [sha for _, sha in copies] == [made[name]], name


def _stop(process: subprocess.Popen[str], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    process.communicate(timeout=30)


@pytest.mark.parametrize(
    ("sig", "seed"), [(signal.SIGKILL, 1), (signal.SIGKILL, 2), (signal.SIGTERM, 3), (signal.SIGINT, 4)]
)
def test_a_stopped_batch_rerun_with_skip_existing_stores_each_file_once(
    emulators: Emulators, tmp_path: Path, sig: int, seed: int
) -> None:
    server = emulators.start()
    assert server.faults is not None
    made = make_files(tmp_path / "docs", FILES)
    moment = random.Random(seed).randrange(1, FILES)
    process = start_xai_against(
        server.target, TEST_KEY, "files", "batch-upload", str(tmp_path / "docs"), "-c", "8", "--skip-existing"
    )
    server.faults.wait_for(lambda plan: plan.calls("UploadFile") >= moment or process.poll() is not None, 30)
    _stop(process, sig)
    rerun = run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing", "-c", "8")
    assert rerun.code == 0, rerun
    assert len(rerun.stdout.splitlines()) == FILES  # every file listed with its id, once
    _each_exactly_once(stored_by_name(server), made)
    assert index_rows(Path(os.environ["XAI_STATE_DIR"]), "pending") == []


def test_killed_while_the_server_holds_its_replies_the_stored_files_are_adopted(
    emulators: Emulators, tmp_path: Path
) -> None:
    # Each upload is stored, then its reply held back: the client is killed between the server's
    # commit and its own record, the window the pending rows are for.
    server = emulators.start("UploadFile:hold_reply:amount=30,times=0")
    assert server.faults is not None
    made = make_files(tmp_path / "docs", FILES)
    process = start_xai_against(
        server.target, TEST_KEY, "files", "batch-upload", str(tmp_path / "docs"), "-c", "4"
    )
    assert server.faults.wait_for(lambda plan: plan.held("UploadFile") >= 4, 30)
    _stop(process, signal.SIGKILL)
    server.faults.faults.clear()
    # A batch writes the pending rows of all its files before the first upload starts.
    assert len(index_rows(Path(os.environ["XAI_STATE_DIR"]), "pending")) == FILES
    rerun = run_xai("files", "batch-upload", str(tmp_path / "docs"), "--skip-existing")
    assert rerun.code == 0, rerun
    assert rerun.stderr.endswith("skipped 4 unchanged (256 B)\n"), rerun.stderr
    _each_exactly_once(stored_by_name(server), made)


@pytest.mark.parametrize("seed", [5, 6])
def test_kill_9_of_local_and_its_embedded_server_then_a_rerun_stores_each_file_once(
    emulators: Emulators, tmp_path: Path, seed: int
) -> None:
    data_dir = tmp_path / "local-data"
    env = xai_subprocess_env({"XAI_DATA_DIR": str(data_dir)})
    made = make_files(tmp_path / "docs", FILES)
    moment = random.Random(seed).randrange(1, FILES)
    manifest = tmp_path / "manifest.fifo"
    os.mkfifo(manifest)  # each finished file is one line we can wait for
    args = ["--local", "files", "batch-upload", str(tmp_path / "docs"), "--skip-existing", "-c", "8"]
    process = start_xai(*args, "--manifest", str(manifest), env=env, text=True, stdout=subprocess.PIPE)
    with manifest.open() as lines:
        for _ in range(moment):
            if not lines.readline():
                break
        process.kill()  # the embedded server dies with it, in the middle of its work
    process.communicate(timeout=30)
    rerun = subprocess.run(
        xai_command(*args), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    assert len(rerun.stdout.splitlines()) == FILES
    reopened = emulators.start(point_cli=False, data_dir=data_dir, faults=None)
    _each_exactly_once(stored_by_name(reopened), made)
