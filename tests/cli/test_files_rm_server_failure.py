"""`xai files rm` when the server deleted the file and then failed: the retry's NOT_FOUND is success.

Deleting by id is idempotent, so a delete that ended in INTERNAL, UNKNOWN or UNAVAILABLE after
reaching the server is repeated; NOT_FOUND on the repeat means the first attempt did the work.
"""

from __future__ import annotations

import pytest

from tests.support.cli import run_xai
from tests.support.emulator import seed


@pytest.mark.parametrize("code", ["INTERNAL", "UNKNOWN", "UNAVAILABLE"])
def test_deleted_then_failed_is_reported_as_already_deleted(emulators, code: str) -> None:
    server = emulators.start(f"DeleteFile:commit_drop:code={code}")
    keep, gone = seed(server, "keep.txt"), seed(server, "gone.txt")
    result = run_xai("files", "rm", "-y", gone, stdout_tty=True)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == f"Deleted {gone} (it was already gone)\n"
    assert server.faults.calls("DeleteFile") == 2
    assert server.storage.all_ids() == {keep}  # the retry deleted nothing else


def test_piped_output_lists_the_id_of_a_file_deleted_before_the_failure(emulators) -> None:
    server = emulators.start("DeleteFile:commit_drop:code=INTERNAL")
    gone = seed(server, "gone.txt")
    result = run_xai("files", "rm", gone)
    assert (result.code, result.stdout, result.stderr) == (0, f"{gone}\n", "")


def test_a_server_that_keeps_failing_is_asked_twice_then_reported(emulators) -> None:
    server = emulators.start("DeleteFile:fail:code=INTERNAL,times=0")
    kept = seed(server, "kept.txt")
    result = run_xai("files", "rm", kept)
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == f"xai: delete {kept}: injected fault (INTERNAL)\n"
    assert server.faults.calls("DeleteFile") == 2
    assert server.storage.all_ids() == {kept}


def test_a_refusal_is_not_repeated(emulators) -> None:
    server = emulators.start("DeleteFile:fail:code=PERMISSION_DENIED")
    kept = seed(server, "kept.txt")
    result = run_xai("files", "rm", kept)
    assert result.code == 3
    assert server.faults.calls("DeleteFile") == 1
