"""Turn grpc.RpcError into the CLI's domain errors; the only module that reads grpc.StatusCode.

Each error keeps the status name (`NOT_FOUND`) and the server's own message, prefixed by the
operation (`delete file_abc: no such file`), so the one stderr line says what failed and why.

It also tells back-pressure apart from a rule: RESOURCE_EXHAUSTED is both "over 512 MB" (final) and
"too many calls right now" (a concurrency or rate limit, worth repeating later). `is_backpressure`
decides, `BACKPRESSURE` says how long to wait (the server's `grpc-retry-pushback-ms` when it sends
one), and the channel and the uploads repeat such calls. `UNAVAILABLE_BACKOFF` paces the repeats of
calls that found no server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import grpc

from xai_files_cli.errors import (
    AuthError,
    InternalError,
    NotFoundError,
    RejectedError,
    UnavailableError,
    XaiError,
)
from xai_files_cli.record import Record
from xai_files_cli.redact import redact

AUTH_HINT = "run `xai auth login`, set XAI_API_KEY, or use --local"
TIMEOUT_HINT = "the server was too slow; raise the deadline with --timeout SECONDS"
BUSY_HINT = "the server kept turning calls away (a concurrency or rate limit); try again later"

_REJECTED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
}

# Phrases grpc-core uses when no connection could be made: the call never reached a server.
_CONNECT_FAILURES = (
    "failed to connect to all addresses",
    "connection refused",
    "dns resolution failed",
    "name resolution",
    "no route to host",
    "network is unreachable",
)

# Phrases grpc-core uses when a connection attempt ran out of time: a silent or very slow peer,
# which is not a refusal (the connect timeout itself is set in channel.py).
_CONNECT_TIMEOUTS = (
    "timed out",
    "timeout occurred",
    "deadline exceeded",
    "endpoint closing",
)
CONNECT_TIMEOUT_HINT = (
    "the server accepted no connection in time: check the host and port, and whether a firewall or "
    "proxy drops the traffic"
)


# RESOURCE_EXHAUSTED messages that say "later" (checked first), and ones naming a rule that no retry
# can satisfy: a size, space or quota limit. Anything else is taken as back-pressure.
_BACKPRESSURE_PHRASES = (
    "concurrent rpc limit",
    "rate limit",
    "too many requests",
    "try again",
    "overloaded",
    "busy",
)
_RULE_PHRASES = ("larger than", "too large", "too big", "exceed", "maximum", "no space", "disk", "quota")
PUSHBACK_KEY = "grpc-retry-pushback-ms"


def _uniform(low: float, high: float) -> float:
    """A random wait in [low, high] (`random` is imported by the first retry, not at start-up)."""
    import random

    return random.uniform(low, high)


class BackoffPolicy(Record):
    """How a call turned away by back-pressure is repeated: jittered exponential back-off, unless the
    server's pushback says how long to wait. Tests install a faster one as `BACKPRESSURE`."""

    initial: float = 0.25  # seconds, the first wait's upper bound
    multiplier: float = 2.0
    maximum: float = 5.0  # cap of one computed wait
    max_pushback: float = 30.0  # cap of one wait the server asks for
    attempts: int = 10  # calls in all, the first included

    def delay(self, retry: int, error: BaseException) -> float:
        """Seconds to wait before retry number `retry` (1-based) after `error`."""
        pushback = retry_pushback(error)
        if pushback is not None:
            return min(pushback, self.max_pushback)
        ceiling = min(self.maximum, self.initial * self.multiplier ** (retry - 1))
        return ceiling / 2 + _uniform(0, ceiling / 2)  # never ~0: the server just said "not now"


BACKPRESSURE = BackoffPolicy()


