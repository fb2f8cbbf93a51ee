"""Server-assigned file ids: drawn in bulk from the OS's random source, each handed out once."""

from __future__ import annotations

import os
import threading

import pytest

from xai_files_cli.emulator.validation import is_file_id, new_file_id


def test_ids_taken_from_many_threads_are_valid_and_never_repeat() -> None:
    taken: list[list[str]] = [[] for _ in range(8)]

    def take(into: list[str]) -> None:
        into.extend(new_file_id() for _ in range(700))  # several draws of the bulk buffer

    threads = [threading.Thread(target=take, args=(into,)) for into in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [file_id for into in taken for file_id in into]
    assert len(set(ids)) == len(ids) == 8 * 700
    assert all(is_file_id(file_id) for file_id in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_unused_ids() -> None:
    new_file_id()  # the parent now holds unused ids drawn in bulk
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write_end, new_file_id().encode())
        os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 100).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    parents = {new_file_id() for _ in range(300)}
    assert is_file_id(child_id)
    assert child_id not in parents
