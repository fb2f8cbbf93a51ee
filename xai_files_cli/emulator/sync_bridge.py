"""Run the emulator's blocking (sync) handlers on a grpc.aio server: each becomes an async behaviour that
runs it on a bounded thread pool, with a `SyncContext` that behaves like grpc's sync ServicerContext.

grpc.aio can run sync handlers itself, but its context for them lacks `is_active()` (the chat and
text download handlers stop producing when the client went away), never runs `add_callback`
callbacks for a cancelled call, and cannot stop a thread from running on after `abort`. Here `abort`
raises in the handler's thread as the sync server's does, and the async side ends the call with that
status.
Async behaviours (UploadFile, RetrieveFileContent, ListFiles) pass through unchanged.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any, NoReturn

import grpc

_END = object()  # what `next` answers for an ended response stream


class SyncAbort(Exception):
    """A refusal made where the call's context is not at hand: raised by `SyncContext.abort` in the
    handler's thread, or by blocking work an async handler runs (`files_service.list_page`); the
    call ends with its status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class SyncContext:
    """The ServicerContext a sync handler sees on its pool thread (the calls the emulator makes)."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context
        self._ended = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def is_active(self) -> bool:
        """False once the call has ended: answered, cancelled, timed out or aborted."""
        return not self._ended.is_set()

    def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        raise SyncAbort(code, details)

    def add_callback(self, callback: Callable[[], None]) -> bool:
        """Run `callback` when the call ends; False (not registered) if it has ended already."""
        with self._lock:
            if self._ended.is_set():
                return False
            self._callbacks.append(callback)
            return True

    def invocation_metadata(self) -> Any:
        return self._context.invocation_metadata()

    def set_trailing_metadata(self, metadata: Any) -> None:
        self._context.set_trailing_metadata(metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._context.set_code(code)

    def set_details(self, details: str) -> None:
        self._context.set_details(details)

    def code(self) -> Any:
        return self._context.code()

    def details(self) -> Any:
        return self._context.details()

    def time_remaining(self) -> float | None:
        return self._context.time_remaining()

    def peer(self) -> str:
        return self._context.peer()

    def end(self) -> None:
        """Mark the call ended and run the callbacks registered so far (once)."""
        with self._lock:
            if self._ended.is_set():
                return
            self._ended.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def is_async_behaviour(behaviour: Callable[..., Any]) -> bool:
    """Whether grpc.aio runs `behaviour` on its loop (a coroutine or async generator function)."""
    import inspect

    return inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)


def _unary_response(behaviour: Callable[..., Any], pool: futures.Executor) -> Callable[..., Any]:
    async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
        sync = SyncContext(context)
        try:
            return await asyncio.wrap_future(pool.submit(behaviour, request, sync))
        except SyncAbort as abort:
            await context.abort(abort.code, abort.details)
        finally:
            sync.end()  # a cancelled call's thread sees is_active() turn False

    return run


def _first_responses(behaviour: Callable[..., Any], request: Any, context: SyncContext) -> Iterator[Any]:
    return iter(behaviour(request, context))


class _ResponseStream:
    """A sync response stream being sent: its generator and the `next` running on the pool, if any."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context
        self.responses: Iterator[Any] | None = None
        self.pending: futures.Future[Any] | None = None

    def end(self) -> None:
        """The call ended: `is_active()` turns False, and the generator is closed once no thread runs
        it (one running elsewhere cannot be), so its `finally` blocks release what they hold. Runs at
        the call's end even when grpc leaves the async generator unfinished (a cancelled download)."""
        self.context.end()
        close = getattr(self.responses, "close", None)
        if close is None:
            return
        pending = self.pending
        if pending is None or pending.done():
            close()
        else:
            pending.add_done_callback(lambda _: close())


def streamed_on_pool(behaviour: Callable[..., Any], pool: futures.Executor) -> Callable[..., Any]:
    """The sync response stream as an async generator: each next response is produced on the pool
    while the previous one is being sent, so producing a response overlaps sending the one before.
    An async handler uses it for a part that stays blocking (RetrieveFileContent's text form)."""

    async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        stream = _ResponseStream(SyncContext(context))
        context.add_done_callback(lambda _: stream.end())  # type: ignore[arg-type]
        try:
            stream.responses = responses = await asyncio.wrap_future(
                pool.submit(_first_responses, behaviour, request, stream.context)
            )
            stream.pending = pool.submit(next, responses, _END)
            while True:
                response = await asyncio.wrap_future(stream.pending)
                if response is _END:
                    return
                stream.pending = pool.submit(next, responses, _END)
                yield response
        except SyncAbort as abort:
            await context.abort(abort.code, abort.details)
        finally:
            stream.end()

    return run


def bridged(handler: grpc.RpcMethodHandler, pool: futures.Executor) -> grpc.RpcMethodHandler:
    """`handler` with an async behaviour: unchanged if it has one, else its sync one run on `pool`.

    Raises TypeError for a sync handler of a request stream (the emulator has none: UploadFile is async).
    """
    from xai_files_cli.emulator.decoding import handler_behaviour

    behaviour = handler_behaviour(handler)
    if is_async_behaviour(behaviour):
        return handler
    options = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming:
        raise TypeError("a request-streaming handler must be async on this server")
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(streamed_on_pool(behaviour, pool), **options)
    return grpc.unary_unary_rpc_method_handler(_unary_response(behaviour, pool), **options)


class BridgedGenericHandler(grpc.GenericRpcHandler):
    """A generic handler whose method handlers are `bridged` (each wrapped once, then reused)."""

    def __init__(self, inner: grpc.GenericRpcHandler, pool: futures.Executor) -> None:
        self._inner = inner
        self._pool = pool
        self._known: dict[str, grpc.RpcMethodHandler] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        known = self._known.get(method)
        if known is None:
            found = self._inner.service(handler_call_details)
            if found is None:  # unknown names are not kept: a client can send any number of them
                return None
            known = self._known[method] = bridged(found, self._pool)
        return known
