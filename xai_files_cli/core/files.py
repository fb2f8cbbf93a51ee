"""FilesClient: the Files service as plain Python calls that return models and raise XaiError.

Every call has a deadline (the upload included, scaled to its size), idempotent reads are retried by
the channel's retry policy, and the two cases gRPC cannot retry safely are handled here:
- an upload broken before the server replied and before all bytes were sent restarts from byte 0
  (C6); one broken after everything was sent is reported as "outcome unknown", never resent (C7);
- a delete that failed (UNAVAILABLE, INTERNAL, UNKNOWN) after it may have reached the server is
  repeated, and NOT_FOUND then is reported as already deleted (C5).

Everything runs on the blocking gRPC API except `batch_upload`, which drives its uploads from one
asyncio loop in the calling thread over a grpc.aio twin of the channel: a blocking stream-unary call
costs two threads, and with 50 in flight that CPU is what a batch of small files spends. Both paths
share the upload rules (`_UploadBody`, `_plan_restart`, `_accept`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence, Sized
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import grpc

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.core import rpc
from xai_files_cli.core.channel import RETRY_ATTEMPTS, DialSettings, dial_settings, target_of
from xai_files_cli.core.records import (
    SORT_KEYS,
    DeleteResult,
    FileInfo,
    Page,
    PublicUrl,
    RevokeResult,
    UploadItem,
    UploadResult,
    timestamp_field,
)
from xai_files_cli.core.transfer import (
    MAX_UPLOAD_BYTES,
    DownloadSink,
    NullProgress,
    Progress,
    ShareProgress,
    UploadSource,
    backoff_delay,
    run_bounded,
    too_large,
)
from xai_files_cli.errors import (
    InternalError,
    Interrupted,
    Terminated,
    UnavailableError,
    UsageError,
    XaiError,
)

log = logging.getLogger("xai.files")

DEFAULT_TIMEOUT = 60.0  # seconds for a metadata call when --timeout is not given
TRANSFER_RATE = 1_000_000  # bytes per second assumed when scaling a transfer deadline
UPLOAD_ATTEMPTS = 3
# A batch reads files up to this size on its event loop, and larger ones in a worker thread.
INLINE_READ_BYTES = 256 * 1024
CANCEL_POLL = 0.1  # seconds between checks of FilesClient.cancel while a batch waits
DOWNLOAD_ATTEMPTS = 3
# On Ctrl-C or SIGTERM after an upload's last byte, how long to wait for the server's answer, and
# the deadline of the delete that then removes the file it stored.
INTERRUPT_GRACE = 5.0
DISCARD_TIMEOUT = 5.0
MIN_TTL, MAX_TTL = 3600, 30 * 24 * 3600
PAGE_SIZE = 100

_SORT_BY = {
    "created_at": files_pb2.FILES_SORT_BY_CREATED_AT,
    "filename": files_pb2.FILES_SORT_BY_FILENAME,
    "size": files_pb2.FILES_SORT_BY_SIZE,
}

Notice = Callable[[str], None]
T = TypeVar("T")
_CHECK_LS = "; the upload may have completed: check `xai files ls` before retrying"


def check_ttl(seconds: int | None, what: str = "--expires-after") -> None:
    """UsageError unless `seconds` is None or within 1 h to 30 d (the service's range)."""
    if seconds is not None and not MIN_TTL <= seconds <= MAX_TTL:
        raise UsageError(f"{what} must be between 1h and 30d (3600-2592000 seconds), got {seconds}")


def check_name(name: str) -> None:
    """UsageError unless `name` can be sent: not empty, and text (a path's name may be raw bytes)."""
    if not name:
        raise UsageError("the file name must not be empty")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"the file name {name!r} is not valid UTF-8; rename the file, or upload it with --name NAME"
        ) from None


