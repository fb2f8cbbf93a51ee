"""The local server never destroys what it did not create, and says so when bytes are lost.

Start-up cleanup removes only its own temp files (`<file id>.part`) and blobs its database noted
as garbage; it never follows a symlink, never changes the mode of a directory it did not create,
refuses to start when the database is missing or empty beside stored blobs, keeps blobs the
database does not know in lost+found (and puts them back when their rows return), and a listed
file whose bytes are gone reads as DATA_LOSS, not NOT_FOUND.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import pytest

from tests.support.cli import run_xai
from tests.support.constants import TEST_KEY
from tests.support.emulator import run_serve
from tests.support.processes import xai_subprocess_env
from tests.support.raw_grpc import error_of
from tests.support.samples import NOTES
from xai_files_cli._pb import chat_pb2, chat_pb2_grpc
from xai_files_cli.emulator.storage import INLINE_LIMIT, Storage

STALE_TEMP = "file_22222222-2222-4222-8222-222222222222.part"


def _store(data_dir: Path, **files: bytes) -> dict[str, str]:
    """Put files into a data dir through the store itself, each in a blob file; returns {name: id}."""
    store = Storage(data_dir)
    store.inline_limit = 0
    try:
        ids = {}
        for name, payload in files.items():
            with store.begin_upload(name, None) as upload:
                upload.write(payload)
                ids[name] = upload.commit().id
        return ids
    finally:
        store.close()


def _local(data_dir: Path, monkeypatch: pytest.MonkeyPatch, *args: str):  # type: ignore[no-untyped-def]
    """`xai --local ARGS` on `data_dir` (the embedded server opens the store there)."""
    monkeypatch.setenv("XAI_DATA_DIR", str(data_dir))
    return run_xai("--local", *args)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# -- temp dir and directory modes ------------------------------------------------------------------


def test_start_up_cleanup_keeps_foreign_files_and_directory_modes(tmp_path, make_server):
    data_dir = tmp_path / "shared"
    data_dir.mkdir()
    os.chmod(data_dir, 0o1777)
    tmp = data_dir / "tmp"
    tmp.mkdir()
    os.chmod(tmp, 0o755)
    (tmp / "notes.txt").write_text("mine, not the server's")
    (tmp / "file_x.part").write_text("not an id")
    (tmp / STALE_TEMP).write_text("a crashed upload")
    _, client = make_server(data_dir)
    assert client.upload("a.txt", b"a").filename == "a.txt"
    assert sorted(p.name for p in tmp.iterdir()) == ["file_x.part", "notes.txt"]
    assert _mode(data_dir) == 0o1777
    assert _mode(tmp) == 0o755
    assert _mode(data_dir / "blobs") == 0o700  # created by the server, so private


def test_new_data_dirs_and_their_parents_are_private(tmp_path, make_server):
    data_dir = tmp_path / "new-parent" / "data"
    make_server(data_dir)
    for directory in (tmp_path / "new-parent", data_dir, data_dir / "blobs", data_dir / "tmp"):
        assert _mode(directory) == 0o700, directory


@pytest.mark.parametrize("linked", ["tmp", "blobs"])
def test_a_symlinked_subdirectory_is_refused_and_its_target_untouched(tmp_path, monkeypatch, linked):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o755)
    (elsewhere / "precious.txt").write_text("keep me")
    (elsewhere / STALE_TEMP).write_text("named like a temp file, but not in our dir")
    (elsewhere / "file_11111111-1111-4111-8111-111111111111").write_text("named like a blob")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / linked).symlink_to(elsewhere)
    result = _local(data_dir, monkeypatch, "files", "ls")
    assert result.code == 2, result
    assert result.stderr.count("\n") == 1
    assert f"{data_dir / linked} is a symbolic link" in result.stderr
    assert len(list(elsewhere.iterdir())) == 3
    assert _mode(elsewhere) == 0o755


def test_xai_serve_refuses_a_symlinked_tmp_with_one_line(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / STALE_TEMP).write_text("x")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "tmp").symlink_to(elsewhere)
    result = run_serve("--port", "0", "--data-dir", str(data_dir), key="k" * 20)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("xai: cannot use the data dir ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert (elsewhere / STALE_TEMP).exists()


# -- a missing, empty or older database --------------------------------------------------------


def _remove_database(data_dir: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"files.db{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("damage", ["deleted", "emptied", "fresh schema"])
def test_a_missing_or_empty_database_beside_stored_files_refuses_and_keeps_them(
    tmp_path, monkeypatch, damage
):
    data_dir = tmp_path / "data"
    ids = _store(data_dir, **{"a.txt": b"alpha", "b.txt": b"beta"})
    backup = tmp_path / "files.db.backup"
    shutil.copy(data_dir / "files.db", backup)
    _remove_database(data_dir)
    if damage == "emptied":
        (data_dir / "files.db").write_bytes(b"")
    elif damage == "fresh schema":  # a backup taken before anything was uploaded
        Storage(tmp_path / "empty").close()
        shutil.copy(tmp_path / "empty" / "files.db", data_dir / "files.db")

    for attempt in range(2):  # refusing changes nothing, so it refuses again
        result = _local(data_dir, monkeypatch, "files", "ls")
        assert result.code == 1, result
        assert result.stderr.count("\n") == 1
        assert f"the data dir {data_dir} holds 2 stored file(s)" in result.stderr
        assert "restore files.db" in result.stderr
        assert sorted(p.name for p in (data_dir / "blobs").iterdir()) == sorted(ids.values()), attempt
    assert (data_dir / "files.db").exists() == (damage != "deleted")  # no new database was made

    _remove_database(data_dir)
    shutil.copy(backup, data_dir / "files.db")  # the way out the message names
    listed = _local(data_dir, monkeypatch, "files", "ls", "--json")
    assert listed.code == 0, listed
    assert sorted(ids.values()) == sorted(f["id"] for f in json.loads(listed.stdout))
    content = _local(data_dir, monkeypatch, "files", "cat", ids["b.txt"])
    assert content.code == 0 and content.stdout_bytes == b"beta"


def test_blobs_an_older_database_does_not_list_go_to_lost_and_found_and_come_back(tmp_path, make_server):
    data_dir = tmp_path / "data"
    old = _store(data_dir, **{"old.txt": b"before the backup"})
    shutil.copy(data_dir / "files.db", tmp_path / "old.db")
    new = _store(data_dir, **{"new.txt": b"after the backup"})
    shutil.copy(data_dir / "files.db", tmp_path / "new.db")

    shutil.copy(tmp_path / "old.db", data_dir / "files.db")  # a half-restored backup
    running, client = make_server(data_dir)
    assert [f.id for f in client.list().data] == [old["old.txt"]]
    assert (data_dir / "lost+found" / new["new.txt"]).read_bytes() == b"after the backup"
    assert not (data_dir / "blobs" / new["new.txt"]).exists()
    assert _mode(data_dir / "lost+found") == 0o700
    client.close()
    running.stop(grace=0)

    shutil.copy(tmp_path / "new.db", data_dir / "files.db")  # the right backup after all
    _, client = make_server(data_dir)
    assert client.content(new["new.txt"]) == b"after the backup"
    assert client.content(old["old.txt"]) == b"before the backup"
    assert list((data_dir / "lost+found").iterdir()) == []


_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from xai_files_cli.emulator.storage import Storage

    store = Storage(sys.argv[1])
    store.inline_limit = 0  # a blob file even for a small upload
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[2] == "upload":  # killed after the blob was renamed into blobs/, before its row
        store._insert = die
        with store.begin_upload("crashed.txt", None) as upload:
            upload.write(b"never acknowledged")
            print(upload.file_id, flush=True)
            upload.commit()
    else:  # killed after the row removal was committed, before the blob was unlinked
        store._unlink_blob = die
        print(sys.argv[3], flush=True)
        store.delete(sys.argv[3])
    """
)


