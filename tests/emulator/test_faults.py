"""The test-only fault plan: every action, spec parsing, call counts and outcomes."""

from __future__ import annotations

import time

import grpc
import pytest

from tests.support.constants import MIB
from tests.support.emulator import disk_state
from tests.support.raw_grpc import chunked, error_of, init, status_of
from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.faults import Fault, FaultPlan, FaultSpecError
from xai_files_cli.emulator.server import ServerConfig, faults_from_env, start_server
from xai_files_cli.errors import UsageError


def test_fail_first_n_calls_then_succeed(make_server):
    plan = FaultPlan([Fault("ListFiles", "fail", times=2)])
    _, client = make_server(faults=plan)
    assert status_of(client.list) == grpc.StatusCode.UNAVAILABLE
    assert status_of(client.list) == grpc.StatusCode.UNAVAILABLE
    assert list(client.list().data) == []
    assert plan.calls("ListFiles") == 3
    assert plan.outcomes("ListFiles") == ["UNAVAILABLE", "UNAVAILABLE", "OK"]
    assert plan.calls("RetrieveFile") == 0


@pytest.mark.parametrize("code", ["NOT_FOUND", "PERMISSION_DENIED", "INTERNAL", "FAILED_PRECONDITION"])
def test_fail_with_any_code_on_every_call(make_server, code):
    plan = FaultPlan.parse([f"*:fail:code={code},times=0,message=boom \x1b[31m"])
    _, client = make_server(faults=plan)
    for _ in range(3):
        error = error_of(client.list)
        assert error.code() == grpc.StatusCode[code]
        assert error.details() == "boom \x1b[31m"
    assert plan.calls("ListFiles") == 3


def test_abort_upload_after_k_chunks_stores_nothing(make_server):
    plan = FaultPlan.parse(["UploadFile:abort_upload:after=2"])
    running, client = make_server(faults=plan)
    payload = b"x" * (10 * MIB)
    error = error_of(lambda: client.upload_messages([init("a.bin"), *chunked(payload, MIB)]))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert client.list().data == []
    assert disk_state(running.data_dir) == (set(), set())
    assert client.upload("a.bin", payload).size == len(payload)  # times=1: the retry succeeds
    assert plan.outcomes("UploadFile") == ["UNAVAILABLE", "OK"]


def test_commit_then_drop_stores_the_file_but_reports_failure(make_server):
    plan = FaultPlan.parse(["UploadFile:commit_drop"])
    _, client = make_server(faults=plan)
    assert status_of(lambda: client.upload("a.txt", b"abc")) == grpc.StatusCode.UNAVAILABLE
    assert [(f.filename, f.size) for f in client.list().data] == [("a.txt", 3)]


def test_fail_stream_after_k_chunks(make_server):
    plan = FaultPlan.parse(["RetrieveFileContent:fail_stream:after=1"])
    _, client = make_server(faults=plan)
    created = client.upload("big.bin", b"y" * (7 * MIB))
    stream = client.stub.RetrieveFileContent(
        files_pb2.RetrieveFileContentRequest(file_id=created.id), metadata=client.metadata
    )
    received = []
    with pytest.raises(grpc.RpcError) as failure:
        for chunk in stream:
            received.append(chunk.data)
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert [len(c) for c in received] == [3 * MIB]
    assert len(client.content(created.id)) == 7 * MIB  # only the first call was affected


@pytest.mark.parametrize(("spec", "expected"), [("truncate:amount=10", 10), ("pad:amount=5", 7 * MIB + 5)])
def test_truncate_and_pad_end_the_stream_ok(make_server, spec, expected):
    plan = FaultPlan.parse([f"RetrieveFileContent:{spec}"])
    _, client = make_server(faults=plan)
    created = client.upload("big.bin", b"z" * (7 * MIB))
    assert len(client.content(created.id)) == expected
    assert plan.outcomes("RetrieveFileContent") == ["OK"]


def test_delay_runs_before_the_handler(make_server):
    plan = FaultPlan.parse(["ListFiles:delay:amount=0.5"])
    _, client = make_server(faults=plan)
    error = error_of(
        lambda: client.stub.ListFiles(files_pb2.ListFilesRequest(), metadata=client.metadata, timeout=0.1)
    )
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_stall_holds_a_stream_and_both_waits_end_with_the_call(make_server):
    plan = FaultPlan.parse(["RetrieveFileContent:stall:after=1,amount=60", "ListFiles:delay:amount=60"])
    running, client = make_server(faults=plan)
    created = client.upload("big.bin", b"s" * (7 * MIB))
    request = files_pb2.RetrieveFileContentRequest(file_id=created.id)
    stream = client.stub.RetrieveFileContent(request, metadata=client.metadata, timeout=60)
    assert len(next(stream).data) == 3 * MIB  # the first chunk comes, then the stream is held
    stream.cancel()
    error = error_of(
        lambda: client.stub.ListFiles(files_pb2.ListFilesRequest(), metadata=client.metadata, timeout=0.2)
    )
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert plan.wait_for(
        lambda p: p.outcomes("RetrieveFileContent") == ["CANCELLED"] and len(p.outcomes("ListFiles")) == 1
    )
    started = time.monotonic()
    running.stop(grace=0)  # waits (up to 5 s) for handlers: neither sits out its 60 s
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "ListFiles",
        "ListFiles:explode",
        "ListFiles:fail:code=NOPE",
        "ListFiles:fail:times=x",
        "x:fail:bogus=1",
        "ListFiles:fail:times",
    ],
)
def test_bad_specs_are_rejected(spec):
    with pytest.raises(FaultSpecError):
        FaultPlan.parse([spec]) if spec else Fault.parse(spec)


def test_env_var_plan(monkeypatch):
    monkeypatch.setenv("XAI_EMULATOR_FAULTS", "ListFiles:fail:times=2; UploadFile:commit_drop")
    plan = faults_from_env()
    assert [(f.method, f.action, f.times) for f in plan.faults] == [
        ("ListFiles", "fail", 2),
        ("UploadFile", "commit_drop", 1),
    ]
    monkeypatch.setenv("XAI_EMULATOR_FAULTS", "")
    assert faults_from_env() is None


def test_faults_are_refused_on_a_non_loopback_bind(tmp_path):
    config = ServerConfig(data_dir=tmp_path, api_key="k", faults=FaultPlan(), allow_non_loopback=True)
    with pytest.raises(UsageError, match="loopback"):
        start_server(config, host="0.0.0.0")