class _UploadBody:
    """The request stream of one UploadFile attempt: init, then data chunks read lazily.

    The blocking API consumes this iterator on its own thread and swallows exceptions raised from it,
    so a local failure is kept in `error` for the caller; `finished` says whether every message was
    handed over. A batch's event loop pulls the same iterator and writes each message itself.
    That thread can still be inside a read when the call has already failed: `close` waits for it
    and stops further reads, so a restart can rewind the source without a stale read moving it.
    On Ctrl-C, `seal` stops the stream without waiting for a read (stdin may never answer): a
    sealed stream can never end, so the server cannot store a file from it.
    """

    def __init__(
        self,
        source: UploadSource,
        init: files_pb2.UploadFileInit,
        progress: Progress,
        cancel: threading.Event,
    ) -> None:
        self._source = source
        self._init = init
        self._progress = progress
        self._cancel = cancel
        self.sent = 0
        self.finished = False
        self.error: BaseException | None = None
        self._reading = threading.Lock()  # held for a whole read, so `close` can wait for it
        self._state = threading.Lock()  # held only to update `finished`/`sent` or to seal
        self._closed = False
        self._sealed = False

    def __iter__(self) -> Iterator[files_pb2.UploadFileChunk]:
        try:
            yield files_pb2.UploadFileChunk(init=self._init)
            chunks = self._source.chunks(cancel=self._cancel)
            while (data := self._read(chunks)) is not None:
                yield files_pb2.UploadFileChunk(data=data)
        except GeneratorExit:  # gRPC let go of the stream (the call ended): not a local failure
            raise
        except BaseException as error:  # kept for the caller; gRPC only sees a cancelled call
            self.error = error
            raise

    def _read(self, chunks: Iterator[bytes]) -> bytes | None:
        """The next chunk, counted as handed over; None at the end (then `finished`) or once closed.

        Raises Interrupted once sealed, also for a read that was under way: a sealed stream never ends.
        """
        with self._reading:
            if self._closed:
                return None
            data = next(chunks, None) if not self._sealed else None
            with self._state:  # never held across a read, which may block (stdin)
                if self._sealed:
                    raise Interrupted("interrupted; nothing uploaded")
                if data is None:
                    self.finished = True
                    return None
                self.sent += len(data)
            self._progress.advance(len(data))
            return data

    def close(self) -> None:
        """Wait for a read in progress on another thread, and allow no more."""
        with self._reading:
            self._closed = True

    def seal(self) -> bool:
        """Let no more messages out, without waiting for a read under way: every further read raises
        Interrupted, so the stream can never end and the server never stores the file.

        Returns whether every message had already been handed over (the server may store it).
        """
        with self._state:
            self._sealed = True
            return self.finished

    def abandon(self, cancel_call: Callable[[], object]) -> bool:
        """Stop an interrupted attempt: True when every message was already handed over (the server
        may store the file), else seal the stream and cancel the call: nothing is stored."""
        if self.seal():
            return True
        cancel_call()
        return False


