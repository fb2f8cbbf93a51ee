"""Test-only fault injection for the emulator, plus a per-method record of calls and outcomes.

Off by default. Enabled in-process with `ServerConfig(faults=FaultPlan([...]))`, or for a
subprocess with `xai serve --fault SPEC` (repeatable, hidden from help) or the env var
XAI_EMULATOR_FAULTS (specs separated by `;`). Never active on a non-loopback bind.

Spec syntax: `METHOD:ACTION[:key=value,...]` where METHOD is a short RPC name (`ListFiles`) or
`*`, and the keys are `code` (a gRPC status name, default UNAVAILABLE), `times` (how many of
the first calls it affects, default 1; 0 = every call), `after` (chunks), `amount` (bytes or
seconds), `message` (the status text) and `pushback` (milliseconds: `fail` and `abort_upload` send
it as the `grpc-retry-pushback-ms` trailer, the server's "retry after"; negative = "do not retry").
Actions:

    fail          fail the call with `code` before the handler runs (retries, give-ups, one attempt)
    abort_upload  fail an upload with `code` after `after` data chunks (an upload restarted from 0)
    commit_drop   run the handler (the file is stored), then fail with `code` (a lost reply)
    fail_stream   fail a server stream with `code` after `after` chunks (a download or chat cut off)
    truncate      end a server stream OK after `amount` bytes in total (a short download)
    pad           append `amount` extra bytes to a server stream, then end OK (a long download)
    delay         wait `amount` seconds before the handler runs (deadlines, a restart mid-call)
    stall         hold a server stream `amount` seconds after `after` chunks (a kill mid-download)
    hold_reply    run the handler (an upload is stored), then hold its reply `amount` seconds
    stall_upload  stop reading an upload for `amount` seconds after `after` data chunks

`delay`, `stall`, `hold_reply` and `stall_upload` end early when the call is cancelled or the
server aborts it, so a stalled handler never outlives its RPC; `held(method)` counts the holds of
`hold_reply` and `stall_upload` that have begun (the handler runs, and will see its RPC end).
Each fault that fires is logged at INFO on `xai.emulator.faults` (`xai -v serve` prints it), which
gives subprocess tests a marker to wait for.

Examples: `ListFiles:fail:times=2`, `UploadFile:abort_upload:after=1`,
`RetrieveFileContent:truncate:amount=10`, `*:fail:code=INTERNAL,times=0`,
`RetrieveFileContent:stall:after=1,amount=30`, `UploadFile:fail:code=RESOURCE_EXHAUSTED,pushback=300`.

Whether or not any fault is configured, a plan counts calls per method (`calls("ListFiles")`)
and records each call's outcome (`outcomes("UploadFile")` -> ["OK", "CANCELLED", ...]), so tests
can assert "exactly one attempt" or "the server saw the cancellation".
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc

from xai_files_cli._pb import files_pb2
from xai_files_cli.emulator.decoding import handler_behaviour

ENV_VAR = "XAI_EMULATOR_FAULTS"
ACTIONS = (
    "fail",
    "abort_upload",
    "commit_drop",
    "fail_stream",
    "truncate",
    "pad",
    "delay",
    "stall",
    "hold_reply",
    "stall_upload",
)

log = logging.getLogger("xai.emulator.faults")


class FaultSpecError(ValueError):
    """A fault spec string could not be parsed."""


@dataclass
class Fault:
    """One injected misbehaviour; see the module docstring for the actions."""

    method: str
    action: str
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    times: int = 1
    after: int = 0
    amount: float = 0
    message: str = "injected fault"
    pushback: int | None = None  # ms, sent as grpc-retry-pushback-ms with a `fail`/`abort_upload`
    used: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise FaultSpecError(f"unknown fault action {self.action!r} (known: {', '.join(ACTIONS)})")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse `METHOD:ACTION[:key=value,...]`."""
        parts = spec.strip().split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise FaultSpecError(f"fault spec {spec!r} is not METHOD:ACTION[:key=value,...]")
        options: dict[str, Any] = {}
        for item in filter(None, (parts[2] if len(parts) == 3 else "").split(",")):
            key, sep, value = item.partition("=")
            try:
                if not sep:
                    raise ValueError
                if key == "code":
                    options["code"] = grpc.StatusCode[value.upper()]
                elif key in ("times", "after", "pushback"):
                    options[key] = int(value)
                elif key == "amount":
                    options["amount"] = float(value)
                elif key == "message":
                    options["message"] = value
                else:
                    raise ValueError
            except (ValueError, KeyError):
                raise FaultSpecError(f"bad option {item!r} in fault spec {spec!r}") from None
        return cls(method=parts[0], action=parts[1], **options)

    def matches(self, method: str) -> bool:
        return self.method in ("*", method)

    async def fail(self, context: grpc.aio.ServicerContext) -> None:
        """End the call with this fault's status (and pushback trailer, if any); never returns."""
        if self.pushback is not None:
            context.set_trailing_metadata((("grpc-retry-pushback-ms", str(self.pushback)),))
        await context.abort(self.code, self.message)


