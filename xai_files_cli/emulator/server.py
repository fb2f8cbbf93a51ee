"""Build, start and stop the emulator's gRPC server (Files, plus Chat/Models when available).

Transport settings are what the official SDK needs of a server: a plaintext port on loopback (the
SDK uses gRPC *local* credentials for `localhost:` targets, which work against it), or TLS when a
certificate and key are configured (`xai serve --tls-cert PEM --tls-key PEM`), 20 MiB
message limits (the handlers enforce the receive limit: see `TRANSPORT_RECEIVE_BYTES`), keepalive
rules that accept the SDK's 30 s pings, no SO_REUSEPORT (a taken port is an error, never a silently
shared one), and `maximum_concurrent_rpcs` (the excess gets RESOURCE_EXHAUSTED instead of queueing).

The server is a grpc.aio one on an event-loop thread of its own (loop_server.py): UploadFile runs on
that loop, its commit (with the fsync) on a bounded thread pool, which also runs every other handler
as blocking code (sync_bridge.py).
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from xai_files_cli.emulator.auth import AuthInterceptor, blank_key_problem
from xai_files_cli.emulator.decoding import DecodeErrorInterceptor
from xai_files_cli.emulator.faults import ENV_VAR as FAULTS_ENV_VAR
from xai_files_cli.emulator.faults import FaultPlan
from xai_files_cli.emulator.files_service import FilesServicer, add_files_servicer
from xai_files_cli.emulator.loop_server import LoopServer
from xai_files_cli.emulator.pdf_text import PdfLimits
from xai_files_cli.emulator.public_http import (
    PUBLIC_HOST,
    PublicLinks,
    data_dir_public_base,
    start_public_links,
)
from xai_files_cli.emulator.storage import DEFAULT_MAX_FILE_SIZE, DataDirError, Storage, UnlistedBlobsError
from xai_files_cli.errors import InternalError, UsageError, XaiError
from xai_files_cli.security import is_loopback

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("xai.emulator")

MIB = 1024 * 1024
MAX_MESSAGE_BYTES = 20 * MIB
# The transport lets request messages somewhat above the limit through, and every handler refuses
# them itself (decoding.py) with the status and words grpc would use: a message the transport
# refuses ends an upload's request stream just like the client's half-close, and the cancellation
# that tells the two apart may arrive only after the upload was committed. Only messages above this
# larger bound are still left to the transport. It raises the bound on the memory one call's request
# message can take by a fifth (with 128 calls in flight: 3 GiB of messages instead of 2.5 GiB).
TRANSPORT_RECEIVE_BYTES = 24 * MIB
DEFAULT_MAX_CONCURRENT_RPCS = 128
SWEEP_INTERVAL_SECONDS = 60.0


class BindError(XaiError):
    """The server could not listen on the requested address (e.g. the port is taken)."""


@dataclass
class ServerConfig:
    """Everything that defines one emulator instance.

    Attributes:
        data_dir: where the database and blobs live (created 0700 if missing).
        api_key: the key clients must send as `authorization: Bearer <key>`; None disables
            auth and is only allowed on loopback (`xai serve --no-auth`).
        max_file_size: upload limit in bytes (512 * 10^6, as the real service).
        max_concurrent_rpcs: calls in flight at once (also the thread-pool size); more get
            RESOURCE_EXHAUSTED.
        faults: test-only fault plan (faults.py); None = off. Refused on non-loopback binds.
        allow_non_loopback: must be True to bind anything but a loopback address.
        tls_cert: PEM certificate chain; with `tls_key`, the port speaks TLS instead of plaintext.
        tls_key: PEM private key of `tls_cert` (never shown in reprs).
        clock: nanosecond clock used for created_at/expiry (tests inject a fake one).
        pdf_limits: time, page and memory bounds of one PDF text extraction (chat, text download).
        serve_public_links: also serve the data dir's public links over HTTP on 127.0.0.1
            (`xai serve`); otherwise links point at the port recorded for the data dir
            (public_http.py).
        public_port: the port for them: None = the data dir's recorded one (a free one the first
            time), 0 = a free one, N = N (recorded for later runs either way).
    """

    data_dir: Path
    api_key: str | None = field(repr=False)  # never in reprs, logs or tracebacks
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_concurrent_rpcs: int = DEFAULT_MAX_CONCURRENT_RPCS
    faults: FaultPlan | None = None
    allow_non_loopback: bool = False
    clock: Callable[[], int] | None = field(default=None, repr=False)
    tls_cert: bytes | None = field(default=None, repr=False)
    tls_key: bytes | None = field(default=None, repr=False)
    pdf_limits: PdfLimits = field(default_factory=PdfLimits)
    serve_public_links: bool = False
    public_port: int | None = None


@dataclass
class RunningServer:
    """A started emulator. `target` is what clients dial (`127.0.0.1:PORT`)."""

    server: LoopServer
    host: str
    port: int
    api_key: str | None
    data_dir: Path
    storage: Storage
    faults: FaultPlan | None
    _executor: futures.ThreadPoolExecutor
    _stop_sweeper: threading.Event
    tls: bool = False
    public_links: PublicLinks | None = None  # the HTTP server of public links, when serving them
    _stopped: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __repr__(self) -> str:  # the API key must never show up in test output or logs
        return f"RunningServer(target={self.target!r}, data_dir={str(self.data_dir)!r})"

    def stop(self, grace: float | None = None) -> None:
        """Stop serving: new calls are refused at once, in-flight calls get `grace` seconds
        (None: aborted immediately), then the database is closed. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop_sweeper.set()
        if self.public_links is not None:
            self.public_links.stop()
        stopped = self.server.begin_stop(grace)  # the port is closed now; calls in flight keep running
        log.info("stopping: new calls are refused; calls in flight get %g s", grace or 0)
        stopped.result()
        self.server.close_loop()
        # Handlers notice the cancellation at their next read/write; give them a moment to clean up.
        waiter = threading.Thread(target=self._executor.shutdown, kwargs={"wait": True}, daemon=True)
        waiter.start()
        waiter.join(timeout=5.0)
        self.storage.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server terminates or `timeout` passes; True when it timed out (grpc's
        convention), False once the server has terminated."""
        return self.server.wait_for_termination(timeout)


def server_options(
    max_message_bytes: int = MAX_MESSAGE_BYTES, receive_bytes: int = TRANSPORT_RECEIVE_BYTES
) -> list[tuple[str, int]]:
    """Channel arguments of the server (see the module docstring): responses up to
    `max_message_bytes`, requests up to `receive_bytes` (the handlers refuse what is above the former)."""
    return [
        ("grpc.max_receive_message_length", receive_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 0),
        ("grpc.so_reuseport", 0),
    ]


def tls_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """Server TLS credentials from the config's PEM cert and key; None for plaintext.

    Raises UsageError when only one of the two is given or either is not PEM.
    """
    if config.tls_cert is None and config.tls_key is None:
        return None
    if not config.tls_cert or not config.tls_key:
        raise UsageError("TLS needs both a certificate and its private key")
    if b"-----BEGIN CERTIFICATE-----" not in config.tls_cert:
        raise UsageError("the TLS certificate is not a PEM certificate")
    if b"PRIVATE KEY-----" not in config.tls_key:
        raise UsageError("the TLS key is not a PEM private key")
    return grpc.ssl_server_credentials([(config.tls_key, config.tls_cert)])


def faults_from_env() -> FaultPlan | None:
    """A fault plan from XAI_EMULATOR_FAULTS, or None when unset/empty."""
    spec = os.environ.get(FAULTS_ENV_VAR, "").strip()
    return FaultPlan.parse([spec]) if spec else None


def start_server(config: ServerConfig, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Open the store, bind `host:port` (0 = any free port) and start serving.

    Raises UsageError for a refused configuration (non-loopback without permission or key,
    faults on a non-loopback bind) and BindError when the address cannot be bound.
    """
    if config.api_key is not None and (problem := blank_key_problem(config.api_key)):
        raise UsageError(problem)
    loopback = is_loopback(host)
    if not loopback:
        if not config.allow_non_loopback:
            raise UsageError(f"refusing to bind non-loopback address {host!r} without an explicit flag")
        if not config.api_key:
            raise UsageError("an API key is required when binding a non-loopback address")
        if config.faults is not None:
            raise UsageError("fault injection is only available on a loopback bind")
    credentials = tls_credentials(config)
    storage = open_storage(config)
    interceptors: list[grpc.aio.ServerInterceptor] = []
    if config.faults is not None:
        interceptors.append(config.faults.interceptor())  # outermost: counts every call
    if config.api_key is not None:
        interceptors.append(AuthInterceptor(config.api_key))
    interceptors.append(DecodeErrorInterceptor(MAX_MESSAGE_BYTES))  # innermost: auth is decided first
    executor = futures.ThreadPoolExecutor(
        max_workers=config.max_concurrent_rpcs, thread_name_prefix="xai-emulator"
    )
    try:
        public_links = start_public_links(storage, config.public_port) if config.serve_public_links else None
    except OSError as error:
        storage.close()
        executor.shutdown(wait=False)
        raise BindError(
            f"cannot serve public links on {PUBLIC_HOST}:{config.public_port}: {error.strerror or error}"
        ) from None
    server = LoopServer(
        executor,
        interceptors=interceptors,
        options=server_options(),
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
    )
    servicer = FilesServicer(storage, _public_url_base(storage, public_links), config.pdf_limits, executor)
    add_files_servicer(servicer, server)
    _register_extra_services(server, storage, config.pdf_limits)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if credentials is not None:
            actual = server.add_secure_port(address, credentials)
        else:
            actual = server.add_insecure_port(address)
    except RuntimeError:
        actual = 0
    if not actual or (port and actual != port):
        if public_links is not None:
            public_links.stop()
        server.stop(None)
        storage.close()
        executor.shutdown(wait=False)
        raise BindError(f"cannot listen on {address}: address in use or unavailable")
    server.start()
    stop_sweeper = threading.Event()
    running = RunningServer(
        server=server,
        host=host,
        port=actual,
        api_key=config.api_key,
        data_dir=Path(config.data_dir),
        storage=storage,
        faults=config.faults,
        _executor=executor,
        _stop_sweeper=stop_sweeper,
        tls=credentials is not None,
        public_links=public_links,
    )
    threading.Thread(
        target=_sweep_periodically, args=(storage, stop_sweeper), name="xai-emulator-sweeper", daemon=True
    ).start()
    return running