class FilesClient:
    """Blocking client for `xai_api.Files` over one channel (safe to share between threads)."""

    def __init__(self, channel: grpc.Channel, *, timeout: float | None = None) -> None:
        self._channel = channel
        self._stub = files_pb2_grpc.FilesStub(channel)
        self._timeout = timeout
        self._target = target_of(channel)
        self.cancel = threading.Event()  # set to stop in-flight uploads (Ctrl-C in a batch)
        self.interrupt_grace = INTERRUPT_GRACE

    # -- helpers ----------------------------------------------------------------------------------
    def _call_timeout(self) -> float:
        return self._timeout if self._timeout is not None else DEFAULT_TIMEOUT

    def transfer_timeout(self, size: int | None) -> float:
        """Deadline for moving `size` bytes: --timeout when given, else 60 s + size at 1 MB/s."""
        if self._timeout is not None:
            return self._timeout
        return DEFAULT_TIMEOUT + (size if size is not None else MAX_UPLOAD_BYTES) / TRANSFER_RATE

    def _translate(
        self, operation: str, *, file_id: str | None = None, retried: bool = True
    ) -> contextlib.AbstractContextManager[None]:
        return rpc.translate(
            operation,
            target=self._target,
            attempts=RETRY_ATTEMPTS if retried else None,
            file_id=file_id,
            timeout=self._call_timeout(),
        )

    # -- upload -----------------------------------------------------------------------------------
    def upload(
        self,
        source: Path | BinaryIO | UploadSource,
        *,
        name: str,
        size: int | None = None,
        expires_after: int | None = None,
        progress: Progress | None = None,
        on_notice: Notice | None = None,
    ) -> FileInfo:
        """Upload one file or stream and return the stored file's metadata.

        Args:
            source: a path, an open binary stream (e.g. stdin) or an UploadSource.
            name: the filename to record on the server.
            size: the stream's size when known (ignored for paths: taken from the file).
            expires_after: TTL in seconds (1 h to 30 d) or None for no expiry.
            progress: receives byte counts; rolled back when the upload restarts.
            on_notice: receives one-line notices such as "retrying from start (2/3)".

        Raises:
            UsageError: unreadable path, empty name, TTL out of range (no RPC sent).
            RejectedError: over 512 MB (no RPC sent), or refused by the server.
            FileChangedError: the file changed while it was read (C8).
            UnavailableError: unreachable, or the outcome is unknown after a lost reply (C7).
        """
        check_name(name)
        check_ttl(expires_after)
        if isinstance(source, UploadSource):
            src, owned = source, False
        elif isinstance(source, (str, Path)):
            src, owned = UploadSource.open_path(Path(source)), True
        else:
            src, owned = UploadSource.from_stream(source, size=size), False
        try:
            if src.size is not None and src.size > MAX_UPLOAD_BYTES:
                raise too_large(src.label, src.size)
            return self._upload(src, name, expires_after, progress or NullProgress(), on_notice)
        finally:
            if owned:
                src.close()

    def _upload(
        self,
        src: UploadSource,
        name: str,
        expires_after: int | None,
        progress: Progress,
        on_notice: Notice | None,
    ) -> FileInfo:
        operation = f"upload {name}"
        init = _upload_init(name, expires_after)
        timeout = self.transfer_timeout(src.size)
        progress.start(src.size, name)
        try:
            restarts = _Restarts()
            while True:
                body = _UploadBody(src, init, progress, self.cancel)
                try:
                    reply = self._attempt(body, timeout, name)
                except grpc.RpcError as error:
                    self._sleep(
                        self._plan_restart(error, operation, body, src, restarts, progress, on_notice)
                    )
                    continue
                return self._accept(reply, body, operation)
        except (KeyboardInterrupt, Terminated) as stop:  # between attempts: nothing sent could be stored
            raise _interrupt_report(_is_term(stop)) from None
        finally:
            progress.finish()

    def _attempt(self, body: _UploadBody, timeout: float, name: str) -> files_pb2.File:
        """One UploadFile call; on Ctrl-C or SIGTERM, settle what the server may have stored."""
        call: Any = None
        try:
            call = self._stub.UploadFile.future(iter(body), timeout=timeout)
            return call.result()
        except (KeyboardInterrupt, Terminated) as stop:
            raise self._settle_interrupted(stop, call, body, name) from None

    def _settle_interrupted(
        self, stop: BaseException, call: Any, body: _UploadBody, name: str
    ) -> Interrupted:
        """The error for an attempt interrupted by `stop`, saying what became of the upload.

        Before the last byte the call is cancelled: nothing is stored. After it the server may be
        storing the file, so its answer is awaited for `interrupt_grace` seconds; a stored file is
        deleted again, or named with the command that removes it.
        """
        terminated = _is_term(stop)
        if call is None or not body.abandon(call.cancel):
            return _interrupt_report(terminated)
        reply, error = _answer_within(call, self.interrupt_grace)
        if reply is not None:
            deleted, failed = self._discard([(name, reply.id)])
            return _interrupt_report(terminated, deleted=deleted, failed=failed)
        if error is not None and not (rpc.is_unavailable(error) or rpc.is_deadline(error)):
            return _interrupt_report(terminated)  # the server refused it
        return _interrupt_report(terminated, unanswered=[name])

    def _discard(self, stored: list[tuple[str, str]]) -> tuple[list[str], list[tuple[str, str, str]]]:
        """Delete the files (name, id) stored after an interrupt: the ids deleted, and (name, id,
        reason) of each that could not be."""
        deleted: list[str] = []
        failed: list[tuple[str, str, str]] = []
        for name, file_id in stored:
            try:
                self.delete(file_id, timeout=DISCARD_TIMEOUT)
            except XaiError as error:
                failed.append((name, file_id, error.message))
            except (KeyboardInterrupt, Terminated):
                failed.append((name, file_id, "interrupted again"))
            else:
                deleted.append(file_id)
        return deleted, failed

    def _batch_interrupted(self, batch: _AioBatch, signum: int, uploaded: bool) -> Interrupted:
        """The error for a batch stopped by a signal, after deleting what was stored in its grace."""
        deleted, failed = self._discard([(item.filename, info.id) for item, info in batch.stored_late])
        return _interrupt_report(
            signum == signal.SIGTERM,
            deleted=deleted,
            failed=failed,
            unanswered=[item.filename for item in batch.unanswered],
            otherwise="nothing else uploaded" if uploaded else "nothing uploaded",
        )

    def _plan_restart(
        self,
        error: grpc.RpcError,
        operation: str,
        body: _UploadBody,
        src: UploadSource,
        restarts: _Restarts,
        progress: Progress,
        on_notice: Notice | None,
    ) -> float:
        """After a failed attempt: rewind for a restart from byte 0 and return the backoff, or raise.

        Back-pressure (the server turned the call away: nothing was stored) is waited out quietly
        (said at -v), with `rpc.BACKPRESSURE`'s back-off or the server's pushback. Otherwise raises
        the local failure that broke the stream, or the mapped error when the attempt may not be
        repeated (see `_may_restart`). Shared by the blocking and the batch (aio) uploads.
        """
        if body.error is not None:
            raise body.error from None
        if src.seekable and restarts.busy_again(error):
            delay = rpc.BACKPRESSURE.delay(restarts.busy, error)
            log.info(
                "%s: server busy (%s); retrying from start in %.2f s", operation, rpc.details_of(error), delay
            )
            self._rewind(body, src, progress)
            return delay
        attempt = restarts.broken
        if not self._may_restart(error, body, src, attempt):
            raise self._upload_error(error, operation, body, src) from None
        message = (
            f"{operation}: upload interrupted after {body.sent:,} of "
            f"{_of(src.size)} bytes; retrying from start ({attempt + 1}/{UPLOAD_ATTEMPTS})"
        )
        log.info(message)
        if on_notice is not None:
            on_notice(message)
        restarts.broken += 1
        self._rewind(body, src, progress)
        return backoff_delay(attempt, initial=0.2)

    @staticmethod
    def _rewind(body: _UploadBody, src: UploadSource, progress: Progress) -> None:
        """Stop the failed attempt's reads and go back to byte 0 for the next one."""
        body.close()
        progress.reset()
        src.rewind()

    @staticmethod
    def _accept(reply: files_pb2.File, body: _UploadBody, operation: str) -> FileInfo:
        """The stored file's metadata once the server replied, checked against what we sent."""
        if body.error is not None:  # the server replied although our stream failed
            raise body.error
        if reply.size != body.sent:
            raise InternalError(
                f"{operation}: size mismatch: sent {body.sent} bytes, the server stored {reply.size}",
                file_id=reply.id,
            )
        return FileInfo.from_pb(reply)

    @staticmethod
    def _may_restart(error: grpc.RpcError, body: _UploadBody, src: UploadSource, attempt: int) -> bool:
        """Restart only a seekable upload cut by UNAVAILABLE before every byte was handed over."""
        if attempt >= UPLOAD_ATTEMPTS or not src.seekable or not rpc.is_unavailable(error):
            return False
        return rpc.never_reached_server(error) or not body.finished

    def _upload_error(
        self, error: grpc.RpcError, operation: str, body: _UploadBody, src: UploadSource
    ) -> XaiError:
        if rpc.never_reached_server(error):
            return rpc.error_from_rpc(error, operation, target=self._target, attempts=UPLOAD_ATTEMPTS)
        if rpc.is_unavailable(error) and body.finished:
            return UnavailableError(
                f"{operation}: upload outcome unknown: the connection broke after all "
                f"{body.sent:,} bytes were sent",
                status="UNAVAILABLE",
                hint="check `xai files ls` before uploading again",
            )
        if rpc.is_unavailable(error) and not src.seekable:
            return UnavailableError(
                f"{operation}: upload interrupted after {body.sent:,} bytes; {src.label} cannot be re-read",
                status="UNAVAILABLE",
            )
        if rpc.is_deadline(error):
            timeout = self.transfer_timeout(src.size)
            return UnavailableError(
                f"{operation}: timed out after {timeout:g} s ({body.sent:,} of {_of(src.size)} bytes sent)",
                status="DEADLINE_EXCEEDED",
                hint=rpc.TIMEOUT_HINT + (_CHECK_LS if body.finished else ""),
            )
        return rpc.error_from_rpc(error, operation, target=self._target)

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Interrupted("interrupted")

    def batch_upload(
        self,
        items: Iterable[UploadItem],
        *,
        concurrency: int = 50,
        expires_after: int | None = None,
        on_result: Callable[[UploadResult], None] | None = None,
        progress: Progress | None = None,
        on_notice: Notice | None = None,
    ) -> list[UploadResult]:
        """Upload many files concurrently (at most `concurrency` at once); one result per item.

        Items are pulled lazily as slots free up, so a generator is never materialised. A failed item
        never stops the others. `on_result` runs in the calling thread as each item finishes;
        `progress` gets the bytes of all items together (its total is known only for a sized
        collection). KeyboardInterrupt, or `cancel` set from another thread (raised as Interrupted),
        cancels the uploads in flight and propagates. Runs on grpc.aio for a channel made by
        `connect`; otherwise (or inside a running event loop) on threads, as the blocking `upload`.
        """
        check_ttl(expires_after)
        if concurrency < 1:
            raise UsageError("concurrency must be at least 1")
        overall = progress or NullProgress()
        total: int | None = None
        label = "files"
        if isinstance(items, Sized):
            total = 0
            for item in items:
                with contextlib.suppress(OSError):
                    total += item.path.stat().st_size
            label = f"{len(items)} files"
        overall.start(total, label)
        results: list[UploadResult] = []

        def done(item: UploadItem, info: FileInfo | None, error: BaseException | None) -> None:
            if error is not None and not isinstance(error, XaiError):
                error = InternalError(f"upload {item.filename}: {error}", path=str(item.path))
            if isinstance(error, XaiError) and error.path is None:
                error.path = str(item.path)
            result = UploadResult(item=item, file=info, error=error)  # type: ignore[arg-type]
            results.append(result)
            if on_result is not None:
                on_result(result)

        dial = dial_settings(self._channel)
        try:
            if dial is not None and not _loop_running():
                batch = _AioBatch(
                    self, dial, expires_after=expires_after, progress=overall, on_notice=on_notice
                )
                signum = _run_until_signal(
                    batch.run(items, concurrency=concurrency, on_done=done),
                    on_signal=lambda: self._grant_grace(batch),
                )
                if signum is not None:
                    raise self._batch_interrupted(batch, signum, uploaded=any(r.ok for r in results))
            else:  # a channel `connect` did not make, or a caller inside an event loop: threads

                def work(item: UploadItem) -> FileInfo:
                    return self.upload(
                        item.path,
                        name=item.filename,
                        expires_after=expires_after,
                        progress=ShareProgress(overall),
                        on_notice=on_notice,
                    )

                run_bounded(items, work, concurrency=concurrency, on_done=done, cancel=self.cancel)
        finally:
            overall.finish()
        return results

    def _grant_grace(self, batch: _AioBatch) -> None:
        """On a signal: no upload may start or end its stream now; those sent in full get a grace."""
        self.cancel.set()
        batch.grace = self.interrupt_grace

    # -- listing and metadata -----------------------------------------------------------------------
    def list_page(
        self,
        *,
        sort: str = "created_at",
        descending: bool = False,
        page_size: int = PAGE_SIZE,
        token: str | None = None,
    ) -> Page:
        """One page of file metadata; pass `Page.next_token` back with the same sort and order."""
        if sort not in _SORT_BY:
            raise UsageError(f"invalid sort key {sort!r}; choose one of: {', '.join(SORT_KEYS)}")
        request = files_pb2.ListFilesRequest(
            limit=max(1, min(page_size, PAGE_SIZE)),
            order=files_pb2.DESCENDING if descending else files_pb2.ASCENDING,
            sort_by=_SORT_BY[sort],
        )
        if token:
            request.pagination_token = token
        with self._translate("list files"):
            reply = self._stub.ListFiles(request, timeout=self._call_timeout())
        next_token = reply.pagination_token if reply.HasField("pagination_token") else None
        return Page(files=tuple(FileInfo.from_pb(f) for f in reply.data), next_token=next_token or None)

    def iter_files(
        self,
        *,
        sort: str = "created_at",
        descending: bool = False,
        page_size: int = PAGE_SIZE,
        limit: int | None = None,
    ) -> Iterator[FileInfo]:
        """Every file (or the first `limit`), following pagination tokens with the same sort/order."""
        token: str | None = None
        seen_tokens: set[str] = set()
        count = 0
        while True:
            want = page_size if limit is None else min(page_size, limit - count)
            if want <= 0:
                return
            page = self.list_page(sort=sort, descending=descending, page_size=want, token=token)
            for info in page.files:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield info
            if page.next_token is None or not page.files:
                return
            if page.next_token in seen_tokens:  # a server bug must not loop forever
                raise InternalError("list files: the server repeated a pagination token")
            seen_tokens.add(page.next_token)
            token = page.next_token

    def get(self, file_id: str) -> FileInfo:
        """Metadata of one file; NotFoundError (exit 4) for an unknown id."""
        with self._translate(f"get {file_id}", file_id=file_id):
            reply = self._stub.RetrieveFile(
                files_pb2.RetrieveFileRequest(file_id=file_id), timeout=self._call_timeout()
            )
        return FileInfo.from_pb(reply)

    def delete(self, file_id: str, *, timeout: float | None = None) -> DeleteResult:
        """Delete one file; a retry that finds it gone after a failed attempt reports `already_deleted`.

        Deleting by id is idempotent, so an attempt that reached the server and failed without saying
        what happened (UNAVAILABLE, or INTERNAL/UNKNOWN once) is repeated: NOT_FOUND then means our
        earlier attempt deleted it. `timeout` overrides the call deadline (a cleanup on Ctrl-C).
        """
        operation = f"delete {file_id}"
        timeout = timeout if timeout is not None else self._call_timeout()
        maybe_deleted = False
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                reply = self._stub.DeleteFile(files_pb2.DeleteFileRequest(file_id=file_id), timeout=timeout)
                return DeleteResult(file_id=reply.id or file_id)
            except grpc.RpcError as error:
                if rpc.is_not_found(error) and maybe_deleted:
                    return DeleteResult(file_id=file_id, already_deleted=True)
                if _may_repeat_delete(error, attempt):
                    # If the call reached the server, it may have deleted the file before failing.
                    maybe_deleted = maybe_deleted or not rpc.never_reached_server(error)
                    time.sleep(backoff_delay(attempt))
                    continue
                raise rpc.error_from_rpc(
                    error,
                    operation,
                    target=self._target,
                    attempts=RETRY_ATTEMPTS,
                    file_id=file_id,
                    timeout=timeout,
                ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    # -- download -----------------------------------------------------------------------------------
    def download(
        self,
        file_id: str,
        sink: DownloadSink,
        progress: Progress | None = None,
        *,
        text: bool = False,
    ) -> FileInfo:
        """Stream a file's content into `sink` and commit it only when complete.

        The byte count must equal `File.size` (except for `text`, the server's extracted text):
        fewer bytes is "incomplete download", more stops reading at once ("size mismatch"). A stream
        broken by UNAVAILABLE restarts from byte 0 when the sink can rewind.
        """
        info = self.get(file_id)
        expected = None if text else info.size
        progress = progress or NullProgress()
        operation = f"download {file_id}"
        request = files_pb2.RetrieveFileContentRequest(file_id=file_id)
        if text:
            request.format = files_pb2.DOWNLOAD_FORMAT_TEXT
        timeout = self.transfer_timeout(info.size)
        progress.start(expected, info.filename)
        try:
            for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
                received = 0
                call = self._stub.RetrieveFileContent(request, timeout=timeout)
                try:
                    for chunk in call:
                        data = chunk.data
                        if expected is not None and received + len(data) > expected:
                            raise InternalError(
                                f"{operation}: size mismatch: the server sent more than the "
                                f"{expected:,} bytes of the file",
                                file_id=file_id,
                            )
                        sink.write(data)
                        received += len(data)
                        progress.advance(len(data))
                        del chunk, data  # drop this chunk before gRPC hands over the next one
                except grpc.RpcError as error:
                    if rpc.is_unavailable(error) and sink.rewindable and attempt < DOWNLOAD_ATTEMPTS:
                        log.info("%s: stream broken after %d bytes; restarting", operation, received)
                        sink.rewind()
                        progress.reset()
                        self._sleep(backoff_delay(attempt, initial=0.2))
                        continue
                    raise rpc.error_from_rpc(
                        error,
                        operation,
                        target=self._target,
                        # Before the first byte the channel's policy retried; after it, our loop did.
                        attempts=attempt if received or attempt > 1 else RETRY_ATTEMPTS,
                        file_id=file_id,
                        timeout=timeout,
                    ) from error
                finally:
                    call.cancel()  # a no-op once finished; stops the stream on any local failure
                if expected is not None and received != expected:
                    raise InternalError(
                        f"{operation}: incomplete download: got {received:,} of {expected:,} bytes",
                        file_id=file_id,
                    )
                sink.commit()
                return info
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            progress.finish()

    # -- public URLs --------------------------------------------------------------------------------
    def create_public_url(self, file_id: str, expires_after: int | None = None) -> PublicUrl:
        """Create (or return the existing) unauthenticated URL of a file."""
        request = files_pb2.CreatePublicUrlRequest(file_id=file_id)
        if expires_after is not None:
            request.expires_after = expires_after
        with self._translate(f"share {file_id}", file_id=file_id, retried=False):
            reply = self._stub.CreatePublicUrl(request, timeout=self._call_timeout())
        expires = timestamp_field(reply, "expires_at")
        return PublicUrl(file_id=file_id, url=reply.public_url, expires_at=expires)

    def revoke_public_url(self, file_id: str) -> RevokeResult:
        """Revoke a file's public URL; `revoked` is False when there was none."""
        with self._translate(f"unshare {file_id}", file_id=file_id, retried=False):
            reply = self._stub.RevokePublicUrl(
                files_pb2.RevokePublicUrlRequest(file_id=file_id), timeout=self._call_timeout()
            )
        url = reply.public_url if reply.HasField("public_url") else None
        return RevokeResult(file_id=reply.file_id or file_id, revoked=reply.revoked, url=url)


def _is_term(stop: BaseException) -> bool:
    return isinstance(stop, Terminated)


def _answer_within(call: Any, seconds: float) -> tuple[files_pb2.File | None, grpc.RpcError | None]:
    """The reply of an upload call within `seconds` (a second Ctrl-C stops waiting), or its error.

    (None, None) when no answer came in time; the call is then cancelled.
    """
    try:
        return call.result(timeout=seconds), None
    except grpc.RpcError as error:
        return None, error
    except (grpc.FutureTimeoutError, grpc.FutureCancelledError, KeyboardInterrupt, Terminated):
        call.cancel()
        return None, None


def _interrupt_report(
    terminated: bool,
    *,
    deleted: Sequence[str] = (),
    failed: Sequence[tuple[str, str, str]] = (),
    unanswered: Sequence[str] = (),
    otherwise: str = "nothing uploaded",
) -> Interrupted:
    """`interrupted; deleted the uploaded file file_1`: what became of the uploads a signal stopped.

    `deleted`: ids stored after the signal and deleted again; `failed`: (name, id, reason) of those
    that could not be deleted; `unanswered`: names of uploads sent in full without an answer.
    """
    parts = ["terminated" if terminated else "interrupted"]
    if deleted:
        what = "the uploaded file" if len(deleted) == 1 else f"the {len(deleted)} uploaded files"
        parts.append(f"deleted {what} {', '.join(deleted)}")
    parts += [
        f"{name} was stored as {file_id} and could not be deleted ({why})" for name, file_id, why in failed
    ]
    if unanswered:
        verb = "it" if len(unanswered) == 1 else "they"
        parts.append(f"no answer from the server about {', '.join(unanswered)}: {verb} may have been stored")
    if len(parts) == 1:
        parts.append(otherwise)
    hints = []
    if failed:
        ids = " ".join(file_id for _, file_id, _ in failed)
        hints.append(f"remove {'it' if len(failed) == 1 else 'them'} with `xai files rm {ids}`")
    if unanswered:
        hints.append("check `xai files ls` before uploading again")
    return Interrupted(
        "; ".join(parts),
        terminated=terminated,
        hint="; ".join(hints) or None,
        file_id=failed[0][1] if len(failed) == 1 else None,
    )


def _may_repeat_delete(error: grpc.RpcError, attempt: int) -> bool:
    """UNAVAILABLE is retried up to RETRY_ATTEMPTS; a server failure (INTERNAL, UNKNOWN) once."""
    if rpc.is_unavailable(error):
        return attempt < RETRY_ATTEMPTS
    return rpc.status_of(error) in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) and attempt == 1


