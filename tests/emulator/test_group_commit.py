"""Uploads that finish together share their commit (one intent transaction, one fsync of blobs/, one
row transaction), and each still ends fully stored or not at all."""

from __future__ import annotations

import threading

import pytest

from tests.support.emulator import disk_state
from xai_files_cli.emulator.storage import Storage, UploadCancelled

UPLOADS = 16


@pytest.fixture
def store(tmp_path):
    opened = Storage(tmp_path / "d")
    yield opened
    opened.close()


def _count_calls(store: Storage, name: str) -> list[int]:
    """Count calls of one of the store's own steps (it still runs); returns the sizes it was given."""
    real = getattr(store, name)
    sizes: list[int] = []

    def counted(items: list, *rest: object) -> None:
        sizes.append(len(items))
        real(items, *rest)

    setattr(store, name, counted)
    return sizes


def _content(index: int, inline_limit: int, big: bool) -> bytes:
    """Upload `index`'s bytes: kept inline in files.db, or (big) past the limit, in a blob file."""
    text = f"content {index}".encode()
    return text.ljust(inline_limit + 1, b".") if big else text


@pytest.mark.parametrize("big", [False, True], ids=["inline", "blob files"])
def test_uploads_committing_at_once_share_transactions_and_all_land(store, big):
    inserts = _count_calls(store, "_insert")
    notes = _count_calls(store, "_note_uploads")
    start = threading.Barrier(UPLOADS)
    records, errors = [], []

    def upload(index: int) -> None:
        try:
            with store.begin_upload(f"f{index}.txt", None) as pending:
                pending.write(_content(index, store.inline_limit, big))
                start.wait()
                records.append(pending.commit())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=upload, args=(index,)) for index in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(inserts) == UPLOADS
    assert sum(notes) == (UPLOADS if big else 0)  # an inline upload has no blob to note
    assert len(inserts) < UPLOADS  # some uploads shared a transaction
    assert {record.id for record in records} == store.all_ids()
    assert disk_state(store.data_dir) == (store.all_ids(), set())
    for record in records:
        with store.open_blob(record.id) as blob:
            assert blob.read() == _content(int(record.filename[1:-4]), store.inline_limit, big)
    assert store._intents() == {}


def test_an_upload_no_longer_wanted_at_its_commit_leaves_nothing(store):
    with store.begin_upload("gone.bin", None) as pending, pytest.raises(UploadCancelled):
        pending.write(b"the caller went away")
        pending.commit(still_wanted=lambda: False)
    assert store.all_ids() == set()
    assert disk_state(store.data_dir) == (set(), set())
    assert store._intents() == {}
    kept = store.begin_upload("kept.bin", None)
    kept.write(b"x")
    assert store.get(kept.commit().id) is not None