class FaultPlan:
    """A set of faults plus the call/outcome record; thread-safe."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self.faults = list(faults)
        self._calls: dict[str, int] = {}
        self._outcomes: dict[str, list[str]] = {}
        self._held: dict[str, int] = {}
        self._cond = threading.Condition()

    @classmethod
    def parse(cls, specs: Iterable[str]) -> FaultPlan:
        """Build a plan from spec strings (each may hold several specs separated by `;`)."""
        faults = [Fault.parse(one) for spec in specs for one in spec.split(";") if one.strip()]
        return cls(faults)

    def calls(self, method: str) -> int:
        """How many calls of `method` (short name) reached the server."""
        with self._cond:
            return self._calls.get(method, 0)

    def outcomes(self, method: str) -> list[str]:
        """Final status name of each finished call of `method`, in completion order."""
        with self._cond:
            return list(self._outcomes.get(method, []))

    def held(self, method: str) -> int:
        """How many calls of `method` a `hold_reply` or `stall_upload` fault has begun to hold."""
        with self._cond:
            return self._held.get(method, 0)

    def wait_for(self, predicate: Callable[[FaultPlan], bool], timeout: float = 10.0) -> bool:
        """Block until `predicate(plan)` is true (re-checked on every call/outcome); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def interceptor(self) -> grpc.aio.ServerInterceptor:
        """The server interceptor that counts calls and injects this plan's faults."""
        return _FaultInterceptor(self)

    def _start(self, method: str) -> list[Fault]:
        with self._cond:
            self._calls[method] = self._calls.get(method, 0) + 1
            active = []
            for fault in self.faults:
                if fault.matches(method) and (fault.times <= 0 or fault.used < fault.times):
                    fault.used += 1
                    active.append(fault)
                    log.info("fault %s:%s on call %d of %s", fault.method, fault.action, fault.used, method)
            self._cond.notify_all()
            return active

    def _hold(self, method: str) -> None:
        with self._cond:
            self._held[method] = self._held.get(method, 0) + 1
            self._cond.notify_all()

    def _record(self, method: str, outcome: str) -> None:
        with self._cond:
            self._outcomes.setdefault(method, []).append(outcome)
            self._cond.notify_all()


class _Call:
    """Outcome tracking of one call: the handler's result, or CANCELLED if the RPC ends first."""

    def __init__(self, plan: FaultPlan, method: str, context: grpc.aio.ServicerContext) -> None:
        self.plan, self.method = plan, method
        self._recorded = False
        # Runs when the RPC's task ends, also when a streamed response was left unfinished.
        context.add_done_callback(lambda _: self.finish("CANCELLED"))  # type: ignore[arg-type]

    def finish(self, outcome: str) -> None:
        if self._recorded:  # only the loop thread records: no lock needed
            return
        self._recorded = True
        self.plan._record(self.method, outcome)

    def ended(self, context: grpc.aio.ServicerContext, failed: bool) -> None:
        """Record how the handler ended: its status code if it set one, else OK (or CANCELLED when
        it raised without one, e.g. cancelled by the client)."""
        code = _code_set(context)
        if isinstance(code, grpc.StatusCode):
            self.finish(code.name)
        else:
            self.finish("CANCELLED" if failed else "OK")


def _code_set(context: grpc.aio.ServicerContext) -> grpc.StatusCode | None:
    """The status code the handler has set so far, if any."""
    code: grpc.StatusCode | None = context.code()
    return code


