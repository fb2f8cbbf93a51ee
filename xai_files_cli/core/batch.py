"""Batch upload on grpc.aio: many files driven from one asyncio loop in the calling thread.

A blocking stream-unary call costs two threads, and with 50 in flight that CPU is what a batch of
small files spends; so a batch runs its uploads over a grpc.aio twin of the client's channel. Each
upload follows the blocking upload's rules (`core.upload`); only the waiting differs.

- Items are pulled lazily, at most `concurrency` under way at once; how many of them have a call in
  flight is up to `_Window`, which gives way while the server pushes back.
- A failed item never stops the others; each result is handed over in the calling thread.
- Ctrl-C or SIGTERM (in the main thread) stops the batch without a traceback: uploads not sent in
  full are cancelled (nothing stored), those sent in full get the client's `interrupt_grace` for
  their answer, and what the server stored meanwhile is deleted again or named in the report.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sized
from typing import TYPE_CHECKING, Any

import grpc

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.core import rpc, tracing
from xai_files_cli.core.aio_status import FirstStatus
from xai_files_cli.core.channel import DialSettings
from xai_files_cli.core.content_hash import HashingSource
from xai_files_cli.core.records import FileInfo, UploadItem, UploadResult
from xai_files_cli.core.transfer import NullProgress, Progress, ShareProgress
from xai_files_cli.core.upload import (
    Notice,
    UploadAttempts,
    UploadBody,
    check_name,
    check_size,
    discard,
    interrupt_report,
)
from xai_files_cli.errors import InternalError, Interrupted, UnavailableError, XaiError

if TYPE_CHECKING:
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.upload_plan import UploadJournal

log = logging.getLogger("xai.files")

# A batch reads files up to this size on its event loop, and larger ones in a worker thread.
INLINE_READ_BYTES = 256 * 1024
UPLOAD_METHOD = "/xai_api.Files/UploadFile"
CANCEL_POLL = 0.1  # seconds between checks of FilesClient.cancel while a batch waits

OnResult = Callable[[UploadResult], None]
OnDone = Callable[[UploadItem, "FileInfo | None", "BaseException | None", "_Outcome"], None]


def upload_all(
    client: FilesClient,
    dial: DialSettings,
    items: Iterable[UploadItem],
    *,
    concurrency: int,
    expires_after: int | None,
    on_result: OnResult | None,
    progress: Progress | None,
    on_notice: Notice | None,
    journal: UploadJournal | None = None,
) -> list[UploadResult]:
    """Upload `items` through `client` over a grpc.aio channel opened with `dial`; one result each,
    handed to `on_result` as it comes (then none is kept: the list returned is empty) or returned.

    `progress` gets the bytes of all items together (its total is known only for a sized
    collection). Each result carries the SHA-256 of what was sent (hashed in the same read) and
    the item's seconds; `journal` (the upload index) is written before and after each upload.
    A signal, or `client.cancel` set from another thread, raises Interrupted.
    """
    overall = progress or NullProgress()
    overall.start(*(_total_of(items) if not isinstance(overall, NullProgress) else (None, "files")))
    results: list[UploadResult] = []
    uploaded = False

    def done(item: UploadItem, info: FileInfo | None, error: BaseException | None, outcome: _Outcome) -> None:
        nonlocal uploaded
        result = _result_of(item, info, error, outcome)
        uploaded = uploaded or result.ok
        if on_result is None:
            results.append(result)
        else:
            on_result(result)  # handed over, not kept: memory stays flat however many items there are

    batch = _Batch(
        client, dial, expires_after=expires_after, progress=overall, on_notice=on_notice, journal=journal
    )
    try:
        signum = _run_until_signal(
            batch.run(items, concurrency=concurrency, on_done=done), on_signal=batch.grant_grace
        )
        if signum is not None:
            raise batch.interrupted(signum, uploaded=uploaded)
    finally:
        overall.finish()
    return results


def _total_of(items: Iterable[UploadItem]) -> tuple[int | None, str]:
    """The bytes of all items and a label for the progress display; no total for a generator.
    Items that write as they are handed out (`upload_plan.PreparedItems`) are looked at unprepared."""
    if not isinstance(items, Sized):
        return None, "files"
    total = 0
    for item in getattr(items, "unprepared", items):
        with contextlib.suppress(OSError):
            total += item.path.stat().st_size
    return total, f"{len(items)} files"


class _Outcome:
    """What an item task leaves besides its FileInfo: when it started, the hash of what it sent."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.sha256: str | None = None

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def _result_of(
    item: UploadItem, info: FileInfo | None, error: BaseException | None, outcome: _Outcome
) -> UploadResult:
    """One item's result; an unexpected failure becomes an InternalError, and every error names the path."""
    if error is not None and not isinstance(error, XaiError):
        error = InternalError(f"upload {item.filename}: {error}", path=str(item.path))
    if isinstance(error, XaiError) and error.path is None:
        error.path = str(item.path)
    return UploadResult(
        item=item,
        file=info,
        error=error,
        sha256=outcome.sha256 if info is not None else None,
        seconds=outcome.seconds,
    )


