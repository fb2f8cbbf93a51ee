"""A TCP relay on loopback whose server-to-client direction stalls, like a stuck middlebox.

`StallProxy(upstream_port, limit=4_000_000, hold=1.0)` listens on 127.0.0.1:<free port> and relays
each connection to 127.0.0.1:`upstream_port`. The client's bytes always go through; of the server's,
each connection gets its first `limit` bytes, then nothing more: the relay stops reading from the
server and, after `hold` seconds, closes that connection (the client sees it break). With
`hold=None` a stalled connection stays open until the proxy stops. `stalls` counts the connections
that reached their limit; `stalled` is set at the first.

Plain threads (two per connection) that block on their sockets or on an Event: nothing polls. The
proxy stops after `lifetime` seconds at the latest, so a forgotten one cannot outlive its test by much.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

READ_SIZE = 64 * 1024


class StallProxy:
    """A loopback TCP relay that stops forwarding the server's bytes after `limit` per connection."""

    def __init__(
        self, upstream_port: int, *, limit: int, hold: float | None = None, lifetime: float = 60.0
    ) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.limit = limit
        self.hold = hold
        self.lifetime = lifetime
        self.connections = 0
        self.stalls = 0
        self.stalled = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    @property
    def target(self) -> str:
        """`127.0.0.1:PORT`, what a client dials to go through the relay."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> StallProxy:
        self._spawn(self._accept)
        self._spawn(self._expire)
        return self

    def stop(self) -> None:
        """Close the listener and every connection; idempotent."""
        self._stopping.set()
        with self._lock:
            sockets = [self._listener, *self._sockets]
        for sock in sockets:
            _close(sock)
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(5)

    def __enter__(self) -> StallProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name="stall-proxy", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _expire(self) -> None:
        if not self._stopping.wait(self.lifetime):
            self.stop()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self.connections += 1
                self._sockets += [client, server]
            self._spawn(self._forward, client, server)
            self._spawn(self._forward_then_stall, server, client)

    def _forward(self, source: socket.socket, sink: socket.socket) -> None:
        """Client to server: everything, until either side closes."""
        with contextlib.suppress(OSError):
            while data := source.recv(READ_SIZE):
                sink.sendall(data)
        _close(source, sink)

    def _forward_then_stall(self, source: socket.socket, sink: socket.socket) -> None:
        """Server to client: the first `limit` bytes, then nothing for `hold` seconds, then close."""
        room = self.limit
        with contextlib.suppress(OSError):
            while room > 0 and (data := source.recv(min(READ_SIZE, room))):
                sink.sendall(data)
                room -= len(data)
        if room <= 0:
            with self._lock:
                self.stalls += 1
            self.stalled.set()
            self._stopping.wait(self.hold)
        _close(source, sink)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