def _public_url_base(storage: Storage, public_links: PublicLinks | None) -> Callable[[], str]:
    """Where this server's public links point: its own HTTP server, or the data dir's recorded port."""
    if public_links is not None:
        base = public_links.base_url
        return lambda: base
    return functools.partial(data_dir_public_base, storage)


def open_storage(config: ServerConfig) -> Storage:
    """The config's store; an unusable data dir is a one-line error, never a traceback.

    Raises UsageError when the dir cannot be created or opened (a file, no permission, a symlinked
    or foreign subdirectory) and InternalError when the database in it is damaged, or is missing
    or empty while stored blobs exist (nothing is deleted then).
    """
    try:
        return Storage(
            config.data_dir,
            max_file_size=config.max_file_size,
            **({"clock": config.clock} if config.clock is not None else {}),
        )
    except DataDirError as error:
        message = f"cannot use the data dir {config.data_dir}: {error}"
        raise UsageError(message, path=str(config.data_dir)) from None
    except UnlistedBlobsError as error:
        raise InternalError(str(error), path=str(config.data_dir)) from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(
            f"cannot use the data dir {config.data_dir}: {reason}", path=str(config.data_dir)
        ) from None
    except sqlite3.Error as error:
        raise InternalError(
            f"cannot open the database in {config.data_dir}: {error}", path=str(config.data_dir)
        ) from None


