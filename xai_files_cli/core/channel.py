"""Build the one gRPC channel an invocation uses: target parsing, credentials, options, retry policy.

This is the only module that creates channels. Rules it enforces:
- loopback hosts (localhost, 127.0.0.0/8, ::1, unix sockets) use gRPC local credentials, so a
  plaintext emulator works, and their handshake fails with any peer that is not on this machine;
- every other host uses TLS with the system roots (or an explicit CA), and a plaintext request for a
  non-loopback host is refused before any byte is sent;
- the API key is attached to every call of every kind as metadata, client-streaming uploads
  included (the SDK's interceptors miss that one), and only on a channel whose credentials are TLS or
  local credentials, so the key never leaves this machine in plaintext. Not call credentials:
  grpc-python runs a call credentials plugin on a new thread for every call, which cost more CPU
  than the rest of a list page's call;
- no wait_for_ready: a server that is down fails fast with UNAVAILABLE, while a connection that is
  merely slow (a far server, a lossy link) gets seconds to finish its TCP, TLS and HTTP/2 set-up
  (`connect_timeout_for`), always less than the call's own deadline;
- a blocking unary call or a server stream the server turns away with back-pressure
  (RESOURCE_EXHAUSTED that is not a rule, see `rpc.is_backpressure`) is repeated after a back-off,
  within its deadline (`_KeyedChannel`); client-streaming uploads are repeated by FilesClient, which
  can re-read their source;
- `dial_settings(channel).open_aio()` opens a grpc.aio channel by the very same rules, for the
  batch upload's event loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from xai_files_cli import __version__
from xai_files_cli.core import rpc, tracing
from xai_files_cli.errors import AuthError, UsageError
from xai_files_cli.record import Record, field
from xai_files_cli.redact import register_secret
from xai_files_cli.security import check_key_transport, is_loopback

call_log = logging.getLogger("xai.rpc")

DEFAULT_PORT = 443
MAX_MESSAGE_BYTES = 20 * 1024 * 1024
RETRY_ATTEMPTS = 5
# Seconds one connection attempt (TCP connect, TLS handshake, the server's HTTP/2 settings) may take.
# gRPC derives this from `grpc.min_reconnect_backoff_ms`; 200 ms there failed every handshake through
# a 200 ms round trip. A refused connection still fails at once: this only bounds a silent peer.
CONNECT_TIMEOUT = 10.0
MIN_CONNECT_TIMEOUT = 0.1  # gRPC's own floor

# Methods safe to repeat: reads, plus Models and Chat as the SDK does. UploadFile is not listed (a
# replay could store a second copy), and DeleteFile is retried by FilesClient itself so that it can
# tell "already deleted by my earlier attempt" apart from "never existed".
_RETRYABLE_METHODS = [
    {"service": "xai_api.Files", "method": "ListFiles"},
    {"service": "xai_api.Files", "method": "RetrieveFile"},
    {"service": "xai_api.Files", "method": "RetrieveFileContent"},
    {"service": "xai_api.Models"},
    {"service": "xai_api.Chat"},
]


def _seconds(value: float) -> str:
    """A duration as gRPC's service config spells it (`0.1s`, `1s`), never in exponent form."""
    return f"{value:.9f}".rstrip("0").rstrip(".") + "s"


