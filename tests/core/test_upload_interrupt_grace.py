"""When the server does not answer within the grace after an interrupt, the upload is reported as
possibly stored (with `xai files ls` as the next step), never silently dropped; real gRPC.

The signal is sent to this process's main thread by a helper thread once the server holds the
reply (the file is stored by then), so the window is deterministic; the grace is shortened.
"""

from __future__ import annotations

import io
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import default_sigint_here
from xai_files_cli.core.records import UploadItem
from xai_files_cli.emulator.faults import FaultPlan
from xai_files_cli.errors import ExitCode, Interrupted

GRACE = 0.3


@pytest.fixture
def signal_when_held() -> Iterator:
    """`arm(plan, count, signum)`: send `signum` to the main thread once `count` replies are held."""
    threads: list[threading.Thread] = []

    def arm(plan: FaultPlan, count: int, signum: int) -> None:
        def watch() -> None:
            if plan.wait_for(lambda p: p.held("UploadFile") >= count, timeout=20):
                signal.pthread_kill(threading.main_thread().ident, signum)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        threads.append(thread)

    with default_sigint_here():  # even when pytest was started with SIGINT ignored
        yield arm
    for thread in threads:
        thread.join(timeout=20)


def test_an_unanswered_upload_is_reported_as_possibly_stored(faulty_client, signal_when_held) -> None:
    server, client = faulty_client("UploadFile:hold_reply:amount=30")
    client.interrupt_grace = GRACE
    signal_when_held(server.faults, 1, signal.SIGINT)
    with pytest.raises(Interrupted) as caught:
        client.upload(io.BytesIO(b"payload"), name="a.txt", size=7)
    error = caught.value
    assert error.message == "interrupted; no answer from the server about a.txt: it may have been stored"
    assert error.hint == "check `xai files ls` before uploading again"
    assert error.exit_code == ExitCode.INTERRUPTED
    assert server.faults.wait_for(lambda plan: plan.outcomes("UploadFile") == ["CANCELLED"])
    assert len(server.storage.all_ids()) == 1  # it was stored: the report was right to say so


def test_a_batch_names_each_upload_left_unanswered(faulty_client, signal_when_held, tmp_path: Path) -> None:
    server, client = faulty_client("UploadFile:hold_reply:amount=30,times=0")
    client.interrupt_grace = GRACE
    paths = []
    for name in ("a.txt", "b.txt"):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(b"data")
    signal_when_held(server.faults, 2, signal.SIGTERM)
    with pytest.raises(Interrupted) as caught:
        client.batch_upload([UploadItem(p) for p in paths], concurrency=2)
    error = caught.value
    assert error.message in (
        f"terminated; no answer from the server about {first}, {second}: they may have been stored"
        for first, second in (("a.txt", "b.txt"), ("b.txt", "a.txt"))
    )
    assert error.hint == "check `xai files ls` before uploading again"
    assert error.exit_code == ExitCode.TERMINATED
    assert signal.getsignal(signal.SIGTERM) is not None  # the previous handler is back
    assert server.faults.wait_for(lambda plan: plan.outcomes("UploadFile") == ["CANCELLED"] * 2)