class _Batch:
    """One batch upload on grpc.aio: at most `concurrency` item tasks, all on one aio channel.

    Runs inside `asyncio.run` in the thread that called `upload_all`, so `on_done` (and with it
    `on_result`) runs in that thread.
    """

    def __init__(
        self,
        client: FilesClient,
        dial: DialSettings,
        *,
        expires_after: int | None,
        progress: Progress,
        on_notice: Notice | None,
        journal: UploadJournal | None = None,
    ) -> None:
        self._client = client
        self._dial = dial
        self._expires_after = expires_after
        self._progress = progress
        self._on_notice = on_notice
        self._journal = journal
        self._window = _Window(1)  # replaced by `run`, sized by its concurrency
        # Settling a signal (`_spare_sent`): the grace it grants, each item task's current body, and
        # the items the server stored or left unanswered meanwhile (`interrupted` reports them).
        self._grace = 0.0
        self._bodies: dict[Any, UploadBody] = {}
        self._stored_late: list[tuple[UploadItem, FileInfo]] = []
        self._unanswered: list[UploadItem] = []

    def grant_grace(self) -> None:
        """On a signal: no upload may start or end its stream now; those sent in full get a grace."""
        self._client.cancel.set()
        self._grace = self._client.interrupt_grace

    def interrupted(self, signum: int, *, uploaded: bool) -> Interrupted:
        """The error for a batch stopped by a signal, after deleting what was stored in its grace."""
        stored = [(item.filename, info.id) for item, info in self._stored_late]
        deleted, failed = discard(self._client.delete, stored)
        if self._journal is not None:
            self._journal.discarded(deleted)
        return interrupt_report(
            signum == signal.SIGTERM,
            deleted=deleted,
            failed=failed,
            unanswered=[item.filename for item in self._unanswered],
            otherwise="nothing else uploaded" if uploaded else "nothing uploaded",
        )

    async def run(
        self,
        items: Iterable[UploadItem],
        *,
        concurrency: int,
        on_done: OnDone,
    ) -> None:
        """Upload every item, starting one as another finishes; cancel the rest on any escape."""
        self._window = _Window(concurrency)
        channel = self._dial.open_aio()
        stub = files_pb2_grpc.FilesStub(channel)
        source = iter(items)
        running: dict[asyncio.Future[FileInfo], UploadItem] = {}
        outcomes: dict[asyncio.Future[FileInfo], _Outcome] = {}
        finished = _Finished()
        cancel = self._client.cancel
        loop = asyncio.get_running_loop()
        try:
            exhausted = False
            while True:
                while not exhausted and len(running) < concurrency:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    outcome = _Outcome()
                    started = loop.create_task(self._upload(stub, item, outcome))
                    started.add_done_callback(finished.add)
                    running[started], outcomes[started] = item, outcome
                if not running:
                    break
                await finished.wait(CANCEL_POLL)
                if cancel.is_set():
                    raise Interrupted("interrupted")
                if self._journal is not None:
                    self._journal.write_due()
                while finished.tasks:
                    task = finished.tasks.popleft()
                    item = running.pop(task)
                    self._bodies.pop(task, None)  # only the bodies of uploads under way are kept
                    error = task.exception()  # a cancelled task raises CancelledError here: it propagates
                    if error is not None and not isinstance(error, Exception):
                        raise error  # KeyboardInterrupt or a termination signal that landed in the task
                    on_done(item, None if error is not None else task.result(), error, outcomes.pop(task))
        finally:
            try:
                await self._spare_sent(running)
                for task in running:
                    task.cancel()
                if running:  # let each cancellation reach its call (the server sees CANCELLED)
                    await asyncio.wait(running)
            finally:
                await channel.close()

    async def _spare_sent(self, running: dict[asyncio.Future[FileInfo], UploadItem]) -> None:
        """After a signal, give each upload that sent its last byte the grace for its answer.

        Every body is sealed first, so no other upload can end its stream (`client.cancel`, set by
        the signal, stops any not yet begun). The server may be storing those sent in full: each one
        it stores goes to `_stored_late`, each left without an answer to `_unanswered`. A second
        signal ends the wait. Without a signal, nothing waits.
        """
        if self._grace <= 0:
            return
        sent = {}
        for task, item in running.items():
            task.add_done_callback(_retrieve)  # those that fail now fail quietly: they stored nothing
            body = self._bodies.get(task)
            if body is not None and body.seal():
                sent[task] = item
        if not sent:
            return
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(sent, timeout=self._grace)
        for task, item in sent.items():
            error = task.exception() if task.done() and not task.cancelled() else None
            if not task.done() or isinstance(error, UnavailableError):  # the outcome is unknown
                self._unanswered.append(item)
            elif not task.cancelled() and error is None:
                self._stored_late.append((item, task.result()))

    async def _upload(self, stub: files_pb2_grpc.FilesStub, item: UploadItem, outcome: _Outcome) -> FileInfo:
        """One item, with the blocking `upload`'s checks, restarts and size checks; the journal gets
        a pending row before the first byte and the stored file after the answer."""
        name = item.filename
        check_name(name)
        # Files above INLINE_READ_BYTES are read in worker threads, so hashed there, off the loop.
        with HashingSource.open_path(item.path, hash_in_thread=False) as src:
            check_size(src)
            journal = self._journal
            if journal is None:
                info = await self._send_item(stub, src, name)
                outcome.sha256 = src.hexdigest()
                return info
            written = journal.started(item, src)
            if not isinstance(written, concurrent.futures.Future):  # its pending row came with the batch's
                ticket = written
            else:
                try:
                    ticket = await asyncio.shield(asyncio.wrap_future(written))
                except asyncio.CancelledError:
                    journal.abandoned(written)
                    raise
            try:
                info = await self._send_item(stub, src, name)
            except BaseException as error:
                journal.failed(ticket, src, error)
                raise
            outcome.sha256 = journal.stored(ticket, src, info)
            return info

    async def _send_item(self, stub: files_pb2_grpc.FilesStub, src: HashingSource, name: str) -> FileInfo:
        """The attempts of one item's upload (restarts after a broken connection or back-pressure)."""
        client = self._client
        progress = ShareProgress(self._progress)
        attempts = UploadAttempts(
            src,
            name,
            self._expires_after,
            progress=progress,
            cancel=client.cancel,
            timeout=client.transfer_timeout(src.size),
            target=client.target,
            on_notice=self._on_notice,
        )
        inline = src.size is not None and src.size <= INLINE_READ_BYTES
        window = self._window
        # An item's share of the batch's progress has nothing to start or finish: `upload_all`
        # started the whole batch's, and `restart_delay` rolls back this item's bytes.
        while True:
            body = attempts.body()
            self._bodies[asyncio.current_task()] = body
            started_in = await window.enter()
            try:
                reply = await _send(stub, body, attempts.timeout, inline=inline, target=client.target)
            except grpc.RpcError as error:  # grpc.aio.AioRpcError
                window.leave(started_in, error)
                await asyncio.sleep(attempts.restart_delay(error, body))
                continue
            except BaseException:
                window.leave(started_in, None)
                raise
            window.leave(started_in, None, succeeded=True)
            return attempts.accept(reply, body)


