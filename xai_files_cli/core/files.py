"""FilesClient: the Files service as plain Python calls that return records and raise XaiError.

Every call has a deadline (the upload included, scaled to its size), idempotent reads are retried by
the channel's retry policy, and the two cases gRPC cannot retry safely are handled here:
- an upload follows the restart rules of `core.upload`: restarted from byte 0 when it broke before
  every byte was sent, reported as "outcome unknown" (never resent) when it broke after;
- a delete that failed (UNAVAILABLE, INTERNAL, UNKNOWN) after it may have reached the server is
  repeated, and NOT_FOUND then is reported as already deleted.

Everything runs on the blocking gRPC API except `batch_upload`, which hands its items to the
grpc.aio engine of `core.batch`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import grpc

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.core import rpc
from xai_files_cli.core.channel import RETRY_ATTEMPTS, dial_settings, target_of
from xai_files_cli.core.download import ContentWriter, content_call, received_note, timed_out
from xai_files_cli.core.listing import DEFAULT_CONCURRENCY, FileFilter, Listing, ListQuery
from xai_files_cli.core.records import (
    SORT_KEYS,
    DeleteResult,
    FileInfo,
    JsonLayout,
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
    TransferDeadline,
    UploadSource,
)
from xai_files_cli.core.upload import (
    Notice,
    UploadAttempts,
    UploadBody,
    check_name,
    check_size,
    discard,
    interrupt_report,
)
from xai_files_cli.errors import Interrupted, Terminated, UsageError, XaiError

if TYPE_CHECKING:
    from xai_files_cli.core.upload_plan import UploadJournal

log = logging.getLogger("xai.files")

DEFAULT_TIMEOUT = 60.0  # seconds for a metadata call when --timeout is not given
TRANSFER_RATE = 1_000_000  # bytes per second assumed when scaling a transfer deadline
DOWNLOAD_ATTEMPTS = 3
# On Ctrl-C or SIGTERM after an upload's last byte, how long to wait for the server's answer.
INTERRUPT_GRACE = 5.0
MIN_TTL, MAX_TTL = 3600, 30 * 24 * 3600
PAGE_SIZE = 100

_SORT_BY = {
    "created_at": files_pb2.FILES_SORT_BY_CREATED_AT,
    "filename": files_pb2.FILES_SORT_BY_FILENAME,
    "size": files_pb2.FILES_SORT_BY_SIZE,
}


def check_ttl(seconds: int | None, what: str = "--expires-after") -> None:
    """UsageError unless `seconds` is None or within 1 h to 30 d (the service's range)."""
    if seconds is not None and not MIN_TTL <= seconds <= MAX_TTL:
        raise UsageError(f"{what} must be between 1h and 30d (3600-2592000 seconds), got {seconds}")


class FilesClient:
    """Blocking client for `xai_api.Files` over one channel (safe to share between threads)."""

    def __init__(self, channel: grpc.Channel, *, timeout: float | None = None) -> None:
        self._channel = channel
        self._stub = files_pb2_grpc.FilesStub(channel)
        self._content = content_call(channel)  # RetrieveFileContent without copying the chunks
        self._timeout = timeout
        self.target = target_of(channel)  # `host:port`, for error messages
        self.cancel = threading.Event()  # set to stop in-flight uploads (Ctrl-C in a batch)
        self.interrupt_grace = INTERRUPT_GRACE

    # -- helpers ----------------------------------------------------------------------------------
    def _call_timeout(self) -> float:
        return self._timeout if self._timeout is not None else DEFAULT_TIMEOUT

    @property
    def call_timeout(self) -> float:
        """The deadline in seconds of one metadata call (--timeout, else the default)."""
        return self._call_timeout()

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
            target=self.target,
            attempts=RETRY_ATTEMPTS if retried else None,
            file_id=file_id,
            timeout=self._call_timeout(),
        )

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Interrupted("interrupted")

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
            FileChangedError: the file changed while it was read.
            UnavailableError: unreachable, or the outcome is unknown after a lost reply.
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
            check_size(src)
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
        attempts = UploadAttempts(
            src,
            name,
            expires_after,
            progress=progress,
            cancel=self.cancel,
            timeout=self.transfer_timeout(src.size),
            target=self.target,
            on_notice=on_notice,
        )
        progress.start(src.size, name)
        try:
            while True:
                body = attempts.body()
                try:
                    reply = self._attempt(body, attempts.timeout, name)
                except grpc.RpcError as error:
                    self._sleep(attempts.restart_delay(error, body))
                    continue
                return attempts.accept(reply, body)
        except (KeyboardInterrupt, Terminated) as stop:  # between attempts: nothing sent could be stored
            raise interrupt_report(_is_term(stop)) from None
        finally:
            progress.finish()

    def _attempt(self, body: UploadBody, timeout: float, name: str) -> files_pb2.File:
        """One UploadFile call; on Ctrl-C or SIGTERM, settle what the server may have stored."""
        call: Any = None
        try:
            call = self._stub.UploadFile.future(iter(body), timeout=timeout)
            stored: files_pb2.File = call.result()
            return stored
        except (KeyboardInterrupt, Terminated) as stop:
            raise self._settle_interrupted(stop, call, body, name) from None

    def _settle_interrupted(self, stop: BaseException, call: Any, body: UploadBody, name: str) -> Interrupted:
        """The error for an attempt interrupted by `stop`, saying what became of the upload.

        Before the last byte the call is cancelled: nothing is stored. After it the server may be
        storing the file, so its answer is awaited for `interrupt_grace` seconds; a stored file is
        deleted again, or named with the command that removes it.
        """
        terminated = _is_term(stop)
        if call is None or not body.abandon(call.cancel):
            return interrupt_report(terminated)
        reply, error = _answer_within(call, self.interrupt_grace)
        if reply is not None:
            deleted, failed = discard(self.delete, [(name, reply.id)])
            return interrupt_report(terminated, deleted=deleted, failed=failed)
        if error is not None and not (rpc.is_unavailable(error) or rpc.is_deadline(error)):
            return interrupt_report(terminated)  # the server refused it
        return interrupt_report(terminated, unanswered=[name])

    def batch_upload(
        self,
        items: Iterable[UploadItem],
        *,
        concurrency: int = 50,
        expires_after: int | None = None,
        on_result: Callable[[UploadResult], None] | None = None,
        progress: Progress | None = None,
        on_notice: Notice | None = None,
        journal: UploadJournal | None = None,
    ) -> list[UploadResult]:
        """Upload many files concurrently (at most `concurrency` at once); one result per item.

        Items are pulled lazily as slots free up, so a generator is never materialised. A failed item
        never stops the others. `on_result` runs in the calling thread as each item finishes, and
        then the results are not kept (the list returned is empty, so memory stays flat); `progress`
        gets the bytes of all items together (its total is known only for a sized collection);
        `journal` (the upload index) is written around each upload. Ctrl-C or SIGTERM, or `cancel`
        set from another thread, cancels the uploads in flight and raises Interrupted.
        Runs on grpc.aio (`core.batch`), so the channel must be one `core.channel.connect` made, and
        the caller must not be inside a running event loop.
        """
        check_ttl(expires_after)
        if concurrency < 1:
            raise UsageError("concurrency must be at least 1")
        dial = dial_settings(self._channel)
        if dial is None:
            raise TypeError("batch_upload needs a channel made by core.channel.connect")
        from xai_files_cli.core import batch  # the grpc.aio engine: not loaded by the other commands

        return batch.upload_all(
            self,
            dial,
            items,
            concurrency=concurrency,
            expires_after=expires_after,
            on_result=on_result,
            progress=progress,
            on_notice=on_notice,
            journal=journal,
        )

    # -- listing and metadata -----------------------------------------------------------------------
    def list_request(
        self,
        *,
        sort: str = "created_at",
        descending: bool = False,
        page_size: int = PAGE_SIZE,
        token: str | None = None,
        filter: str | None = None,
    ) -> files_pb2.ListFilesRequest:
        """The ListFiles request for one page (UsageError for an unknown sort key)."""
        request = files_pb2.ListFilesRequest(
            limit=_page_limit(page_size),
            order=files_pb2.DESCENDING if descending else files_pb2.ASCENDING,
            sort_by=_sort_field(sort),
        )
        if token:
            request.pagination_token = token
        if filter:
            request.filter = filter
        return request

    def list_raw(self, request: files_pb2.ListFilesRequest) -> files_pb2.ListFilesResponse:
        """One ListFiles call as the server answered it (safe to call from several threads)."""
        with self._translate("list files"):
            page: files_pb2.ListFilesResponse = self._stub.ListFiles(request, timeout=self._call_timeout())
            return page

    def list_call(self, request: files_pb2.ListFilesRequest, timeout: float | None = None) -> grpc.Future:
        """Start one ListFiles call without waiting for it: a future, not repeated on back-pressure (see
        `core.listing`); `list_reply` reads it. `timeout` defaults to the call deadline."""
        call: grpc.Future = self._stub.ListFiles.future(
            request, timeout=self._call_timeout() if timeout is None else timeout
        )
        return call

    def list_reply(self, call: grpc.Future) -> files_pb2.ListFilesResponse:
        """The reply of a finished `list_call`, or the XaiError `list_raw` would have raised."""
        with self._translate("list files"):
            page: files_pb2.ListFilesResponse = call.result()
            return page

    def list_page(
        self,
        *,
        sort: str = "created_at",
        descending: bool = False,
        page_size: int = PAGE_SIZE,
        token: str | None = None,
        filter: str | None = None,
    ) -> Page:
        """One page of file metadata; pass `Page.next_token` back with the same sort, order and filter."""
        request = self.list_request(
            sort=sort, descending=descending, page_size=page_size, token=token, filter=filter
        )
        reply = self.list_raw(request)
        next_token = reply.pagination_token if reply.HasField("pagination_token") else None
        return Page(files=tuple(FileInfo.from_pb(f) for f in reply.data), next_token=next_token or None)

    def iter_files(
        self,
        *,
        sort: str = "created_at",
        descending: bool = False,
        page_size: int = PAGE_SIZE,
        limit: int | None = None,
        where: FileFilter | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        as_json: bool = False,
        json_layout: JsonLayout | None = None,
    ) -> Listing:
        """Every file (or the first `limit`) in the given order, fetched as it is consumed: FileInfo,
        or with `as_json` the `FileInfo.to_json()` objects (made without the FileInfo, faster), or
        with `json_layout` those objects' JSON texts in that layout (fastest).

        `where` selects files (sent as the server's filter where it can be, always checked here).
        Over one page, the listing is read by up to `concurrency` cursors over disjoint created_at
        windows when the server honours filters (`core.listing`); the order is the same either way.
        Close the returned Listing when stopping early.
        """
        _sort_field(sort)
        query = ListQuery(
            sort=sort,
            descending=descending,
            limit=limit,
            filter=where,
            concurrency=concurrency,
            page_size=_page_limit(page_size),
            as_json=as_json,
            json_layout=json_layout,
        )
        return Listing(self, query)

    def get(self, file_id: str, *, operation: str | None = None) -> FileInfo:
        """Metadata of one file; NotFoundError (exit 4) for an unknown id. `operation` names the
        call in errors (default `get ID`)."""
        with self._translate(operation or f"get {file_id}", file_id=file_id):
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
                    time.sleep(rpc.UNAVAILABLE_BACKOFF.delay(attempt))
                    continue
                raise rpc.error_from_rpc(
                    error,
                    operation,
                    target=self.target,
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
        broken by UNAVAILABLE restarts from byte 0 when the sink can rewind. The transfer deadline is
        one budget for every attempt and the waits between them: once it is spent, the download
        fails as timed out, saying how many bytes arrived. The content is received on a thread of
        its own and written in this one (`core.download`).
        """
        operation = f"download {file_id}"
        info = self.get(file_id, operation=operation)
        expected = None if text else info.size
        progress = progress or NullProgress()
        request = files_pb2.RetrieveFileContentRequest(file_id=file_id)
        if text:
            request.format = files_pb2.DOWNLOAD_FORMAT_TEXT
        deadline = TransferDeadline(self.transfer_timeout(info.size))
        furthest = 0  # the most bytes one attempt received, for the final error
        progress.start(expected, info.filename)
        try:
            for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
                left = deadline.left()
                if left <= 0:  # spent while waiting to restart
                    raise timed_out(operation, deadline, furthest, expected, file_id)
                writer = ContentWriter(
                    sink, progress, expected=expected, operation=operation, file_id=file_id
                )
                try:
                    writer.write_stream(self._content(request, timeout=left))
                except grpc.RpcError as error:
                    furthest = max(furthest, writer.received)
                    if rpc.is_deadline(error):
                        raise timed_out(operation, deadline, furthest, expected, file_id) from error
                    if not (rpc.is_unavailable(error) and sink.rewindable and attempt < DOWNLOAD_ATTEMPTS):
                        failed = self._download_failed(error, file_id, attempt, writer.received)
                        if furthest and rpc.is_unavailable(error):  # a broken stream: say how far it got
                            failed.message += f"; {received_note(furthest, expected)}"
                        raise failed from error
                    log.info("%s: stream broken after %d bytes; restarting", operation, writer.received)
                    sink.rewind()
                    progress.reset()
                    self._sleep(min(rpc.UNAVAILABLE_BACKOFF.delay(attempt, restart=True), deadline.left()))
                    continue
                writer.check_complete()
                sink.commit()
                return info
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            progress.finish()

    def _download_failed(self, error: grpc.RpcError, file_id: str, attempt: int, received: int) -> XaiError:
        """The error of a download attempt that may not be repeated."""
        return rpc.error_from_rpc(
            error,
            f"download {file_id}",
            target=self.target,
            # Before the first byte the channel's policy retried; after it, our loop did.
            attempts=attempt if received or attempt > 1 else RETRY_ATTEMPTS,
            file_id=file_id,
        )

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


def _sort_field(sort: str) -> files_pb2.FilesSortBy:
    """The ListFiles sort field for a sort key (UsageError for an unknown key)."""
    field = _SORT_BY.get(sort)
    if field is None:
        raise UsageError(f"invalid sort key {sort!r}; choose one of: {', '.join(SORT_KEYS)}")
    return field


def _page_limit(page_size: int) -> int:
    """A page size within what one ListFiles call may ask for (1 to PAGE_SIZE)."""
    return max(1, min(page_size, PAGE_SIZE))


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


def _may_repeat_delete(error: grpc.RpcError, attempt: int) -> bool:
    """UNAVAILABLE is retried up to RETRY_ATTEMPTS; a server failure (INTERNAL, UNKNOWN) once."""
    if rpc.is_unavailable(error):
        return attempt < RETRY_ATTEMPTS
    return rpc.status_of(error) in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) and attempt == 1
