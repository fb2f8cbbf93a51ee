"""Opt-in OpenTelemetry tracing: one span per RPC, configured by the standard OTEL_* environment.

Tracing is on only when the environment asks for it (OTEL_TRACES_EXPORTER other than `none`, or an
OTLP endpoint in OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED
turns it off) and the SDK is installed (`pip install 'xai-files-cli[otel]'`). Otherwise nothing of
opentelemetry is imported and calls go straight through. `OTEL_TRACES_EXPORTER=console` writes each
span as JSON to stderr when it ends (stdout carries data only); `otlp` (the default with an endpoint)
sends batches over gRPC or, with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, HTTP.

Spans carry the attributes the official SDK uses: `file.id`, `file.name`, `file.size` and
`file.chunk_count` for Files calls, `gen_ai.*` (model, response id, token usage) for chat, plus the
RPC's method and status. No attribute is ever taken from call metadata, where the API key travels,
and every string value is passed through `redact`, so a key can reach no span. Prompts and answers
are not recorded.

`CallRecord` is also how a call made outside the blocking channel's interceptors (the batch upload's
grpc.aio calls) gets its `-v` line and its span.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from xai_files_cli import __version__
from xai_files_cli.redact import redact

call_log = logging.getLogger("xai.rpc")

SHUTDOWN_WAIT = 3.0  # seconds the exit waits for spans still being exported (a collector may be down)
# Span name and `operation.name` per Files method (the SDK's where it has them: upload, delete).
_OPERATIONS = {
    "UploadFile": ("file.upload", "upload_file"),
    "ListFiles": ("file.list", "list_files"),
    "RetrieveFile": ("file.get", "retrieve_file"),
    "RetrieveFileContent": ("file.content", "retrieve_file_content"),
    "DeleteFile": ("file.delete", "delete"),
    "CreatePublicUrl": ("file.share", "create_public_url"),
    "RevokePublicUrl": ("file.unshare", "revoke_public_url"),
}
_CHAT_METHODS = ("GetCompletion", "GetCompletionChunk")
_OFF_WORDS = ("", "none")

_lock = threading.Lock()
_state: dict[str, Any] = {}  # "enabled": bool, "provider": the TracerProvider, "tracer": its Tracer


# -- switching on ----------------------------------------------------------------------------------
def wanted(environ: Any = None) -> bool:
    """Whether the OTEL_* environment asks for traces (without importing anything)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _exporter_names(env)
    if exporters:
        return any(name not in _OFF_WORDS for name in exporters)
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def enabled() -> bool:
    """Tracing asked for and the SDK importable; decided once per process."""
    if "enabled" not in _state:
        with _lock:
            if "enabled" not in _state:
                _state["enabled"] = wanted() and _sdk_installed()
    return bool(_state["enabled"])


def _exporter_names(env: Any) -> list[str]:
    return [name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]


def _sdk_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("opentelemetry.sdk.trace") is not None
    except (ImportError, ValueError):
        return False


def tracer() -> Any:
    """The process's Tracer, with its provider and exporters set up on first use."""
    with _lock:
        if "tracer" not in _state:
            provider = _make_provider()
            _state["provider"] = provider
            _state["tracer"] = provider.get_tracer("xai_files_cli", __version__)
        return _state["tracer"]


def _make_provider() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({"service.name": "xai-cli", "service.version": __version__})
    provider = TracerProvider(resource=resource)  # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES still win
    exporters = _exporter_names(os.environ) or ["otlp"]
    for name in dict.fromkeys(exporters):
        processor = _processor(name)
        if processor is not None:
            provider.add_span_processor(processor)
    return provider


