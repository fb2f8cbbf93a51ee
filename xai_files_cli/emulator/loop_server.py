"""A grpc.aio server on an event loop of its own (a daemon thread), driven with the blocking calls of a
sync `grpc.Server`: register, add a port, start, stop, wait.

Async handlers (UploadFile, RetrieveFileContent, ListFiles) run on that loop; sync ones (the other
methods) are bridged to a bounded thread pool (sync_bridge.py), so the code that registers services is
the same for both kinds. The loop thread is separate from any loop of the caller: `xai --local` runs
this server in the process whose batch engine drives a grpc.aio client on the main thread's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent import futures
from typing import Any, TypeVar

import grpc

from xai_files_cli.emulator.sync_bridge import BridgedGenericHandler

_Result = TypeVar("_Result")
_SETTLE_SECONDS = 5.0  # how long a stop waits for handlers still cleaning up after their call ended


class LoopServer(grpc.Server):
    """A grpc.aio server running on its own loop thread; `pool` runs the sync handlers."""

    def __init__(
        self,
        pool: futures.ThreadPoolExecutor,
        *,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        options: Sequence[tuple[str, Any]] = (),
        maximum_concurrent_rpcs: int | None = None,
    ) -> None:
        self._pool = pool
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="xai-emulator-loop", daemon=True)
        self._thread.start()
        self._stopping: futures.Future[None] | None = None

        async def create() -> grpc.aio.Server:
            return grpc.aio.server(
                interceptors=list(interceptors),
                options=list(options),
                maximum_concurrent_rpcs=maximum_concurrent_rpcs,
            )

        self._server = self._on_loop(create())

    @property
    def pool(self) -> futures.ThreadPoolExecutor:
        return self._pool

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _on_loop(self, work: Awaitable[_Result], timeout: float | None = None) -> _Result:
        return asyncio.run_coroutine_threadsafe(_awaited(work), self._loop).result(timeout)

    def _call_on_loop(self, function: Callable[..., _Result], *args: Any) -> _Result:
        async def call() -> _Result:
            return function(*args)

        return self._on_loop(call())

    # -- the sync grpc.Server calls that registration code makes -----------------------------------

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:  # type: ignore[override]
        bridged_handlers = tuple(BridgedGenericHandler(handler, self._pool) for handler in handlers)
        self._call_on_loop(self._server.add_generic_rpc_handlers, bridged_handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        """Not passed on: the generic handlers registered with them (generated code registers both)
        serve the same methods. grpc.aio keeps one pending request per registered method and waits on
        all of them again after every call it accepts, which costs more than looking a method up."""

    def add_insecure_port(self, address: str) -> int:
        return self._call_on_loop(self._server.add_insecure_port, address)

    def add_secure_port(self, address: str, credentials: grpc.ServerCredentials) -> int:
        return self._call_on_loop(self._server.add_secure_port, address, credentials)

    def start(self) -> None:
        self._on_loop(self._server.start())

    def begin_stop(self, grace: float | None) -> futures.Future[None]:
        """Close the port at once (new calls are refused) and give calls in flight `grace` seconds
        (None: cancel them now); the returned future is done when the server has stopped."""
        if self._stopping is not None:
            return self._stopping

        async def begin() -> futures.Future[None]:
            stopping = asyncio.ensure_future(self._server.stop(grace))
            await asyncio.sleep(0)  # the stop runs up to its first wait: the listeners are closed
            return asyncio.run_coroutine_threadsafe(_awaited(stopping), self._loop)

        self._stopping = self._on_loop(begin())
        return self._stopping

    def stop(self, grace: float | None) -> threading.Event:
        """Stop serving (see `begin_stop`), wait for the stop, then end the loop thread; the returned
        event is set already (grpc.Server's `stop` returns one)."""
        self.begin_stop(grace).result()
        self.close_loop()
        stopped = threading.Event()
        stopped.set()
        return stopped

    def close_loop(self) -> None:
        """Let handlers still unwinding after their call ended finish (a few seconds at most), then
        stop the loop and its thread. Idempotent."""
        if self._loop.is_closed():
            return
        try:
            self._on_loop(_settle(_SETTLE_SECONDS))
        except RuntimeError:  # the loop stopped meanwhile
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_SETTLE_SECONDS)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped; True when `timeout` passed first (as grpc.Server)."""
        if self._stopping is not None:
            try:
                self._stopping.result(timeout)
            except futures.TimeoutError:
                return True
            return False
        if self._loop.is_closed():
            return False
        return self._on_loop(self._server.wait_for_termination(timeout))


async def _awaited(work: Awaitable[_Result]) -> _Result:
    return await work


async def _settle(timeout: float) -> None:
    """Wait up to `timeout` seconds for the loop's other tasks (handlers cleaning up) to end."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=timeout)