class UnavailableBackoff(Record):
    """How long to wait before repeating a call that failed with UNAVAILABLE (a server that is down,
    restarting or unreachable): gRFC A6 jittered back-off, uniform in [0, min(maximum, first * 2^(n-1))].
    The channel's retry policy starts at `first`, FilesClient's restart of a transfer at `restart_first`.
    Tests install shorter waits as `UNAVAILABLE_BACKOFF`."""

    first: float = 0.1  # seconds
    restart_first: float = 0.2
    maximum: float = 1.0

    def delay(self, attempt: int, *, restart: bool = False) -> float:
        """Seconds to wait before retry number `attempt` (1-based); `restart` for a transfer's restart."""
        first = self.restart_first if restart else self.first
        return _uniform(0, min(self.maximum, first * 2 ** (attempt - 1)))


UNAVAILABLE_BACKOFF = UnavailableBackoff()


def status_of(error: BaseException) -> grpc.StatusCode | None:
    """The status code of an RpcError, or None for anything else."""
    code = getattr(error, "code", None)
    if not callable(code):
        return None
    try:
        value = code()
    except Exception:
        return None
    return value if isinstance(value, grpc.StatusCode) else None


def details_of(error: BaseException) -> str:
    """The server's (or gRPC's) status message, empty when there is none."""
    details = getattr(error, "details", None)
    if not callable(details):
        return ""
    try:
        return str(details() or "")
    except Exception:
        return ""


def _pushback_text(error: BaseException) -> str | None:
    """The raw `grpc-retry-pushback-ms` trailer of an RpcError, None when absent."""
    trailing = getattr(error, "trailing_metadata", None)
    if not callable(trailing):
        return None
    try:
        pairs = trailing() or ()
    except Exception:
        return None
    for key, value in pairs:
        if key == PUSHBACK_KEY:
            return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    return None


def retry_pushback(error: BaseException) -> float | None:
    """The wait, in seconds, the server asked for with `grpc-retry-pushback-ms`; None without a valid one."""
    text = _pushback_text(error)
    if text is None or not text.strip().isdigit():
        return None
    return int(text) / 1000


def is_backpressure(error: BaseException) -> bool:
    """True for RESOURCE_EXHAUSTED meaning "not now" (a concurrency or rate limit): worth repeating.

    A pushback trailer decides (a negative or malformed one means "do not retry", as gRPC's own
    retries read it); otherwise the message does: a size, space or quota rule is final, and so is
    our own library's "message larger than max".
    """
    if status_of(error) != grpc.StatusCode.RESOURCE_EXHAUSTED:
        return False
    if _pushback_text(error) is not None:
        return retry_pushback(error) is not None
    text = details_of(error).lower()
    if any(phrase in text for phrase in _BACKPRESSURE_PHRASES):
        return True
    return not any(phrase in text for phrase in _RULE_PHRASES)


def is_unavailable(error: BaseException) -> bool:
    """True for UNAVAILABLE, the only code worth retrying."""
    return status_of(error) == grpc.StatusCode.UNAVAILABLE


def is_not_found(error: BaseException) -> bool:
    """True for NOT_FOUND."""
    return status_of(error) == grpc.StatusCode.NOT_FOUND


def is_deadline(error: BaseException) -> bool:
    """True for DEADLINE_EXCEEDED."""
    return status_of(error) == grpc.StatusCode.DEADLINE_EXCEEDED


def never_reached_server(error: BaseException) -> bool:
    """True when gRPC could not connect at all, so no server saw the call (safe to repeat)."""
    if status_of(error) != grpc.StatusCode.UNAVAILABLE:
        return False
    text = details_of(error).lower()
    return any(phrase in text for phrase in _CONNECT_FAILURES)


def connect_timeout_cause(details: str) -> str | None:
    """What ran out of time when gRPC's connection attempts timed out (per its message), else None.

    gRPC reports a TLS handshake cut short by the connect timeout as "Handshake read failed
    (Endpoint closing)": the closing is its own, while a peer that hangs up gives "Connection reset".
    """
    lowered = details.lower()
    if "failed to connect" not in lowered or not any(phrase in lowered for phrase in _CONNECT_TIMEOUTS):
        return None
    if "handshake" in lowered:
        return "the TLS handshake got no answer in time"
    if "settings" in lowered:
        return "the server did not complete the HTTP/2 set-up in time"
    return "no answer in time"