def _processor(name: str) -> Any:
    """The span processor for one OTEL_TRACES_EXPORTER entry (console, otlp); None for others."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    if name == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr))
    if name != "otlp":
        return None
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
    )
    if protocol.strip().lower().startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[assignment]
            OTLPSpanExporter,
        )
    return BatchSpanProcessor(OTLPSpanExporter())


def shutdown() -> None:
    """Export what is pending and stop, waiting at most SHUTDOWN_WAIT seconds; a no-op when off."""
    provider = _state.pop("provider", None)
    _state.pop("tracer", None)
    if provider is None:
        return
    closer = threading.Thread(target=provider.shutdown, name="xai-otel-shutdown", daemon=True)
    closer.start()
    closer.join(SHUTDOWN_WAIT)


def reset() -> None:
    """Flush and forget the tracer and the on/off decision, so the environment is read again."""
    shutdown()
    _state.clear()


# -- one call --------------------------------------------------------------------------------------
class CallRecord:
    """One RPC being observed: its span (when tracing is on) and, with `log`, its `-v` line.

    Feed it the request and response messages as they pass; `finish` ends it once (later calls
    are ignored).
    """

    def __init__(self, method: str, target: str | None, *, log: bool = False) -> None:
        self.method = method
        self.target = target
        self._log = log and call_log.isEnabledFor(logging.INFO)
        self._started = time.monotonic()
        self._finished = False
        self._chunks = 0
        self._bytes = 0
        self._span = _start_span_safely(method, target) if enabled() else None

    @property
    def traced(self) -> bool:
        """Whether the call has a span: without one, `request` and `response` do nothing."""
        return self._span is not None

    def request(self, message: Any) -> None:
        """A request message: what it says about the file or chat (never metadata)."""
        if self._span is not None:
            with contextlib.suppress(Exception):  # tracing never breaks a call
                _set(self._span, _request_attributes(self.method, message, self))

    def response(self, message: Any) -> None:
        """A response message (each chunk of a stream; raw bytes where the client reads them so)."""
        if self._span is not None:
            with contextlib.suppress(Exception):
                _set(self._span, _response_attributes(self.method, message, self))

    def rename(self, name: str) -> None:
        if self._span is not None:
            self._span.update_name(redact(name))

    def count_data(self, size: int) -> None:
        self._chunks += 1
        self._bytes += size

    def finish(self, code: grpc.StatusCode | None) -> None:
        """The call is over with `code` (None: it ended without a status, e.g. a local failure)."""
        if self._finished:
            return
        self._finished = True
        name = code.name if code is not None else "UNKNOWN"
        if self._log:
            elapsed = (time.monotonic() - self._started) * 1e3
            call_log.info("%s %s: %s in %.0f ms", self.method, self.target, name, elapsed)
        if self._span is not None:
            with contextlib.suppress(Exception):
                _end_span(self._span, code, self)

    def finish_with(self, error: BaseException | None) -> None:
        """`finish` from an outcome: OK without an error, else the error's status."""
        self.finish(grpc.StatusCode.OK if error is None else _code_of(error))


def _code_of(error: BaseException) -> grpc.StatusCode | None:
    code = getattr(error, "code", None)
    try:
        value = code() if callable(code) else None
    except Exception:
        return None
    return value if isinstance(value, grpc.StatusCode) else None


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


def _start_span_safely(method: str, target: str | None) -> Any:
    """A started span, or None when the tracer cannot make one (a broken exporter set-up)."""
    try:
        return _start_span(method, target)
    except Exception:
        return None


def _start_span(method: str, target: str | None) -> Any:
    from opentelemetry.trace import SpanKind

    service, name = _split(method)
    attributes: dict[str, Any] = {
        "rpc.system": "grpc",
        "rpc.service": service,
        "rpc.method": name,
        "provider.name": "xai",
    }
    host, _, port = (target or "").rpartition(":")
    if host:
        attributes["server.address"] = host.strip("[]")
    if port.isdigit():
        attributes["server.port"] = int(port)
    span_name = f"{service}/{name}"
    if name in _OPERATIONS:
        span_name, attributes["operation.name"] = _OPERATIONS[name]
    if name in _CHAT_METHODS:
        attributes.update({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "xai"})
        span_name = "chat"  # `chat MODEL` once the request names the model
    return tracer().start_span(span_name, kind=SpanKind.CLIENT, attributes=_clean(attributes))


def _end_span(span: Any, code: grpc.StatusCode | None, record: CallRecord) -> None:
    from opentelemetry.trace import Status, StatusCode

    _, name = _split(record.method)
    if record._chunks:
        counted = {"file.chunk_count": record._chunks}
        if name == "UploadFile" or name == "RetrieveFileContent":
            counted["file.size"] = record._bytes
        _set(span, counted)
    if code is not None:
        span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code is not grpc.StatusCode.OK:
        span.set_status(Status(StatusCode.ERROR, code.name if code is not None else "UNKNOWN"))
    span.end()


def _request_attributes(method: str, message: Any, record: CallRecord) -> dict[str, Any]:
    _, name = _split(method)
    attributes: dict[str, Any] = {}
    if name == "UploadFile":
        if message.HasField("init"):
            attributes["file.name"] = message.init.name
        else:
            record.count_data(len(message.data))
    elif isinstance(getattr(message, "file_id", None), str):
        attributes["file.id"] = message.file_id
    elif name in _CHAT_METHODS:
        attributes.update(_chat_request_attributes(message))
        record.rename(f"chat {message.model}")
    return attributes


