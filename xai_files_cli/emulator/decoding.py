"""Requests that cannot be decoded get INVALID_ARGUMENT, as bad input should, instead of INTERNAL;
requests above the API's message limit get RESOURCE_EXHAUSTED, deterministically.

grpc-python answers INTERNAL or UNKNOWN when a request message does not parse, e.g. a string field
holding bytes that are not UTF-8 (a non-UTF-8 filename sent by a raw client). This interceptor wraps
every handler's request deserializer so that a message that does not parse becomes a marker: the
request of a unary call is checked before the handler runs; for a request stream the handler's
receive raises the marker, which ends the handler (an upload is then discarded). Either way the call
ends with INVALID_ARGUMENT naming the message type.
Register it innermost (after the auth interceptor), so an unauthenticated caller still gets
UNAUTHENTICATED whatever it sends.

With `max_message_bytes`, a request message whose serialized size is above it becomes a marker too
(it is not parsed), and the call ends with RESOURCE_EXHAUSTED in grpc's own words. The server's
transport accepts somewhat larger messages, so that the limit is enforced here, inside the handler,
rather than by the transport: a receive the transport refuses ends a request stream the same way a
clean half-close does, so an upload handler could not tell a refused chunk from the end of its file.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any, NoReturn

import grpc

_CACHE_LIMIT = 256  # wrapped handlers kept (one per method of the registered services)


class _Undecodable(Exception):
    """Stands in for a request message that did not parse (or was too large to be parsed): returned
    for the request of a unary call, raised by the receive of a message of a request stream."""

    def __init__(self, message: str, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _tolerant(
    deserializer: Callable[[bytes], Any] | None, max_message_bytes: int | None, streamed: bool
) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    owner = getattr(deserializer, "__self__", None)  # e.g. UploadFileChunk.FromString
    what = getattr(owner, "DESCRIPTOR", None)
    name = getattr(what, "full_name", "request")

    def undecodable(data: bytes) -> _Undecodable:
        if max_message_bytes is not None and len(data) > max_message_bytes:
            return _Undecodable(
                f"Received message larger than max ({len(data)} vs. {max_message_bytes})",
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            )
        return _Undecodable(
            f"the {name} message cannot be decoded: it is not valid protobuf or a string field "
            "in it is not valid UTF-8"
        )

    def deserialize(data: bytes) -> Any:
        if max_message_bytes is None or len(data) <= max_message_bytes:
            try:
                return deserializer(data)
            except Exception:  # DecodeError, or anything else a parser raises on bad bytes
                pass
        if streamed:  # raised out of the handler's receive, past the handler, to the wrapper
            raise undecodable(data)
        return undecodable(data)

    return deserialize


async def _reject(context: grpc.aio.ServicerContext, marker: _Undecodable) -> NoReturn:
    await context.abort(marker.code, marker.message)
    raise AssertionError("unreachable: context.abort raises")


def handler_behaviour(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    """The behaviour a method handler carries for its kind of call (grpc leaves the other three None)."""
    if handler.request_streaming:
        behaviour = handler.stream_stream if handler.response_streaming else handler.stream_unary
    else:
        behaviour = handler.unary_stream if handler.response_streaming else handler.unary_unary
    if behaviour is None:
        raise TypeError("the method handler has no behaviour for its kind of call")
    return behaviour


def _wrap_behaviour(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    """The handler's async behaviour, checking its request first, or ending the call when a receive of
    its request stream meets a message that cannot be decoded. Streamed responses come from an async
    generator (the only kind of streaming behaviour the emulator has)."""
    inner = handler_behaviour(handler)
    if handler.request_streaming and handler.response_streaming:

        async def stream_stream(requests: AsyncIterable[Any], context: grpc.aio.ServicerContext) -> Any:
            try:
                async for response in inner(requests, context):
                    yield response
            except _Undecodable as marker:
                await _reject(context, marker)

        return stream_stream
    if handler.request_streaming:

        async def stream_unary(requests: AsyncIterable[Any], context: grpc.aio.ServicerContext) -> Any:
            try:
                return await inner(requests, context)
            except _Undecodable as marker:
                await _reject(context, marker)

        return stream_unary
    if handler.response_streaming:

        async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Undecodable):
                await _reject(context, request)
            async for response in inner(request, context):
                yield response

        return unary_stream

    async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Undecodable):
            await _reject(context, request)
        return await inner(request, context)

    return unary_unary


def tolerant_handler(
    handler: grpc.RpcMethodHandler, max_message_bytes: int | None = None
) -> grpc.RpcMethodHandler:
    """`handler` with a deserializer that never raises and a behaviour that rejects what did not parse
    (and, with `max_message_bytes`, what is larger than that)."""
    behaviour = _wrap_behaviour(handler)
    options = {
        "request_deserializer": _tolerant(
            handler.request_deserializer, max_message_bytes, handler.request_streaming
        ),
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(behaviour, **options)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(behaviour, **options)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(behaviour, **options)
    return grpc.unary_unary_rpc_method_handler(behaviour, **options)


class DecodeErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turns undecodable request messages into INVALID_ARGUMENT for every method, and messages above
    `max_message_bytes` (None: no limit of its own) into RESOURCE_EXHAUSTED."""

    def __init__(self, max_message_bytes: int | None = None) -> None:
        self._max_message_bytes = max_message_bytes
        self._wrapped: dict[int, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        known = self._wrapped.get(id(handler))
        if known is None or known[0] is not handler:  # registered handlers are long-lived objects
            known = (handler, tolerant_handler(handler, self._max_message_bytes))
            if len(self._wrapped) < _CACHE_LIMIT:
                self._wrapped[id(handler)] = known
        return known[1]