def _sweep_periodically(storage: Storage, stop: threading.Event) -> None:
    """Delete expired files every minute until the server stops (reads also hide them lazily)."""
    while not stop.wait(SWEEP_INTERVAL_SECONDS):
        try:
            storage.sweep_expired()
        except Exception:  # keep sweeping; a busy database now is fine later
            log.warning("expiry sweep failed", exc_info=True)


def _register_extra_services(server: LoopServer, storage: Storage, pdf_limits: PdfLimits) -> None:
    """Add Chat/Models services when the chat_service module exists (written separately)."""
    try:
        from xai_files_cli.emulator.chat_service import register as register_chat
    except ModuleNotFoundError as error:
        if error.name != "xai_files_cli.emulator.chat_service":
            raise
        return
    register_chat(server, storage, pdf_limits)


def serve_until_signalled(
    running: RunningServer, grace: float = 5.0, on_ready: Callable[[], None] | None = None
) -> int:
    """Serve until SIGINT/SIGTERM, then shut down gracefully; a second signal exits at once.

    `on_ready` runs once the signal handlers are in place (announce the server there, so a
    signal sent as soon as the announcement is seen is always handled gracefully). Must be
    called from the main thread. Returns the exit code (0 after a graceful stop).
    """
    import signal

    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if received:
            os._exit(128 + signum)  # second signal: no more waiting
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if on_ready is not None:
            on_ready()
        while not stop.wait(0.5):
            pass
        running.stop(grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