def _chat_request_attributes(message: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {"gen_ai.request.model": message.model}
    if message.HasField("max_tokens"):
        attributes["gen_ai.request.max_tokens"] = message.max_tokens
    if message.HasField("temperature"):
        attributes["gen_ai.request.temperature"] = round(message.temperature, 6)
    if message.HasField("previous_response_id"):
        attributes["gen_ai.request.previous_response_id"] = message.previous_response_id
    files = [c.file.file_id for m in message.messages for c in m.content if c.HasField("file")]
    if files:
        attributes["gen_ai.request.file_ids"] = files
    return attributes


def _response_attributes(method: str, message: Any, record: CallRecord) -> dict[str, Any]:
    _, name = _split(method)
    attributes: dict[str, Any] = {}
    if name in ("UploadFile", "RetrieveFile"):
        attributes.update({"file.id": message.id, "file.name": message.filename, "file.size": message.size})
    elif name == "RetrieveFileContent":
        data = message if isinstance(message, (bytes, bytearray, memoryview)) else message.data
        record.count_data(len(data))
    elif name == "ListFiles":
        attributes["file.count"] = len(message.data)
    elif name in _CHAT_METHODS:
        attributes.update(_chat_response_attributes(message))
    return attributes


def _chat_response_attributes(message: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if message.id:
        attributes["gen_ai.response.id"] = message.id
    if message.model:
        attributes["gen_ai.response.model"] = message.model
    if message.HasField("usage"):
        usage = message.usage
        attributes.update(
            {
                "gen_ai.usage.input_tokens": usage.prompt_tokens,
                "gen_ai.usage.output_tokens": usage.completion_tokens,
                "gen_ai.usage.total_tokens": usage.total_tokens,
            }
        )
    reasons = [_finish_reason(output) for output in message.outputs if output.finish_reason]
    if reasons:
        attributes["gen_ai.response.finish_reasons"] = reasons
    return attributes


def _finish_reason(output: Any) -> str:
    from xai_files_cli._pb import sample_pb2

    try:
        return str(sample_pb2.FinishReason.Name(output.finish_reason)).removeprefix("REASON_").lower()
    except ValueError:
        return str(output.finish_reason)


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attribute values with every known secret masked; empty strings dropped."""
    cleaned: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(value, str):
            if value:
                cleaned[key] = redact(value)
        elif isinstance(value, list):
            cleaned[key] = [redact(v) if isinstance(v, str) else v for v in value]
        else:
            cleaned[key] = value
    return cleaned


def _set(span: Any, attributes: dict[str, Any]) -> None:
    if attributes:
        span.set_attributes(_clean(attributes))


# -- the blocking channel's interceptor ------------------------------------------------------------
class TracingInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """A span around every call of a blocking channel (all four kinds), from its request messages to
    its status; installed by `core.channel.connect` only when `enabled()`."""

    def __init__(self, target: str) -> None:
        self._target = target

    def _record(self, details: grpc.ClientCallDetails) -> CallRecord:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        return CallRecord(method, self._target)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        record = self._record(details)
        record.request(request)
        return _finish_when_done(record, continuation(details, request))

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        record = self._record(details)
        return _finish_when_done(record, continuation(details, _observed(requests, record.request)))

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        record = self._record(details)
        record.request(request)
        return _TracedStream(continuation(details, request), record)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        record = self._record(details)
        return _TracedStream(continuation(details, _observed(requests, record.request)), record)


def _observed(messages: Any, see: Callable[[Any], None]) -> Iterator[Any]:
    for message in messages:
        see(message)
        yield message


def _finish_when_done(record: CallRecord, outcome: Any) -> Any:
    """End the span when a unary-response call completes (at once for a blocking call)."""

    def done(call: Any) -> None:
        if call.cancelled():  # `exception()` of a cancelled call raises (and gRPC hides that)
            record.finish(grpc.StatusCode.CANCELLED)
            return
        error = call.exception()
        if error is None:
            record.response(call.result())
        record.finish_with(error)

    outcome.add_done_callback(done)
    return outcome


class _TracedStream:
    """A response stream whose messages are seen by the span; it ends with the stream (or its
    cancellation). Everything but iteration goes to the call itself."""

    def __init__(self, call: Any, record: CallRecord) -> None:
        self._call = call
        self._record = record
        add_done = getattr(call, "add_done_callback", None)
        if add_done is not None:  # a cancelled or failed stream may never be read to its end
            add_done(self._on_done)

    def _on_done(self, call: Any) -> None:
        code = _code_of(call) if hasattr(call, "code") else None
        if code not in (grpc.StatusCode.OK, None):
            self._record.finish(code)

    def __iter__(self) -> _TracedStream:
        return self

    def __next__(self) -> Any:
        try:
            message = next(self._call)
        except StopIteration:
            self._record.finish(grpc.StatusCode.OK)
            raise
        except grpc.RpcError as error:
            self._record.finish_with(error)
            raise
        self._record.response(message)
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)
