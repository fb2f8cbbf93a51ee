"""A TCP relay on loopback that makes a fast local server look far away.

`LatencyProxy(upstream_port, round_trip=0.2, jitter=0.1)` listens on 127.0.0.1:<free port> and
relays every connection to 127.0.0.1:`upstream_port`, holding each chunk for half the round trip in
each direction, give or take half the jitter (so a round trip costs 200 ± 100 ms, like toxiproxy's
`latency` toxic), never reordering bytes. Bandwidth is not limited:
chunks are pipelined, so a large transfer costs the round trips its flow control needs, no more.
With `answer=False` it accepts connections and never answers (a black hole: the TCP connect works,
the TLS handshake never completes).

The relay runs its own asyncio loop on a daemon thread, so blocking clients (and a client's own
`asyncio.run`) in the test's thread work through it. It closes every connection and stops after
`lifetime` seconds at the latest, so a forgotten proxy cannot outlive its test by much.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from types import TracebackType

READ_SIZE = 64 * 1024


class LatencyProxy:
    """A loopback TCP relay adding `round_trip` seconds (± `jitter`) to every round trip."""

    def __init__(
        self,
        upstream_port: int,
        *,
        round_trip: float,
        jitter: float = 0.0,
        lifetime: float = 60.0,
        answer: bool = True,
        upstream_host: str = "127.0.0.1",
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.one_way = round_trip / 2
        self.one_way_jitter = jitter / 2
        self.lifetime = lifetime
        self.answer = answer
        self.port = 0
        self.connections = 0  # accepted client connections, for tests that count reconnects
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._random = random.Random(0)  # a reproducible jitter sequence

    @property
    def target(self) -> str:
        """`127.0.0.1:PORT`, what a client dials to go through the relay."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> LatencyProxy:
        """Start listening; returns once the port is bound."""
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the latency proxy did not start")
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket; idempotent."""
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the event loop thread ----------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await (self._relay(reader, writer) if self.answer else self._swallow(reader, writer))
            except asyncio.CancelledError:
                writer.close()  # the proxy is stopping: end this connection quietly
            finally:
                tasks.discard(task)

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.lifetime)
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read and drop everything, never answer: a server that accepts and then hangs."""
        try:
            while await reader.read(READ_SIZE):
                pass
        finally:
            writer.close()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        directions = [
            asyncio.ensure_future(self._pipe(client_reader, server_writer)),
            asyncio.ensure_future(self._pipe(server_reader, client_writer)),
        ]
        try:
            await asyncio.gather(*directions)
        except OSError:
            pass  # a reset on either side ends the connection, as it would on a real network
        finally:
            for task in directions:
                task.cancel()
            for writer in (client_writer, server_writer):
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction, each chunk delivered `one_way` (+ jitter) after it arrived, in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        deliver = asyncio.ensure_future(self._deliver(queue, writer))
        last_due = 0.0
        try:
            while True:
                data = await reader.read(READ_SIZE)
                hold = max(0.0, self.one_way + self._random.uniform(-1, 1) * self.one_way_jitter)
                due = max(last_due, time.monotonic() + hold)
                last_due = due
                await queue.put((due, data))
                if not data:
                    break
            await deliver
        finally:
            deliver.cancel()

    @staticmethod
    async def _deliver(queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not data:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