class _FaultInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1]
        faults = self.plan._start(method)  # counted here, as the sync server did: calls turned away too
        serializers = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        behavior = handler_behaviour(handler)
        if handler.response_streaming:
            wrapped_stream = self._wrap_streaming(behavior, method, faults)
            if handler.request_streaming:
                return grpc.stream_stream_rpc_method_handler(wrapped_stream, **serializers)
            return grpc.unary_stream_rpc_method_handler(wrapped_stream, **serializers)
        wrapped = self._wrap_unary(behavior, method, faults, handler.request_streaming)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(wrapped, **serializers)
        return grpc.unary_unary_rpc_method_handler(wrapped, **serializers)

    @staticmethod
    async def _before(faults: list[Fault], context: grpc.aio.ServicerContext) -> None:
        for fault in faults:
            if fault.action == "delay":
                await asyncio.sleep(fault.amount)  # a cancelled or aborted call ends it early
            elif fault.action == "fail":
                await fault.fail(context)

    def _wrap_unary(
        self, behavior: Callable[..., Any], method: str, faults: list[Fault], request_streaming: bool
    ) -> Callable[..., Any]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = _Call(self.plan, method, context)
            try:
                await self._before(faults, context)
                if request_streaming:
                    request = _shape_requests(request, context, faults, lambda: self.plan._hold(method))
                response = await behavior(request, context)
                for fault in faults:
                    if fault.action == "commit_drop":
                        await context.abort(fault.code, fault.message)
                    elif fault.action == "hold_reply":
                        self.plan._hold(method)
                        await asyncio.sleep(fault.amount)
            except BaseException:
                call.ended(context, failed=True)
                raise
            call.ended(context, failed=False)
            return response

        return run

    def _wrap_streaming(
        self, behavior: Callable[..., Any], method: str, faults: list[Fault]
    ) -> Callable[..., AsyncIterator[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _Call(self.plan, method, context)
            try:
                await self._before(faults, context)
                async for response in _shape_responses(behavior(request, context), context, faults):
                    yield response
            except BaseException:
                call.ended(context, failed=True)
                raise
            call.ended(context, failed=False)

        return run


def _shape_requests(
    requests: AsyncIterable[Any],
    context: grpc.aio.ServicerContext,
    faults: list[Fault],
    on_stall: Callable[[], None],
) -> AsyncIterable[Any]:
    limits = [fault for fault in faults if fault.action == "abort_upload"]
    stalls = [fault for fault in faults if fault.action == "stall_upload"]
    return _ShapedRequests(requests, context, limits, stalls, on_stall) if limits or stalls else requests


class _ShapedRequests:
    """Passes upload messages through, stopping to read for `amount` seconds after `after` data chunks
    (`stall_upload`: the client's writes wait on flow control mid-upload; the call's end stops the
    wait), and failing the call once `after` data chunks have arrived (`abort_upload`)."""

    def __init__(
        self,
        requests: AsyncIterable[Any],
        context: grpc.aio.ServicerContext,
        limits: list[Fault],
        stalls: list[Fault],
        on_stall: Callable[[], None],
    ) -> None:
        self.requests, self.context = requests, context
        self.limits, self.stalls, self.on_stall = limits, list(stalls), on_stall
        self.data_chunks = 0

    def __aiter__(self) -> _ShapedRequests:
        return self

    async def __anext__(self) -> Any:
        for fault in [f for f in self.stalls if self.data_chunks >= f.after]:
            self.stalls.remove(fault)
            self.on_stall()
            await asyncio.sleep(fault.amount)
        for fault in self.limits:
            if self.data_chunks >= fault.after:
                await fault.fail(self.context)
        message = await anext(self.requests)  # type: ignore[call-overload]  # grpc's receiver has __anext__
        if message.WhichOneof("chunk") == "data":
            self.data_chunks += 1
        return message


def _as_message(response: Any) -> Any:
    """A response as a message: RetrieveFileContent sends the chunks of a file's original bytes as
    their wire bytes, which `truncate` and `pad` decode to count and cut them."""
    return files_pb2.FileContentChunk.FromString(response) if type(response) is bytes else response


async def _shape_responses(
    responses: AsyncIterator[Any], context: grpc.aio.ServicerContext, faults: list[Fault]
) -> AsyncIterator[Any]:
    fail_after = min((f.after for f in faults if f.action == "fail_stream"), default=None)
    fail_code = next((f for f in faults if f.action == "fail_stream"), None)
    truncate_at = min((int(f.amount) for f in faults if f.action == "truncate"), default=None)
    pad = sum(int(f.amount) for f in faults if f.action == "pad")
    stalls = [f for f in faults if f.action == "stall"]
    reshaping = truncate_at is not None or pad > 0
    sent_chunks = sent_bytes = 0
    response: Any = None
    async for response in responses:
        if reshaping:
            response = _as_message(response)
        for stall in stalls:
            if sent_chunks == stall.after:
                await asyncio.sleep(stall.amount)  # a cancelled or aborted call ends it early
        if fail_code is not None and fail_after is not None and sent_chunks >= fail_after:
            await context.abort(fail_code.code, fail_code.message)
        if truncate_at is not None and hasattr(response, "data"):
            room = truncate_at - sent_bytes
            if room <= 0:
                return
            if len(response.data) > room:
                response = type(response)(data=response.data[:room])
        sent_chunks += 1
        sent_bytes += len(getattr(response, "data", b""))
        yield response
    if fail_code is not None and fail_after is not None:
        await context.abort(fail_code.code, fail_code.message)
    if pad and sent_chunks:
        yield type(response)(data=b"\0" * pad)