def _of(size: int | None) -> str:
    return f"{size:,}" if size is not None else "?"


def _upload_init(name: str, expires_after: int | None) -> files_pb2.UploadFileInit:
    init = files_pb2.UploadFileInit(name=name)
    if expires_after is not None:
        init.expires_after = expires_after
    return init


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


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _AioBatch:
    """One batch upload on grpc.aio: at most `concurrency` item tasks, all on one aio channel.

    Runs inside `asyncio.run` in the thread that called `FilesClient.batch_upload`, so `on_done` (and
    with it `on_result`) runs in that thread. The upload rules are the blocking path's own
    (`_UploadBody`, `FilesClient._plan_restart`, `FilesClient._accept`); only the waiting differs.
    """

    def __init__(
        self,
        client: FilesClient,
        dial: DialSettings,
        *,
        expires_after: int | None,
        progress: Progress,
        on_notice: Notice | None,
    ) -> None:
        self._client = client
        self._dial = dial
        self._expires_after = expires_after
        self._progress = progress
        self._on_notice = on_notice
        self._window = _Window(1)  # replaced by `run`, sized by its concurrency
        # Settling a signal (`_spare_sent`): the grace it grants, each item task's current body, and
        # the items the server stored or left unanswered meanwhile (FilesClient reports them).
        self.grace = 0.0
        self.bodies: dict[Any, _UploadBody] = {}
        self.stored_late: list[tuple[UploadItem, FileInfo]] = []
        self.unanswered: list[UploadItem] = []

    async def run(
        self,
        items: Iterable[UploadItem],
        *,
        concurrency: int,
        on_done: Callable[[UploadItem, FileInfo | None, BaseException | None], None],
    ) -> None:
        """Upload every item, starting one as another finishes; cancel the rest on any escape.

        Up to `concurrency` items are under way at once; how many of them have a call in flight is
        up to `_Window`, which gives way while the server pushes back.
        """
        self._window = _Window(concurrency)
        channel = self._dial.open_aio()
        stub = files_pb2_grpc.FilesStub(channel)
        source = iter(items)
        running: dict[asyncio.Future[FileInfo], UploadItem] = {}
        cancel = self._client.cancel
        try:
            exhausted = False
            while True:
                while not exhausted and len(running) < concurrency:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    running[asyncio.ensure_future(self._upload(stub, item))] = item
                if not running:
                    break
                finished, _ = await asyncio.wait(
                    running, timeout=CANCEL_POLL, return_when=asyncio.FIRST_COMPLETED
                )
                if cancel.is_set():
                    raise Interrupted("interrupted")
                for task in finished:
                    item = running.pop(task)
                    error = task.exception()  # a cancelled task raises CancelledError here: it propagates
                    if error is not None and not isinstance(error, Exception):
                        raise error  # KeyboardInterrupt or a termination signal that landed in the task
                    on_done(item, None if error is not None else task.result(), error)
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
        """After a signal, give each upload that sent its last byte `grace` seconds for its answer.

        Every body is sealed first, so no other upload can end its stream (`client.cancel`, set by
        the signal, stops any not yet begun). The server may be storing those sent in full: each one
        it stores goes to `stored_late`, each left without an answer to `unanswered`. A second signal
        ends the wait. Without a signal, nothing waits.
        """
        if self.grace <= 0:
            return
        sent = {}
        for task, item in running.items():
            task.add_done_callback(_retrieve)  # those that fail now fail quietly: they stored nothing
            body = self.bodies.get(task)
            if body is not None and body.seal():
                sent[task] = item
        if not sent:
            return
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(sent, timeout=self.grace)
        for task, item in sent.items():
            error = task.exception() if task.done() and not task.cancelled() else None
            if not task.done() or isinstance(error, UnavailableError):  # the outcome is unknown
                self.unanswered.append(item)
            elif not task.cancelled() and error is None:
                self.stored_late.append((item, task.result()))

    async def _upload(self, stub: files_pb2_grpc.FilesStub, item: UploadItem) -> FileInfo:
        """One item, with the blocking `upload`'s checks, restarts (C6, C7) and size checks (C8)."""
        client = self._client
        name = item.filename
        check_name(name)
        with UploadSource.open_path(item.path) as src:
            if src.size is not None and src.size > MAX_UPLOAD_BYTES:
                raise too_large(src.label, src.size)
            operation = f"upload {name}"
            init = _upload_init(name, self._expires_after)
            timeout = client.transfer_timeout(src.size)
            inline = src.size is not None and src.size <= INLINE_READ_BYTES
            progress = ShareProgress(self._progress)
            progress.start(src.size, name)
            try:
                restarts = _Restarts()
                while True:
                    body = _UploadBody(src, init, progress, client.cancel)
                    self.bodies[asyncio.current_task()] = body
                    try:
                        attempt = functools.partial(_send, stub, body, timeout, inline=inline)
                        reply = await self._window.send(attempt)
                    except grpc.RpcError as error:  # grpc.aio.AioRpcError
                        delay = client._plan_restart(
                            error, operation, body, src, restarts, progress, self._on_notice
                        )
                        await asyncio.sleep(delay)
                        continue
                    return client._accept(reply, body, operation)
            finally:
                progress.finish()


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a task's outcome as seen, so asyncio never logs it as an unretrieved exception."""
    if not task.cancelled():
        task.exception()