class _Finished:
    """The item tasks that finished, in the order they did, and a wait for the next (a callback
    each task calls once, instead of `asyncio.wait` hooking every running task at each wait)."""

    def __init__(self) -> None:
        self.tasks: collections.deque[asyncio.Future[FileInfo]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def add(self, task: asyncio.Future[FileInfo]) -> None:
        self.tasks.append(task)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until a task has finished (at once if one has), or `timeout` seconds have passed."""
        if self.tasks:
            return
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(timeout, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a task's outcome as seen, so asyncio never logs it as an unretrieved exception."""
    if not task.cancelled():
        task.exception()


async def _send(
    stub: files_pb2_grpc.FilesStub,
    body: UploadBody,
    timeout: float,
    *,
    inline: bool,
    target: str | None = None,
) -> files_pb2.File:
    """One UploadFile attempt on grpc.aio: write `body`'s messages, then wait for the reply.

    A write refused because the call already ended stops the writing; awaiting the call then raises
    its status (an AioRpcError). A local failure (read error, file changed, cancel) or our own
    cancellation cancels the call before propagating, so the server never stores a partial file.
    Each attempt gets its `-v` line and, when tracing is on, its span (`tracing.CallRecord`).
    """
    call = stub.UploadFile(timeout=timeout)
    status = FirstStatus(call)
    record = tracing.CallRecord(UPLOAD_METHOD, target, log=True)
    traced = record.traced
    try:
        messages = iter(body)
        while (message := next(messages, None) if inline else await _in_thread(messages)) is not None:
            if traced:
                record.request(message)
            try:
                await call.write(message)
            except (grpc.RpcError, asyncio.InvalidStateError):
                break  # the call is over; its status comes from awaiting it below
        else:
            try:  # noqa: SIM105 (not contextlib.suppress: three more calls per file of a batch)
                await call.done_writing()
            except (grpc.RpcError, asyncio.InvalidStateError):
                pass  # the call is over; its status comes from awaiting it below
        try:
            reply: files_pb2.File = await call
        except grpc.RpcError as error:
            settled = status.true_error(error)
            record.finish_with(settled)
            raise settled from None
        record.response(reply)
        record.finish(grpc.StatusCode.OK)
        return reply
    except BaseException:
        call.cancel()  # a no-op once the call is over
        record.finish(grpc.StatusCode.CANCELLED)  # ignored when the outcome is already recorded
        raise


async def _in_thread(messages: Iterator[files_pb2.UploadFileChunk]) -> files_pb2.UploadFileChunk | None:
    """The next request message (None at the end), read in a worker thread (a larger file's)."""
    future = asyncio.get_running_loop().run_in_executor(None, next, messages, None)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])  # never close the file under a read still running in the thread
        raise


