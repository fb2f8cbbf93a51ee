"""Public links of the local server, served over plain HTTP on a loopback port by `xai serve`.

A public URL is `http://127.0.0.1:<public port>/public/<token>`. Each data dir has one public port,
recorded in its database: the first `xai serve` on it picks a free port (or takes `--public-port
N`), and every later `xai serve` on the same data dir binds the same port again, so a link stays
valid across restarts. `xai --local` runs (which serve no HTTP) make links on that recorded port
too, reserving a free one if none is recorded yet, so a link shared with `--local` opens as soon as
`xai serve` runs on the same data dir. If the recorded port is taken when `xai serve` starts
without `--public-port`, it picks a free port and moves every stored link there (and says so).

The server answers GET and HEAD of /public/<token> with the file's bytes: Content-Type (the type
sniffed from the content and name at upload), Content-Length, single byte ranges (206, or 416 when
unsatisfiable; several ranges get the whole file), and 404 for unknown, revoked or expired links
and deleted files. It streams from the blob with sendfile (memory stays flat whatever the size),
serves each connection on its own thread, at most MAX_CONNECTIONS at once (more get 503 at once),
and drops a connection idle for IDLE_TIMEOUT seconds. It listens on 127.0.0.1 only, whatever
address the gRPC port is on: links carry no credentials.
"""

from __future__ import annotations

import contextlib
import logging
import re
import selectors
import socket
import socketserver
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO

from xai_files_cli.emulator.storage import BlobLostError, FileRecord, Storage

log = logging.getLogger("xai.emulator")

PUBLIC_HOST = "127.0.0.1"
PUBLIC_PATH = "/public/"
MAX_CONNECTIONS = 32
IDLE_TIMEOUT = 15.0
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_BUSY_REPLY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
)


class Unsatisfiable(Exception):
    """The Range header asks only for bytes past the end of the file."""


def public_base(port: int) -> str:
    """The URL every public link of a data dir served on `port` starts with."""
    return f"http://{PUBLIC_HOST}:{port}{PUBLIC_PATH}"


def data_dir_public_base(storage: Storage) -> str:
    """The public-link base of the data dir, for a server that does not serve HTTP itself.

    Uses the recorded port, or reserves a free one (which `xai serve` will then bind).
    """
    port = storage.public_port()
    if port is None:
        port = storage.claim_public_port(_free_port())
    return public_base(port)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions a Range header asks for, or None for the whole file.

    Only one `bytes=` range is honoured; a header that is malformed or lists several ranges is
    ignored (the whole file is sent), as HTTP allows. Raises Unsatisfiable when the range starts
    past the end (or asks for the last 0 bytes).
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first_text, last_text = match.groups()
    if not first_text:  # "bytes=-N": the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # syntactically invalid: ignored
    if first >= size:
        raise Unsatisfiable
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def content_disposition(filename: str) -> str:
    """`inline` with the file's name, percent-encoded (RFC 6266/8187) so any name is a safe header."""
    return "inline; filename*=UTF-8''" + urllib.parse.quote(filename, safe="")


class PublicLinkHandler(BaseHTTPRequestHandler):
    """GET/HEAD of /public/<token>; everything else is 404 (or 501 for other methods)."""

    server: PublicLinkServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def version_string(self) -> str:
        return "xai-local"

    def do_GET(self) -> None:  # the name http.server dispatches to
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("public link: " + format, *args)

    def _serve(self, *, send_body: bool) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if not path.startswith(PUBLIC_PATH):
            self._reply_text(404, "not found\n", send_body)
            return
        try:
            found = self.server.storage.open_public(path[len(PUBLIC_PATH) :])
        except BlobLostError as error:
            self._reply_text(500, f"{error}\n", send_body)
            return
        if found is None:
            self._reply_text(404, "no such public link (never made, revoked or expired)\n", send_body)
            return
        record, blob = found
        with blob:
            self._send_file(record, blob, send_body)

    def _send_file(self, record: FileRecord, blob: BinaryIO, send_body: bool) -> None:
        size = record.size
        try:
            wanted = byte_range(self.headers.get("Range"), size) if "If-Range" not in self.headers else None
        except Unsatisfiable:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        first, last = wanted if wanted is not None else (0, size - 1)
        self.send_response(206 if wanted is not None else 200)
        self.send_header("Content-Type", record.content_type)
        self.send_header("Content-Length", str(last - first + 1))
        if wanted is not None:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Disposition", content_disposition(record.filename))
        self.send_header("Cache-Control", "no-store")  # a revoked link must stop working at once
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body and last >= first:
            self.connection.sendfile(blob, offset=first, count=last - first + 1)

    def _reply_text(self, status: int, text: str, send_body: bool) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class PublicLinkServer(ThreadingHTTPServer):
    """The HTTP server of one data dir's public links: a thread per connection, bounded."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, storage: Storage, port: int, max_connections: int = MAX_CONNECTIONS) -> None:
        self.storage = storage
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__((PUBLIC_HOST, port), PublicLinkHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse lookup of the address (getfqdn can stall on DNS)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = PUBLIC_HOST, self.port

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        return public_base(self.port)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(_BUSY_REPLY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # the thread did not start
            raise

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("public link: connection from %s ended with an error", client_address, exc_info=True)


class PublicLinks:
    """A running public-link server: `base_url` is what links start with; `stop()` ends it."""

    def __init__(self, server: PublicLinkServer, moved_from: int | None) -> None:
        self.server = server
        self.moved_from = moved_from  # the recorded port that was taken, when the links moved
        self._wake, self._waker = socket.socketpair()  # a byte on it ends the accept loop at once
        self._thread = threading.Thread(target=self._accept_loop, name="xai-public-links", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def _accept_loop(self) -> None:
        """Accept connections until `stop()` (socketserver's serve_forever would poll for that)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.server, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is self._wake for key, _ in ready):
                    return
                # socketserver's own accept-and-dispatch step (errors handled there); the type stubs
                # leave private methods out.
                self.server._handle_request_noblock()  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Stop accepting connections and close the listening socket (connections in flight end on
        their own: their threads are daemons)."""
        with contextlib.suppress(OSError):
            self._waker.send(b"x")
        self._thread.join(timeout=5)
        self.server.server_close()
        self._wake.close()
        self._waker.close()


def start_public_links(storage: Storage, requested_port: int | None) -> PublicLinks:
    """Serve the data dir's public links on 127.0.0.1 and record the port in the data dir.

    `requested_port` None means the recorded port (a free one the first time, or when the recorded
    one is taken: the links then move, see the module docstring); 0 means a free port. Raises
    OSError when an explicitly requested port cannot be bound.
    """
    recorded = storage.public_port()
    port = requested_port if requested_port is not None else (recorded or 0)
    moved_from = None
    try:
        server = PublicLinkServer(storage, port)
    except OSError:
        if requested_port is not None or not port:
            raise
        server = PublicLinkServer(storage, 0)
        moved_from = port
    try:
        storage.move_public_links(server.port, server.base_url)
    except BaseException:
        server.server_close()
        raise
    return PublicLinks(server, moved_from)


def _free_port() -> int:
    """A port free on the loopback address right now (for a link whose server starts later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((PUBLIC_HOST, 0))
        return int(probe.getsockname()[1])