async def _send(
    stub: files_pb2_grpc.FilesStub, body: _UploadBody, timeout: float, *, inline: bool
) -> files_pb2.File:
    """One UploadFile attempt on grpc.aio: write `body`'s messages, then wait for the reply.

    A write refused because the call already ended stops the writing; awaiting the call then raises
    its status (an AioRpcError). A local failure (read error, file changed, cancel) or our own
    cancellation cancels the call before propagating, so the server never stores a partial file.
    """
    call = stub.UploadFile(timeout=timeout)
    status = _FirstStatus(call)
    try:
        messages = iter(body)
        while (message := await _next_message(messages, inline)) is not None:
            try:
                await call.write(message)
            except (grpc.RpcError, asyncio.InvalidStateError):
                break  # the call is over; its status comes from awaiting it below
        else:
            with contextlib.suppress(grpc.RpcError, asyncio.InvalidStateError):
                await call.done_writing()
        try:
            return await call
        except grpc.RpcError as error:
            raise status.true_error(error) from None
    except BaseException:
        call.cancel()  # a no-op once the call is over
        raise


class _FirstStatus:
    """The status a grpc.aio call settled with first: the server's, even when grpc masks it later.

    grpc.aio (grpc/grpc#36066, open in 1.85) replaces the status the server sent with INTERNAL
    "Internal error from Core" when one of our writes was in flight as the call ended, which is how
    a mid-upload UNAVAILABLE (C6) or a rejected name usually ends. The status set first (seen by a
    done callback) is the server's; the one set last wins when the masking came first.
    """

    MASKED = "Internal error from Core"

    def __init__(self, call: grpc.aio.Call) -> None:
        self._first: tuple[grpc.StatusCode, str, Any] | None = None
        call.add_done_callback(self._record)

    def _record(self, call: grpc.aio.Call) -> None:
        if self._first is None:
            code = _settled(call.code())
            if code is not None:
                self._first = (code, _settled(call.details()) or "", _settled(call.trailing_metadata()))

    def true_error(self, error: grpc.RpcError) -> grpc.RpcError:
        """`error`, or the server's status (and trailers, a pushback among them) it masked."""
        if self._first is None or rpc.details_of(error) != self.MASKED:
            return error
        code, details, trailers = self._first
        if code == rpc.status_of(error) and details == self.MASKED:
            return error
        return grpc.aio.AioRpcError(code, trailing_metadata=trailers, details=details)