def _unavailable_message(operation: str, details: str, target: str | None, attempts: int | None) -> str:
    lowered = details.lower()
    where = target or "the server"
    timed_out = connect_timeout_cause(details)
    if timed_out is not None:
        message = f"{operation}: cannot connect to {where}: connect timed out ({timed_out})"
    elif any(word in lowered for word in ("ssl", "tls", "certificate", "handshake", "verification check")):
        message = f"{operation}: TLS handshake with {where} failed: {details}"
    elif "connection refused" in lowered:
        message = f"{operation}: cannot connect to {where}: connection refused"
    elif "dns resolution failed" in lowered or "name resolution" in lowered:
        message = f"{operation}: cannot connect to {where}: host name not resolved"
    elif "failed to connect" in lowered:
        message = f"{operation}: cannot connect to {where}: {details}"
    else:
        message = f"{operation}: server unavailable: {details or 'connection lost'}"
    if attempts and attempts > 1:
        message += f"; gave up after {attempts} attempts"
    return message


def error_from_rpc(
    error: BaseException,
    operation: str,
    *,
    target: str | None = None,
    attempts: int | None = None,
    file_id: str | None = None,
    timeout: float | None = None,
) -> XaiError:
    """Map one gRPC failure to the XaiError subclass that carries its documented exit code.

    Args:
        error: the grpc.RpcError raised by a call.
        operation: what we were doing, e.g. "list files" or "upload report.pdf".
        target: host:port, named in connection errors.
        attempts: how many attempts the retry policy allows (mentioned when UNAVAILABLE persists).
        file_id: the id concerned, kept on the error for --error-format json.
        timeout: the deadline that expired, for DEADLINE_EXCEEDED messages.
    """
    code = status_of(error)
    details = redact(details_of(error))  # a server may echo what it was sent, the key included
    name = code.name if code is not None else "UNKNOWN"
    said = details or name.lower().replace("_", " ")
    common = {"status": name, "file_id": file_id}
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return AuthError(f"{operation}: {said}", hint=AUTH_HINT, **common)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFoundError(f"{operation}: {said}", **common)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in details.lower():
        # Raised by our own gRPC library on a message over the 20 MiB limit: a server fault, not a rule.
        return InternalError(f"{operation}: message too large: {details}", **common)
    if is_backpressure(error):  # still turned away after the retries: exit 5 like any RESOURCE_EXHAUSTED
        busy = RejectedError(f"{operation}: server busy: {said}", hint=BUSY_HINT, **common)
        busy.retryable = True
        return busy
    if code in _REJECTED:
        return RejectedError(f"{operation}: {said}", **common)
    if code == grpc.StatusCode.UNAVAILABLE:
        hint = CONNECT_TIMEOUT_HINT if connect_timeout_cause(details) else None
        return UnavailableError(
            _unavailable_message(operation, details, target, attempts), hint=hint, **common
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        after = f" after {timeout:g} s" if timeout else ""
        return UnavailableError(f"{operation}: timed out{after}", hint=TIMEOUT_HINT, **common)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return InternalError(f"{operation}: not supported by this server", **common)
    return InternalError(f"{operation}: {said}", **common)


@contextlib.contextmanager
def translate(
    operation: str,
    *,
    target: str | None = None,
    attempts: int | None = None,
    file_id: str | None = None,
    timeout: float | None = None,
) -> Iterator[None]:
    """Run a block of gRPC calls, re-raising any RpcError as the matching XaiError."""
    try:
        yield
    except grpc.RpcError as error:
        raise error_from_rpc(
            error, operation, target=target, attempts=attempts, file_id=file_id, timeout=timeout
        ) from error
