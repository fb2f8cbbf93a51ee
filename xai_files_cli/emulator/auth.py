"""API-key check for every RPC of the emulator (unary and streaming alike), as a server interceptor.

The expected `authorization` value is `Bearer <key>`; it is compared in constant time and never
logged, and neither is any other request metadata. A missing, repeated or wrong value gets
UNAUTHENTICATED before the handler runs, so a rejected upload never touches storage.

A blank key is no key: the server refuses to start with one (`blank_key_problem`), and a
presented `Bearer` followed only by whitespace never authenticates.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

UNAUTHENTICATED_MESSAGE = "invalid or missing API key: send 'authorization: Bearer <key>'"
_SCHEME = b"Bearer "


def blank_key_problem(api_key: str) -> str | None:
    """Why `api_key` cannot be the server's key (empty or only whitespace), or None if it can."""
    if not api_key.strip():
        return "the API key is blank; give the server a non-empty key (or --no-auth, loopback only)"
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Rejects every call whose `authorization` metadata is not exactly `Bearer <api_key>`."""

    def __init__(self, api_key: str) -> None:
        problem = blank_key_problem(api_key)
        if problem is not None:
            raise ValueError(problem)
        self._expected = _SCHEME + api_key.encode()

    def is_authorized(self, metadata: Any) -> bool:
        """Whether the invocation metadata carries exactly one correct authorization value."""
        values = [value for key, value in (metadata or ()) if key == "authorization"]
        if len(values) != 1:
            return False
        presented = values[0].encode("utf-8", "surrogateescape") if isinstance(values[0], str) else values[0]
        if not presented.startswith(_SCHEME) or not presented[len(_SCHEME) :].strip():
            return False  # no scheme, or "Bearer" with a blank key
        return hmac.compare_digest(presented, self._expected)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or self.is_authorized(handler_call_details.invocation_metadata):
            return handler
        return rejecting_handler(handler, grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)


def rejecting_handler(
    handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler:
    """A handler of the same kind and serializers as `handler` whose async behaviour fails every call
    with `code` (before reading any request message)."""

    async def reject(request_or_iterator: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, message)

    async def reject_stream(request_or_iterator: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, message)
        yield  # pragma: no cover - makes this an async generator for the streaming-response kinds

    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(reject_stream, **serializers)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(reject, **serializers)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(reject_stream, **serializers)
    return grpc.unary_unary_rpc_method_handler(reject, **serializers)
