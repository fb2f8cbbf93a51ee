"""Crash safety with SIGKILL: after a restart the store is consistent and nothing half-done shows.

A handful of random kill points keeps this to seconds; each kill restarts `xai serve` on the same
data dir and checks: SQLite integrity ok, rows == blobs, no temp files, every earlier file intact.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading

import grpc

from tests.support.constants import MIB
from tests.support.emulator import ServeProcess
from tests.support.raw_grpc import data, init

KILLS = 4


def _sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _check_store(serve: ServeProcess) -> dict[str, tuple[str, str]]:
    """Verify the structural invariants of a freshly started server; return {id: (name, sha256)}."""
    data_dir = serve.data_dir
    client = serve.client()
    try:
        listed = {f.id: f.filename for f in client.list_all()}
        with sqlite3.connect(data_dir / "files.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = {row[0] for row in db.execute("SELECT id FROM files")}
            inline = {row[0] for row in db.execute("SELECT id FROM inline_blobs")}
        blobs = {p.name for p in (data_dir / "blobs").iterdir()}
        assert not blobs & inline  # a file's bytes are in one place
        assert rows == set(listed) == blobs | inline  # no row without its bytes, no orphan blob
        assert list((data_dir / "tmp").iterdir()) == []
        return {file_id: (name, _sha(client.content(file_id))) for file_id, name in listed.items()}
    finally:
        client.close()


def _restart_and_check(data_dir) -> dict[str, str]:
    """Restart on `data_dir`, verify the structural invariants, return {id: sha256} of stored files."""
    serve = ServeProcess(data_dir)
    try:
        return {file_id: digest for file_id, (_, digest) in _check_store(serve).items()}
    finally:
        serve.kill()


def test_sigkill_during_uploads_never_leaves_partial_files(tmp_path):
    """The server killed at random points of an upload (mid-stream, right after the last chunk)."""
    rng = random.Random(1234)
    serve = ServeProcess(tmp_path / "d")
    client = serve.client()
    expected = {}
    for index in range(3):
        payload = rng.randbytes(rng.randint(0, 2 * MIB))
        expected[client.upload(f"early{index}.bin", payload).id] = _sha(payload)
    client.close()
    try:
        for kill in range(KILLS):
            payload = rng.randbytes(8 * MIB)
            kill_after = 8 if kill == KILLS - 1 else rng.randint(1, 7)  # of its eight 1 MiB chunks
            landed = _upload_killed_after(serve, f"victim{kill}.bin", payload, kill_after)
            if landed is not None:  # the server answered before dying: it must be there
                expected[landed] = _sha(payload)
            serve = ServeProcess(serve.data_dir)  # restart; start-up cleanup runs, then the checks
            stored = {file_id: digest for file_id, (_, digest) in _check_store(serve).items()}
            for file_id, digest in expected.items():  # every earlier file is intact
                assert stored[file_id] == digest
            new = set(stored) - set(expected)
            assert len(new) <= 1  # the killed upload landed completely or not at all
            for file_id in new:
                assert stored[file_id] == _sha(payload)
            expected = stored
    finally:
        serve.kill()


def _upload_killed_after(serve: ServeProcess, name: str, payload: bytes, kill_after: int) -> str | None:
    """Stream `payload` in 1 MiB chunks and SIGKILL the server once `kill_after` chunks are sent; the
    id of the file if the server confirmed the upload before it died."""
    client = serve.client()
    chunks = [payload[i : i + MIB] for i in range(0, len(payload), MIB)]
    reached = threading.Event()

    def messages():
        yield init(name)
        for number, chunk in enumerate(chunks, start=1):
            yield data(chunk)
            if number == kill_after:
                reached.set()

    future = client.stub.UploadFile.future(messages(), metadata=client.metadata)
    try:
        assert reached.wait(20)
        serve.proc.kill()
        serve.proc.wait(10)
        try:
            return future.result(timeout=20).id
        except grpc.RpcError:
            return None
    finally:
        client.close()
        serve.kill()


def test_sigkill_during_deletes_keeps_rows_and_blobs_in_agreement(tmp_path):
    """Killed mid-delete, a file is either fully present (row + blob, same content) or fully absent."""
    rng = random.Random(99)
    data_dir = tmp_path / "d"
    serve = ServeProcess(data_dir)
    client = serve.client()
    expected = {}
    for index in range(40):
        payload = rng.randbytes(rng.randint(0, 4096))
        expected[client.upload(f"f{index}", payload).id] = _sha(payload)
    deleted: set[str] = set()
    kill_after = rng.randint(1, 30)
    reached = threading.Event()

    def delete_all():
        for file_id in list(expected):
            try:
                client.delete(file_id)
            except grpc.RpcError:
                return
            deleted.add(file_id)
            if len(deleted) == kill_after:
                reached.set()

    worker = threading.Thread(target=delete_all)
    worker.start()
    assert reached.wait(20)
    serve.proc.kill()
    serve.proc.wait(10)
    worker.join(20)
    client.close()
    serve.kill()
    survivors = {file_id: digest for file_id, digest in expected.items() if file_id not in deleted}
    # A delete in flight at the kill may or may not have committed; everything acknowledged is gone.
    stored = _restart_and_check(data_dir)
    assert not set(stored) & deleted
    assert len(set(survivors) - set(stored)) <= 1
    for file_id, digest in stored.items():
        assert expected[file_id] == digest


class _Load:
    """Uploads, deletes and lists from several threads at once, recording what the server confirmed."""

    def __init__(self, client, rng: random.Random, tag: str, live_ids: list[str], attempted: dict) -> None:
        self.client, self.rng, self.tag = client, rng, tag
        self.attempted = attempted  # name -> sha256 of every upload ever started (shared across rounds)
        self.acked: dict[str, str] = {}  # id -> name, uploads the server confirmed
        self.delete_tried: set[str] = set()
        self.deleted: set[str] = set()  # deletes the server confirmed
        self.live = list(live_ids)  # ids that may be deleted
        self.problems: list[str] = []  # invariant breaks seen by a lister while the load ran
        self.done = 0
        self.cond = threading.Condition()

    def _count(self) -> None:
        with self.cond:
            self.done += 1
            self.cond.notify_all()

    def uploader(self, number: int) -> None:
        rng = random.Random(self.rng.random())
        for index in range(10_000):
            name = f"{self.tag}-u{number}-{index}.bin"
            payload = rng.randbytes(rng.choice([0, 1, 4096, rng.randint(1, MIB // 2)]))
            with self.cond:
                self.attempted[name] = _sha(payload)
            try:
                file_id = self.client.upload(name, payload).id
            except grpc.RpcError:
                return  # the server is gone
            with self.cond:
                self.acked[file_id] = name
                self.live.append(file_id)
            self._count()

    def deleter(self) -> None:
        rng = random.Random(self.rng.random())
        while True:
            with self.cond:
                if not self.cond.wait_for(lambda: self.live, timeout=20):
                    return
                file_id = self.live.pop(rng.randrange(len(self.live)))
                self.delete_tried.add(file_id)
            try:
                self.client.delete(file_id)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    return
            with self.cond:
                self.deleted.add(file_id)
            self._count()

    def lister(self) -> None:
        while True:
            with self.cond:
                deleted_before = set(self.deleted)  # deletes confirmed before this listing began
            try:
                listed = self.client.list_all()
            except grpc.RpcError:
                return
            names = [f.filename for f in listed]
            with self.cond:
                unknown = [n for n in names if n not in self.attempted]
            gone = [f.id for f in listed if f.id in deleted_before]
            if unknown or gone or len(set(names)) != len(names):
                self.problems.append(f"listed unknown={unknown} deleted={gone} names={names}")
            self._count()


def test_sigkill_under_concurrent_load_keeps_every_invariant(tmp_path):
    """Concurrent uploads, deletes and lists, SIGKILL at a random moment, restart, check; 4 times.

    After each restart: the structural invariants of the two tests above, every listed file has the
    exact bytes of an upload that was started, every confirmed upload not (maybe) deleted is there,
    and no confirmed delete came back.
    """
    rng = random.Random(2024)
    data_dir = tmp_path / "d"
    attempted: dict[str, str] = {}
    serve = ServeProcess(data_dir)
    stored: dict[str, tuple[str, str]] = {}
    try:
        for kill in range(KILLS):
            client = serve.client()
            load = _Load(client, rng, f"r{kill}", list(stored), attempted)
            workers = [threading.Thread(target=load.uploader, args=(n,)) for n in range(3)]
            workers += [threading.Thread(target=load.deleter), threading.Thread(target=load.lister)]
            for worker in workers:
                worker.start()
            kill_after = rng.randint(5, 25)
            with load.cond:
                assert load.cond.wait_for(lambda load=load, n=kill_after: load.done >= n, timeout=20)
            serve.proc.kill()  # SIGKILL with calls of all three kinds in flight
            serve.proc.wait(10)
            with load.cond:
                load.live.append("")  # wake a deleter waiting for work; its call fails at once
                load.cond.notify_all()
            for worker in workers:
                worker.join(30)
                assert not worker.is_alive()
            client.close()
            serve.kill()
            assert load.problems == []

            serve = ServeProcess(data_dir)  # restart; startup cleanup runs, then the checks
            previous = stored
            stored = _check_store(serve)
            names = [name for name, _ in stored.values()]
            assert len(set(names)) == len(names)  # no upload landed twice
            for name, digest in stored.values():
                assert attempted[name] == digest  # exactly the bytes uploaded under that name
            assert not set(stored) & load.deleted  # a confirmed delete never comes back
            survivors = (set(previous) | set(load.acked)) - load.delete_tried
            assert survivors <= set(stored)  # every confirmed upload that nobody deleted is there
    finally:
        serve.kill()