@pytest.mark.parametrize("moment", ["upload", "delete"])
def test_a_crash_leftover_the_database_noted_is_removed_at_start_up(tmp_path, moment):
    data_dir = tmp_path / "data"
    ids = _store(data_dir, **{"kept.txt": b"kept", "doomed.txt": b"to be deleted"})
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT, str(data_dir), moment, ids["doomed.txt"]],
        env=xai_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert crashed.returncode == -9, crashed.stderr
    victim = crashed.stdout.strip()
    assert (data_dir / "blobs" / victim).exists()  # the crash left a blob without a row
    store = Storage(data_dir)
    try:
        assert not (data_dir / "blobs" / victim).exists()
        assert not (data_dir / "lost+found").exists()
        assert store.all_ids() == {ids["kept.txt"]} | ({ids["doomed.txt"]} if moment == "upload" else set())
        assert store._conn().execute("SELECT COUNT(*) FROM blob_intents").fetchone()[0] == 0
    finally:
        store.close()


# -- bytes lost under a listed file ----------------------------------------------------------------


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_listed_file_whose_bytes_are_lost_reads_as_data_loss(server, files, xai, damage):
    stored = NOTES.encode() * (INLINE_LIMIT // len(NOTES.encode()) + 1)  # large enough for blobs/
    created = files.upload("notes.txt", stored)
    blob = Path(server.data_dir) / "blobs" / created.id
    if damage == "missing":
        blob.unlink()
    else:
        blob.write_bytes(NOTES.encode()[:10])
    error = error_of(lambda: files.content(created.id))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert f"the content of file {created.id} is lost" in error.details()
    assert files.get(created.id).id == created.id  # still listed, so that it can be deleted

    result = xai("files", "cat", created.id)
    assert result.code == 1
    assert "is lost on the server" in result.stderr and result.stdout_bytes == b""

    chat = chat_pb2_grpc.ChatStub(files.channel)
    question = chat_pb2.Message(
        role=chat_pb2.ROLE_USER,
        content=[
            chat_pb2.Content(text="What are the risks?"),
            chat_pb2.Content(file=chat_pb2.FileContent(file_id=created.id)),
        ],
    )
    request = chat_pb2.GetCompletionsRequest(model="grok-4", messages=[question])
    error = error_of(lambda: chat.GetCompletion(request, metadata=files.metadata, timeout=30))
    assert error.code() == grpc.StatusCode.DATA_LOSS, error.details()

    files.delete(created.id)
    assert files.list().data == []
    assert TEST_KEY not in result.stderr
