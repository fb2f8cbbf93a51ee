"""A Hypothesis state machine drives the real server (with restarts) against a dict model."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import grpc
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from tests.support.emulator import Emulators, FakeClock
from tests.support.raw_grpc import Files, status_of
from xai_files_cli._pb import files_pb2

KEY = "model-test-key"
SORTS = {
    files_pb2.FILES_SORT_BY_CREATED_AT: lambda f: (f["created"], f["id"]),
    files_pb2.FILES_SORT_BY_FILENAME: lambda f: (f["name"].encode("utf-8"), f["id"]),
    files_pb2.FILES_SORT_BY_SIZE: lambda f: (len(f["data"]), f["id"]),
}
names = st.text(alphabet=st.sampled_from("abcAB_é.-1"), min_size=1, max_size=6).filter(
    lambda n: n not in (".", "..")
)


class FilesModel(RuleBasedStateMachine):
    """Model: {file id: {name, data, created}}; the server must agree after every step."""

    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="xai-model-"))
        self.clock = FakeClock()
        self.model: dict[str, dict] = {}
        self.deleted: set[str] = set()
        self.emulators = Emulators(self.dir)
        self._start()

    def _start(self) -> None:
        self.server = self.emulators.start(
            point_cli=False, data_dir=self.dir / "data", api_key=KEY, clock=self.clock, faults=None
        )
        self.client = Files(self.server.target, KEY)

    def teardown(self) -> None:
        self.client.close()
        self.emulators.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(target=ids, name=names, payload=st.binary(max_size=64), tick=st.integers(0, 2))
    def upload(self, name: str, payload: bytes, tick: int) -> str:
        self.clock.advance(tick)  # 0 makes equal created_at values: ties are broken by id
        created = self.client.upload(name, payload)
        assert (created.filename, created.size) == (name, len(payload))
        assert created.id not in self.model and created.id not in self.deleted
        self.model[created.id] = {
            "id": created.id,
            "name": name,
            "data": payload,
            "created": created.created_at.ToNanoseconds(),
        }
        return created.id

    @rule(file_id=consumes(ids))
    def delete(self, file_id: str) -> None:
        response = self.client.delete(file_id)
        assert response.id == file_id and response.deleted
        del self.model[file_id]
        self.deleted.add(file_id)

    @rule(file_id=ids)
    def get_and_download(self, file_id: str) -> None:
        expected = self.model[file_id]
        got = self.client.get(file_id)
        assert (got.filename, got.size) == (expected["name"], len(expected["data"]))
        assert self.client.content(file_id) == expected["data"]

    @rule()
    def deleted_ids_are_not_found(self) -> None:
        for file_id in list(self.deleted)[:3]:
            assert status_of(lambda file_id=file_id: self.client.get(file_id)) == grpc.StatusCode.NOT_FOUND
            assert status_of(lambda file_id=file_id: self.client.delete(file_id)) == grpc.StatusCode.NOT_FOUND

    @rule(sort=st.sampled_from(sorted(SORTS)), descending=st.booleans(), limit=st.integers(1, 4))
    def paginate(self, sort: int, descending: bool, limit: int) -> None:
        order = files_pb2.DESCENDING if descending else files_pb2.ASCENDING
        listed = [f.id for f in self.client.list_all(sort_by=sort, order=order, limit=limit)]
        expected = [f["id"] for f in sorted(self.model.values(), key=SORTS[sort], reverse=descending)]
        assert listed == expected  # each file exactly once, in order

    @rule()
    def restart(self) -> None:
        self.client.close()
        self.server.stop(grace=1)
        self._start()

    @invariant()
    def listing_matches_model(self) -> None:
        listed = {f.id: (f.filename, f.size) for f in self.client.list_all()}
        assert listed == {i: (f["name"], len(f["data"])) for i, f in self.model.items()}


FilesModel.TestCase.settings = settings(max_examples=12, stateful_step_count=20, deadline=None)
TestFilesModel = FilesModel.TestCase