class _Window:
    """How many of a batch's uploads may have a call in flight: additive increase, multiplicative
    decrease (TCP's congestion window), so a batch gives way to a server that pushes back.

    Starts at the requested concurrency. Back-pressure halves it, once per round: calls started
    before the last cut were sent under the old window and do not cut it again. A window's worth
    of successes in a row raises it by one, up to the requested concurrency. Cuts are logged at
    INFO (`xai -v`), raises at DEBUG (`-vv`).
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self._in_flight = 0
        self._round = 0
        self._successes = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def enter(self) -> int:
        """Wait for a free place in the window and take it; the round the call starts in (for `leave`)."""
        while self._in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
        self._in_flight += 1
        return self._round

    def leave(self, started_in: int, error: grpc.RpcError | None, *, succeeded: bool = False) -> None:
        """Give back the place of a call started in round `started_in`: it `succeeded`, failed with
        `error` (back-pressure cuts the window), or ended otherwise."""
        self._in_flight -= 1
        if error is not None and rpc.is_backpressure(error):
            self._cut(started_in, error)
        self._wake()
        if succeeded:
            self._grow()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _cut(self, started_in: int, error: grpc.RpcError) -> None:
        if started_in != self._round:
            return
        self._round += 1
        self._successes = 0
        self.limit = max(1, self.limit // 2)
        log.info(
            "server pushing back (%s): batch concurrency lowered to %d", rpc.details_of(error), self.limit
        )

    def _grow(self) -> None:
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            log.debug("batch concurrency raised to %d", self.limit)
            self._wake()


def _run_until_signal(work: Coroutine[Any, Any, None], *, on_signal: Callable[[], None]) -> int | None:
    """`asyncio.run(work)`, except that SIGINT or SIGTERM (in the main thread) calls `on_signal` and
    cancels `work`, which can then settle its calls; returns the first signal received, or None.

    Python's own handling would raise KeyboardInterrupt inside the loop (or, for SIGTERM, our
    handler's exception), cancelling every task at once with no chance to wait for an answer.
    """
    received: list[int] = []

    async def guarded() -> None:
        task = asyncio.ensure_future(work)

        def stop(signum: int) -> None:
            if not received:
                on_signal()
            received.append(signum)
            task.cancel()  # a second signal also ends the grace

        restore = _route_signals(asyncio.get_running_loop(), stop)
        try:
            await task
        except asyncio.CancelledError:
            if not received:
                raise
        finally:
            restore()

    asyncio.run(guarded())
    return received[0] if received else None


def _route_signals(loop: asyncio.AbstractEventLoop, handler: Callable[[int], None]) -> Callable[[], None]:
    """Send SIGINT and SIGTERM to `handler` on `loop`; returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread receives signals
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        before = signal.getsignal(signum)
        try:
            loop.add_signal_handler(signum, handler, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # e.g. Windows: Python's handling stays
            continue
        previous[signum] = before

    def restore() -> None:
        for signum, before in previous.items():
            loop.remove_signal_handler(signum)  # which installs the default handler, not ours
            if before is not None:
                signal.signal(signum, before)

    return restore