class _Restarts:
    """How one upload was restarted so far, counted apart for the two reasons.

    `broken`: the attempt number among restarts after a broken connection (at most UPLOAD_ATTEMPTS).
    `busy`: restarts after back-pressure (at most `rpc.BACKPRESSURE.attempts - 1`).
    """

    def __init__(self) -> None:
        self.broken = 1
        self.busy = 0

    def busy_again(self, error: BaseException) -> bool:
        """Count one more back-pressure restart after `error`; False when it was not one, or too many."""
        if not rpc.is_backpressure(error) or self.busy + 1 >= rpc.BACKPRESSURE.attempts:
            return False
        self.busy += 1
        return True


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

    async def send(self, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `start()` once a place in the window is free, and adjust the window by its outcome."""
        await self._acquire()
        started_in = self._round
        try:
            result = await start()
        except grpc.RpcError as error:
            if rpc.is_backpressure(error):
                self._cut(started_in, error)
            raise
        finally:
            self._in_flight -= 1
            self._wake()
        self._grow()
        return result

    async def _acquire(self) -> None:
        while self._in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
        self._in_flight += 1

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


def _settled(coroutine: Coroutine[Any, Any, T]) -> T | None:
    """The result of a coroutine that finishes without waiting (a done call's `code()`), else None."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    except Exception:
        return None
    coroutine.close()
    return None


async def _next_message(
    messages: Iterator[files_pb2.UploadFileChunk], inline: bool
) -> files_pb2.UploadFileChunk | None:
    """The next request message (None at the end), read on the loop or, for larger files, in a thread."""
    if inline:
        return next(messages, None)
    future = asyncio.get_running_loop().run_in_executor(None, next, messages, None)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])  # never close the file under a read still running in the thread
        raise
