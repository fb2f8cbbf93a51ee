"""A listing's calls, over real gRPC: its cursors run without a thread each, and closing it early cancels
the calls still in flight (the server sees them end CANCELLED instead of working on for nobody)."""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.constants import TEST_KEY
from tests.support.emulator import FakeClock, seed, seed_many
from xai_files_cli._pb import files_pb2
from xai_files_cli.core import listing as listing_module
from xai_files_cli.core.channel import connect
from xai_files_cli.core.files import FilesClient
from xai_files_cli.emulator.server import RunningServer


@pytest.fixture
def client_of() -> Iterator[Callable[[RunningServer], FilesClient]]:
    """Make a FilesClient of a server (its channel is closed at the end of the test)."""
    channels = []

    def make(server: RunningServer) -> FilesClient:
        channels.append(connect(server.target, TEST_KEY))
        return FilesClient(channels[-1])

    yield make
    for channel in channels:
        channel.close()


def _client_threads(known: set[int | None]) -> set[tuple[int | None, str]]:
    """Threads started since `known` was taken, other than the in-process server's pool."""
    return {
        (thread.ident, thread.name)
        for thread in threading.enumerate()
        if thread.ident not in known and not thread.name.startswith("xai-emulator")
    }


def test_a_listing_runs_its_cursors_without_a_thread_each(emulators, client_of) -> None:
    # 60 files at 4 distinct times, 3 per page: 20 pages, read by 4 cursors over created_at windows.
    clock = FakeClock()
    server = emulators.start(point_cli=False, faults=None, clock=clock)
    start = clock.now
    for offset in range(60):
        clock.now = start + offset % 4
        seed(server, f"f{offset:02d}")
    client = client_of(server)
    known = {thread.ident for thread in threading.enumerate()}
    most: set[tuple[int | None, str]] = set()
    with client.iter_files(page_size=3, concurrency=4) as listing:
        listed = []
        for info in listing:
            listed.append(info.filename)
            alive = _client_threads(known)
            most = alive if len(alive) > len(most) else most
        windows = listing.stats()["windows"]
    assert sorted(listed) == [f"f{offset:02d}" for offset in range(60)]
    assert windows > 1  # the cursors did read windows side by side
    assert len(most) <= 1, most  # at most gRPC's own thread for the calls in flight of a channel


def test_closing_a_listing_early_cancels_its_calls_in_flight(emulators, client_of) -> None:
    server = emulators.start("ListFiles:delay:amount=1,times=0", point_cli=False)
    seed_many(server, [f"f{index:02d}" for index in range(40)])
    client = client_of(server)
    listing = client.iter_files(page_size=3, concurrency=8)
    assert next(listing).filename == "f00"  # the first page is in; probes and pages are in flight
    in_flight = listing.stats()["in_flight"]
    assert in_flight > 0
    assert server.faults is not None
    assert server.faults.wait_for(lambda plan: plan.calls("ListFiles") >= 1 + in_flight)  # all sent
    listing.close()
    cancelled = server.faults.wait_for(lambda plan: "CANCELLED" in plan.outcomes("ListFiles"), timeout=10)
    assert cancelled, server.faults.outcomes("ListFiles")


def test_a_retry_on_a_channel_closed_meanwhile_fails_the_listing_instead_of_hanging(emulators) -> None:
    busy = "code=RESOURCE_EXHAUSTED,pushback=300,message=rate limit exceeded"
    server = emulators.start(f"ListFiles:fail:times=1,{busy}", point_cli=False)
    seed(server, "a.txt")
    channel = connect(server.target, TEST_KEY)
    listing = FilesClient(channel).iter_files()
    outcome: list[BaseException | str] = []

    def consume() -> None:
        try:
            outcome.append(next(listing).filename)
        except BaseException as error:
            outcome.append(error)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    assert server.faults is not None
    assert server.faults.wait_for(lambda plan: plan.outcomes("ListFiles") == ["RESOURCE_EXHAUSTED"])
    channel.close()  # while the listing waits out the server's 300 ms pushback
    consumer.join(timeout=10)
    assert not consumer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], BaseException), outcome
    listing.close()


class _InterruptedWhileProbing(FilesClient):
    """Delivers a real SIGINT to this (main) thread as the listing starts its first probe call."""

    fired = False

    def list_call(self, request: Any, timeout: float | None = None) -> Any:
        if not self.fired and request.filter == listing_module._PROBE_FILTER:
            self.fired = True
            signal.raise_signal(signal.SIGINT)
        return super().list_call(request, timeout)


def test_ctrl_c_while_a_call_is_being_started_stops_the_listing(emulators) -> None:
    """The interrupt is raised in the consuming thread, not posted as the probe's outcome (a failed
    probe is ignored, so the listing went on to its end)."""
    server = emulators.start(point_cli=False, faults=None)
    seed_many(server, [f"f{index:02d}" for index in range(60)])
    channel = connect(server.target, TEST_KEY)
    client = _InterruptedWhileProbing(channel)
    try:
        with pytest.raises(KeyboardInterrupt), client.iter_files(page_size=5, concurrency=4) as listing:
            list(listing)
        assert client.fired
    finally:
        channel.close()


def test_stopping_a_listings_calls_cancels_a_retry_waiting_out_a_pushback(emulators, client_of) -> None:
    """Closing a listing stops its calls (`_Calls.stop`): a retry waiting out the server's 20 s
    pushback is cancelled then, not left to wake up after the listing is gone."""
    busy = "code=RESOURCE_EXHAUSTED,pushback=20000,message=rate limit exceeded"
    server = emulators.start(f"ListFiles:fail:times=0,{busy}", point_cli=False)
    assert server.faults is not None
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    known = set(_timers())
    calls = listing_module._Calls(client_of(server), events)
    calls.submit("page", None, files_pb2.ListFilesRequest(limit=3))
    assert server.faults.wait_for(lambda plan: plan.outcomes("ListFiles") == ["RESOURCE_EXHAUSTED"])
    assert _eventually(lambda: set(_timers()) - known), "no retry was scheduled"
    calls.stop()
    assert _eventually(lambda: not set(_timers()) - known), "the retry still waits after the stop"
    assert events.empty()


def _eventually(condition: Callable[[], object], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _timers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if isinstance(thread, threading.Timer)]
