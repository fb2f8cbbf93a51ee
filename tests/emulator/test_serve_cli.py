"""`xai serve` as a process: flags, the listening line, key rules, a port in use, signals."""

from __future__ import annotations

import signal
import subprocess

import grpc
import pytest

from tests.support.constants import MIB
from tests.support.emulator import ServeProcess, run_serve
from tests.support.processes import python_command, xai_subprocess_env
from tests.support.raw_grpc import status_of
from xai_files_cli._pb import files_pb2


def test_serve_prints_the_real_port_serves_and_stops_cleanly_on_sigterm(tmp_path):
    serve = ServeProcess(tmp_path / "d")
    try:
        assert (
            serve.first_line == f"xai serve: listening on 127.0.0.1:{serve.port} (data: {tmp_path / 'd'})\n"
        )
        assert serve.port > 0
        client = serve.client()
        created = client.upload("a.txt", b"hello")
        assert client.content(created.id) == b"hello"
        client.close()
    finally:
        serve.proc.send_signal(signal.SIGTERM)
    code, err = serve.finish()
    assert code == 0
    assert err == "xai serve: stopped\n"
    assert serve.key not in serve.first_line + err


def test_serve_without_a_key_exits_2(tmp_path):
    result = run_serve("--port", "0", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        "xai: serve: no API key for clients to present; pass --api-key KEY or set XAI_API_KEY "
        "(or --no-auth to accept any caller, loopback only)\n"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--host", "0.0.0.0", "--no-auth"], "--no-auth is refused for a non-loopback address"),
        (["--host", "0.0.0.0", "--api-key", "k"], "refusing to bind non-loopback address"),
        (["--host", "0.0.0.0", "--allow-remote", "--api-key", "k", "--fault", "ListFiles:fail"], "loopback"),
        (["--api-key", "k", "--fault", "ListFiles:explode"], "unknown fault action"),
    ],
)
def test_serve_refuses_unsafe_or_bad_setups(tmp_path, args, needle):
    result = run_serve("--port", "0", "--data-dir", str(tmp_path), *args)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr


def test_serve_with_an_unusable_data_dir_exits_with_one_line(tmp_path):
    (tmp_path / "plain-file").write_text("x")
    result = run_serve("--port", "0", "--data-dir", str(tmp_path / "plain-file"), "--api-key", "k")
    assert result.returncode == 2
    assert result.stderr == f"xai: cannot use the data dir {tmp_path / 'plain-file'}: File exists\n"


def test_api_key_flag_and_no_auth(tmp_path):
    flagged = ServeProcess(tmp_path / "a", "--api-key", "from-the-flag-123", key=None)
    anonymous = ServeProcess(tmp_path / "b", "--no-auth", key=None)
    try:
        assert "no auth" in anonymous.first_line
        assert status_of(flagged.client().list) == grpc.StatusCode.UNAUTHENTICATED
        flagged.key = "from-the-flag-123"
        assert list(flagged.client().list().data) == []
        assert list(anonymous.client().list().data) == []
    finally:
        flagged.kill()
        anonymous.kill()


def test_second_server_on_a_taken_port_exits_nonzero(tmp_path):
    first = ServeProcess(tmp_path / "a")
    try:
        result = run_serve("--port", str(first.port), "--data-dir", str(tmp_path / "b"), key="k")
        assert result.returncode == 1
        assert "address in use" in result.stderr
        assert list(first.client().list().data) == []  # the first one is unaffected
    finally:
        first.kill()


def test_fault_flag_and_env_reach_the_server(tmp_path, monkeypatch):
    flagged = ServeProcess(tmp_path / "a", "--fault", "ListFiles:fail:code=INTERNAL")
    from_env = None
    try:
        assert status_of(flagged.client().list) == grpc.StatusCode.INTERNAL
        assert list(flagged.client().list().data) == []
        monkeypatch.setenv("XAI_EMULATOR_FAULTS", "ListFiles:fail:code=NOT_FOUND")
        from_env = ServeProcess(tmp_path / "b")
        assert status_of(from_env.client().list) == grpc.StatusCode.NOT_FOUND
    finally:
        flagged.kill()
        if from_env is not None:
            from_env.kill()


def test_fault_flag_is_hidden_from_help():
    result = run_serve("--help")
    assert result.returncode == 0
    assert "--fault" not in result.stdout
    assert "--no-auth" in result.stdout


def test_python_dash_m_emulator_runs_serve(tmp_path):
    environment = xai_subprocess_env({"XAI_API_KEY": "k"})
    proc = subprocess.Popen(
        python_command("-m", "xai_files_cli.emulator", "--port", "0", "--data-dir", str(tmp_path)),
        stderr=subprocess.PIPE,
        env=environment,
    )
    try:
        assert "listening on 127.0.0.1:" in proc.stderr.readline().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert proc.returncode == 0


def test_sigterm_lets_an_in_flight_download_finish(tmp_path):
    """On SIGTERM new calls are refused, the in-flight download completes, exit 0 within the grace period."""
    serve = ServeProcess(tmp_path / "d", "--grace", "10")
    client = serve.client()
    try:
        created = client.upload("big.bin", b"w" * (12 * MIB))
        stream = client.stub.RetrieveFileContent(
            files_pb2.RetrieveFileContentRequest(file_id=created.id), metadata=client.metadata
        )
        first = next(stream)
        serve.proc.send_signal(signal.SIGTERM)
        rest = b"".join(chunk.data for chunk in stream)
        assert len(first.data) + len(rest) == 12 * MIB
        code, err = serve.finish()
        assert code == 0 and err == "xai serve: stopped\n"
    finally:
        serve.kill()
    assert list((tmp_path / "d" / "tmp").iterdir()) == []


def test_second_signal_exits_at_once(tmp_path):
    """With a stalled download keeping the grace period busy, a second signal ends the process."""
    serve = ServeProcess(tmp_path / "d", "--grace", "60", verbose=True)
    client = serve.client()
    try:
        created = client.upload("big.bin", b"w" * (30 * MIB))
        stream = client.stub.RetrieveFileContent(
            files_pb2.RetrieveFileContentRequest(file_id=created.id), metadata=client.metadata
        )
        next(stream)  # then stop reading: flow control stalls the server's handler
        serve.proc.send_signal(signal.SIGTERM)
        serve.expect_line("stopping: new calls are refused")  # the first signal was handled
        assert serve.proc.poll() is None  # still in its grace period
        serve.proc.send_signal(signal.SIGINT)
        code, _ = serve.finish(timeout=20)
        assert code == 128 + signal.SIGINT
        stream.cancel()
    finally:
        serve.kill()