def service_config(backoff: rpc.UnavailableBackoff) -> dict[str, Any]:
    """The channel's retry policy: the methods above are repeated on UNAVAILABLE after `backoff`'s waits."""
    retry_policy = {
        "maxAttempts": RETRY_ATTEMPTS,
        "initialBackoff": _seconds(backoff.first),
        "maxBackoff": _seconds(backoff.maximum),
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    return {"methodConfig": [{"name": _RETRYABLE_METHODS, "retryPolicy": retry_policy}]}


SERVICE_CONFIG = service_config(rpc.UnavailableBackoff())  # with the default waits


class Endpoint(Record):
    """A parsed `--api-host` value."""

    host: str
    port: int
    scheme: str | None = None  # "http", "https" or None when none was written
    unix_path: str | None = None

    @property
    def target(self) -> str:
        """The gRPC target string (`[::1]:443`, `unix:/path`)."""
        if self.unix_path is not None:
            return f"unix:{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        """True for localhost, 127.0.0.0/8, ::1 and unix sockets: traffic never leaves this machine."""
        return self.unix_path is not None or is_loopback(self.host)


def parse_target(target: str) -> Endpoint:
    """Parse `HOST[:PORT]`, `[V6]:PORT`, `http(s)://HOST:PORT` or `unix:/path`; default port 443."""
    text = target.strip()
    scheme: str | None = None
    if text.startswith("unix:"):
        path = text[len("unix:") :]
        if not path:
            raise UsageError(f"invalid API host {target!r}: empty unix socket path")
        return Endpoint(host="localhost", port=0, unix_path=path)
    for prefix in ("http://", "https://"):
        if text.lower().startswith(prefix):
            scheme = prefix[:-3]
            text = text[len(prefix) :].rstrip("/")
    if not text or "/" in text or any(c.isspace() for c in text):
        raise UsageError(f"invalid API host {target!r}: expected HOST:PORT")
    port_text: str | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"invalid API host {target!r}: expected [IPv6]:PORT")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host = text  # a bare name, or a bare IPv6 address without a port
    if not host:
        raise UsageError(f"invalid API host {target!r}: empty host name")
    if port_text is None:
        port = DEFAULT_PORT
    else:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"invalid API host {target!r}: port must be 1-65535")
        port = int(port_text)
    return Endpoint(host=host, port=port, scheme=scheme)


def connect_timeout_for(call_timeout: float | None) -> float:
    """Seconds a connection attempt may take: CONNECT_TIMEOUT, or half of a shorter call deadline.

    Half, so that a server that never answers is reported as a connect timeout (UNAVAILABLE, with
    the cause named) and the channel's retries still fit in the deadline, rather than as a bare
    DEADLINE_EXCEEDED.
    """
    if call_timeout is None:
        return CONNECT_TIMEOUT
    return max(MIN_CONNECT_TIMEOUT, min(CONNECT_TIMEOUT, call_timeout / 2))


def is_connected(channel: grpc.Channel, wait: float = 0.2) -> bool:
    """Whether `channel` has (or, within `wait` seconds, gets) a working connection to its server.

    For telling a deadline that expired while the server kept silent at connection set-up (nothing
    was ever connected: the host, port, a firewall or a proxy is to blame) from a slow server.
    """
    ready = grpc.channel_ready_future(channel)
    try:
        ready.result(timeout=wait)
    except grpc.FutureTimeoutError:
        return False
    finally:
        ready.cancel()
    return True


def channel_options(user_agent: str, connect_timeout: float | None = None) -> list[tuple[str, object]]:
    """Channel options mirroring the SDK (message limits, keepalive, retries) plus our user agent.

    `connect_timeout` (seconds, default CONNECT_TIMEOUT) bounds each connection attempt.
    """
    connect_ms = round(1000 * (CONNECT_TIMEOUT if connect_timeout is None else connect_timeout))
    return [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(service_config(rpc.UNAVAILABLE_BACKOFF))),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.primary_user_agent", user_agent),
        # A fixed 4 MiB stream window instead of BDP-probed growth: on loopback the probe lets the
        # server push tens of MiB ahead of a disk writer, which put `files cat` of a large file at
        # ~100-110 MB peak RSS; 4 MiB keeps it near 85 MB and still allows ~40 MB/s at 100 ms RTT.
        ("grpc.http2.bdp_probe", 0),
        ("grpc.http2.lookahead_bytes", 4 * 1024 * 1024),
        # Reconnect quickly after a restart of a local server, so retries can land: the first
        # new attempt comes 200 ms after a failure, later ones at most 2 s apart.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
        # gRPC gives each attempt max(its backoff, this) to connect: the connect timeout.
        ("grpc.min_reconnect_backoff_ms", connect_ms),
    ]


class DialSettings(Record):
    """The arguments a channel was opened with, so a grpc.aio twin can be opened with the same ones."""

    target: str
    api_key: str = field(repr=False)
    user_agent: str = f"xai-cli/{__version__}"
    ca_cert: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    call_timeout: float | None = None  # the per-call deadline (--timeout); bounds the connect timeout

    def open_aio(self) -> grpc.aio.Channel:
        """A grpc.aio channel by the rules of `connect`, with these settings, that sends the key on every
        call as metadata: call it inside the event loop that will use the channel."""
        dialled = _dial(self)
        inner = grpc.aio.secure_channel(dialled.endpoint.target, dialled.transport, options=dialled.options)
        return _KeyedAioChannel(inner, _bearer_metadata(dialled.api_key))


class _Dialled(Record):
    """What the rules of `connect` decided for one channel: where, over what, with which key."""

    endpoint: Endpoint
    transport: grpc.ChannelCredentials  # TLS, or local credentials (loopback or unix socket only)
    api_key: str = field(repr=False)
    options: list[tuple[str, object]]


def _dial(settings: DialSettings) -> _Dialled:
    """Parse the target, check the key and pick the transport: the rules shared by both channel kinds.

    The transport is never plaintext off this machine: a plaintext request for another host is refused
    here, and local credentials fail the handshake with any peer that is not local.
    """
    endpoint = parse_target(settings.target)
    if not settings.api_key or not settings.api_key.strip():
        raise AuthError("no API key configured")
    api_key = settings.api_key.strip()
    register_secret(api_key)
    check_key_transport(endpoint.host, plaintext=settings.insecure or endpoint.scheme == "http")
    use_tls = settings.ca_cert is not None or endpoint.scheme == "https" or not endpoint.is_loopback
    if use_tls:
        transport = grpc.ssl_channel_credentials(root_certificates=settings.ca_cert)
    else:
        kind = grpc.LocalConnectionType.UDS if endpoint.unix_path else grpc.LocalConnectionType.LOCAL_TCP
        transport = grpc.local_channel_credentials(kind)
    options = channel_options(settings.user_agent, connect_timeout_for(settings.call_timeout))
    return _Dialled(endpoint, transport, api_key, options)


Metadata = tuple[tuple[str, str], ...]


def _bearer_metadata(api_key: str) -> Metadata:
    return (("authorization", f"Bearer {api_key}"),)


class _KeyedAioChannel(grpc.aio.Channel):
    """A grpc.aio channel whose every call carries the API key as metadata (after any of the caller's).

    Only `DialSettings.open_aio` makes one, on a transport `_dial` chose, so the key goes exactly where
    call credentials would take it; unlike them it costs no thread per call.
    """

    def __init__(self, inner: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> None:
        self._inner = inner
        self._metadata = metadata

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _WithKey(self._inner.unary_unary(*args, **kwargs), self._metadata)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _WithKey(self._inner.unary_stream(*args, **kwargs), self._metadata)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _WithKey(self._inner.stream_unary(*args, **kwargs), self._metadata)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _WithKey(self._inner.stream_stream(*args, **kwargs), self._metadata)

    async def close(self, grace: float | None = None) -> None:
        await self._inner.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._inner.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._inner.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._inner.channel_ready()

    async def __aenter__(self) -> _KeyedAioChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.close(None)

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return "_KeyedAioChannel(****)"


class _WithKey:
    """A grpc.aio multi-callable that adds the key's metadata to the caller's (passed by keyword)."""

    def __init__(self, inner: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        self._inner = inner
        self._metadata = metadata

    def __call__(self, *args: Any, metadata: Any = None, **kwargs: Any) -> Any:
        merged = self._metadata if metadata is None else (*tuple(metadata), *self._metadata)
        return self._inner(*args, metadata=merged, **kwargs)

    def __repr__(self) -> str:
        return "_WithKey(****)"


def connect(
    target: str,
    api_key: str,
    *,
    user_agent: str = f"xai-cli/{__version__}",
    ca_cert: bytes | None = None,
    insecure: bool = False,
    call_timeout: float | None = None,
) -> grpc.Channel:
    """Open a channel to `target` that sends `api_key` on every call.

    Args:
        target: `HOST[:PORT]` (port 443 by default), `[::1]:PORT`, `http://…`/`https://…`, `unix:/path`.
        api_key: the xAI API key; sent as `authorization: Bearer <key>` metadata on every call.
        user_agent: primary user agent; gRPC appends its own token.
        ca_cert: PEM roots to trust instead of the system roots (forces TLS, even on loopback).
        insecure: ask for plaintext; allowed only for loopback hosts.
        call_timeout: the deadline calls will use (--timeout), if any; connecting gets at most half.

    Raises:
        UsageError: a malformed target, or plaintext requested for a non-loopback host.
        AuthError: an empty key.
    """
    settings = DialSettings(
        target, api_key, user_agent=user_agent, ca_cert=ca_cert, insecure=insecure, call_timeout=call_timeout
    )
    dialled = _dial(settings)
    target = dialled.endpoint.target
    inner: grpc.Channel = grpc.secure_channel(target, dialled.transport, options=dialled.options)
    if call_log.isEnabledFor(logging.INFO):  # `xai -v`; otherwise calls go straight through
        inner = grpc.intercept_channel(inner, _CallLogger(target))  # logs every attempt
    inner = _KeyedChannel(inner, _bearer_metadata(dialled.api_key))
    if tracing.enabled():  # OTEL_* asks for spans and the otel extra is installed: one span per call
        traced = tracing.TracingInterceptor(parse_target(settings.target).target)
        inner = grpc.intercept_channel(inner, traced)
    return XaiChannel(inner, target, settings)


class _CallLogger(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Logs every call's method, target, final status and duration; never metadata (the key)."""

    def __init__(self, target: str) -> None:
        self._target = target

    def _watch(self, details: grpc.ClientCallDetails, start: Callable[[], Any]) -> Any:
        """Start the call (a blocking unary call completes inside) and log it once it is over."""
        started = time.monotonic()
        method = details.method.decode() if isinstance(details.method, bytes) else details.method

        def done(call: Any) -> None:
            code = getattr(call.code(), "name", "UNKNOWN")
            elapsed = (time.monotonic() - started) * 1e3
            call_log.info("%s %s: %s in %.0f ms", method, self._target, code, elapsed)

        outcome = start()
        outcome.add_done_callback(done)
        return outcome

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return self._watch(details, lambda: continuation(details, request))

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return self._watch(details, lambda: continuation(details, request))

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return self._watch(details, lambda: continuation(details, requests))

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return self._watch(details, lambda: continuation(details, requests))


class CallAttempts:
    """The attempts of one call: deadline bookkeeping and the wait before each back-pressure retry."""

    def __init__(self, method: str | bytes, timeout: float | None, started: float | None = None) -> None:
        self._method = method
        self._deadline = None if timeout is None else (started or time.monotonic()) + timeout
        self._timeout = timeout
        self._retries = 0

    def timeout(self) -> float | None:
        """The next attempt's deadline: the caller's for the first, what is left of it after that."""
        if self._retries == 0 or self._deadline is None:
            return self._timeout
        return max(0.0, self._deadline - time.monotonic())

    def wait_to_retry(self, error: BaseException | None) -> bool:
        """After a failed attempt: sleep and return True when it was back-pressure worth retrying."""
        delay = self.retry_delay(error)
        if delay is None:
            return False
        time.sleep(delay)
        return True

    def retry_delay(self, error: BaseException | None) -> float | None:
        """After a failed attempt: the seconds to wait before the next one when the failure was
        back-pressure worth retrying within the deadline, else None (`wait_to_retry` without the wait)."""
        if error is None or not rpc.is_backpressure(error):
            return None
        policy = rpc.BACKPRESSURE
        self._retries += 1
        delay = policy.delay(self._retries, error)
        if self._retries >= policy.attempts or (
            self._deadline is not None and time.monotonic() + delay >= self._deadline
        ):
            return None
        method = self._method
        name = method.decode() if isinstance(method, bytes) else method
        call_log.info("%s: server busy (RESOURCE_EXHAUSTED); retry %d in %.2f s", name, self._retries, delay)
        return delay


def _with_key(metadata: Any, key: Metadata) -> Metadata:
    """The caller's metadata (if any) followed by the key's."""
    return key if metadata is None else (*tuple(metadata), *key)


class _KeyedChannel(grpc.Channel):
    """A blocking channel whose every call carries the API key as metadata (after any of the caller's),
    and whose blocking unary calls and server streams are repeated while the server answers with
    back-pressure (safe for every method: such a call was refused before any work was done; a stream
    is repeated only while it has delivered nothing).

    Only `connect` makes one, on a transport `_dial` chose, so the key goes exactly where call
    credentials would take it; unlike them it costs no thread per call, and unlike an interceptor no
    wrapping of every call's details.
    """

    def __init__(self, inner: grpc.Channel, key: Metadata) -> None:
        self._inner = inner
        self._key = key

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _RetryingUnary(method, self._inner.unary_unary(method, *args, **kwargs), self._key)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _RetryingServerStream(method, self._inner.unary_stream(method, *args, **kwargs), self._key)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Keyed(self._inner.stream_unary(method, *args, **kwargs), self._key)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Keyed(self._inner.stream_stream(method, *args, **kwargs), self._key)

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        self._inner.subscribe(callback, try_to_connect=try_to_connect)

    def unsubscribe(self, callback: Any) -> None:
        self._inner.unsubscribe(callback)

    def close(self) -> None:
        self._inner.close()

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return "_KeyedChannel(****)"


class _Keyed:
    """A client-streaming or bidirectional multi-callable that adds the key to the caller's metadata."""

    def __init__(self, inner: Any, key: Metadata) -> None:
        self._inner = inner
        self._key = key

    def __call__(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kwargs: Any
    ) -> Any:
        return self._inner(request, timeout=timeout, metadata=_with_key(metadata, self._key), **kwargs)

    def with_call(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kwargs: Any
    ) -> Any:
        return self._inner.with_call(
            request, timeout=timeout, metadata=_with_key(metadata, self._key), **kwargs
        )

    def future(self, request: Any, timeout: float | None = None, metadata: Any = None, **kwargs: Any) -> Any:
        return self._inner.future(request, timeout=timeout, metadata=_with_key(metadata, self._key), **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(****)"


class _RetryingUnary(_Keyed):
    """A unary multi-callable with the key, whose blocking calls wait out back-pressure (a `future`
    is handed back at once, not repeated)."""

    def __init__(self, method: str, inner: Any, key: Metadata) -> None:
        super().__init__(inner, key)
        self._method = method

    def __call__(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kwargs: Any
    ) -> Any:
        return self._retrying(self._inner, request, timeout, metadata, kwargs)

    def with_call(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kwargs: Any
    ) -> Any:
        return self._retrying(self._inner.with_call, request, timeout, metadata, kwargs)

    def _retrying(
        self, call: Callable[..., Any], request: Any, timeout: float | None, metadata: Any, kwargs: Any
    ) -> Any:
        """Attempts until one is not back-pressure (its error is raised), within the deadline; the
        retry bookkeeping is only made once the first attempt is pushed back."""
        metadata = _with_key(metadata, self._key)
        started = time.monotonic()
        attempts: CallAttempts | None = None
        while True:
            try:
                return call(
                    request,
                    timeout=timeout if attempts is None else attempts.timeout(),
                    metadata=metadata,
                    **kwargs,
                )
            except grpc.RpcError as error:
                if attempts is None:
                    attempts = CallAttempts(self._method, timeout, started)
                if not attempts.wait_to_retry(error):
                    raise


class _RetryingServerStream(_Keyed):
    """A server-streaming multi-callable with the key, whose calls start over while their first
    message is back-pressure."""

    def __init__(self, method: str, inner: Any, key: Metadata) -> None:
        super().__init__(inner, key)
        self._method = method

    def __call__(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kwargs: Any
    ) -> Any:
        attempts = CallAttempts(self._method, timeout)
        metadata = _with_key(metadata, self._key)
        inner = self._inner
        return _RetryingStream(
            lambda: inner(request, timeout=attempts.timeout(), metadata=metadata, **kwargs), attempts
        )


class _RetryingStream:
    """A server-streaming call that starts over while its first message is back-pressure.

    Everything but iteration (cancel, code, details, ...) goes to the current attempt's call.
    """

    def __init__(self, start: Callable[[], Any], attempts: CallAttempts) -> None:
        self._start = start
        self._attempts = attempts
        self._call = start()
        self._delivering = False

    def __iter__(self) -> _RetryingStream:
        return self

    def __next__(self) -> Any:
        while not self._delivering:
            try:
                message = next(self._call)
            except grpc.RpcError as error:
                if not self._attempts.wait_to_retry(error):
                    raise
                self._call = self._start()
                continue
            self._delivering = True
            return message
        return next(self._call)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


class XaiChannel(grpc.Channel):
    """A grpc.Channel that knows its target and whose `close` cannot hang the process.

    grpc-python can deadlock in `Channel.close()` when Ctrl-C lands while a streaming call is
    being set up (the call is registered but its event thread never started), so close waits a
    bounded time on a helper thread; the process is exiting anyway.
    """

    CLOSE_WAIT = 2.0

    def __init__(self, inner: grpc.Channel, target: str, settings: DialSettings | None = None) -> None:
        self._inner = inner
        self.target = target
        self.settings = settings  # what `connect` was given, to open an aio twin (dial_settings)

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        return self._inner.subscribe(callback, try_to_connect=try_to_connect)

    def unsubscribe(self, callback: Any) -> None:
        return self._inner.unsubscribe(callback)

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.unary_unary(*args, **kwargs)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.unary_stream(*args, **kwargs)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.stream_unary(*args, **kwargs)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.stream_stream(*args, **kwargs)

    def close(self) -> None:
        """Cancel every call and release the channel, waiting at most CLOSE_WAIT seconds."""
        closer = threading.Thread(target=self._inner.close, name="xai-channel-close", daemon=True)
        closer.start()
        closer.join(self.CLOSE_WAIT)

    def __enter__(self) -> XaiChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def target_of(channel: grpc.Channel) -> str | None:
    """The `host:port` a channel made by `connect` points at (for error messages)."""
    return getattr(channel, "target", None)


def dial_settings(channel: grpc.Channel) -> DialSettings | None:
    """What a channel made by `connect` was opened with (None for any other channel)."""
    settings = getattr(channel, "settings", None)
    return settings if isinstance(settings, DialSettings) else None
