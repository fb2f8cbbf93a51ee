"""`xai_api.Files` servicer: the Files API's messages, rules and status codes on top of `storage.Storage`.

Status codes (every bad input gets a defined code, never UNKNOWN):
  INVALID_ARGUMENT    malformed upload stream (no/second/late init, empty stream, unset chunk),
                      bad filename or TTL, bad pagination token or filter, a public URL for a
                      type other than image/video/PDF, DOWNLOAD_FORMAT_TEXT for a type without
                      text extraction, a PDF whose text cannot be extracted within the limits
                      (time, pages, memory: pdf_text.py), an unknown enum value
  NOT_FOUND           unknown, deleted, expired or malformed file id
  DATA_LOSS           a listed file whose bytes are missing, unreadable or truncated on disk
  RESOURCE_EXHAUSTED  upload above the size limit (as soon as it is crossed), a request message above
                      the 20 MiB message limit (decoding.py), or the disk is full
  UNAVAILABLE         the database stayed locked by another process beyond the busy timeout
  INTERNAL            any other storage failure (the message names it; never a traceback)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import sqlite3
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, BinaryIO, NoReturn, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from xai_files_cli._pb import files_pb2, files_pb2_grpc
from xai_files_cli.emulator import content, pagination, sync_bridge
from xai_files_cli.emulator.async_commit import AsyncPublisher
from xai_files_cli.emulator.filters import FilterError, compile_filter
from xai_files_cli.emulator.pdf_text import ExtractionCancelled, PdfLimits
from xai_files_cli.emulator.storage import (
    BlobLostError,
    EntriesPage,
    FileRecord,
    FileTooLarge,
    PageQuery,
    ReadWouldBlock,
    Storage,
    StorageFull,
    Upload,
    add_files,
)
from xai_files_cli.emulator.validation import describe_id, filename_problem, is_file_id, ttl_problem
from xai_files_cli.emulator.wire_chunks import CHUNK_SIZE, WireChunks

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
MAX_PUBLIC_URL_SECONDS = 100 * 365 * 86400
_DISK_FULL_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_SORT_NAMES = {
    files_pb2.FILES_SORT_BY_CREATED_AT: "created_at",
    files_pb2.FILES_SORT_BY_FILENAME: "filename",
    files_pb2.FILES_SORT_BY_SIZE: "size",
}


_SERVICE = "xai_api.Files"


def to_timestamp(ns: int) -> Timestamp:
    """Nanoseconds since the epoch as a protobuf Timestamp."""
    return Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def to_proto(record: FileRecord) -> files_pb2.File:
    """The wire form of a stored file's metadata."""
    message = files_pb2.File(
        id=record.id,
        filename=record.filename,
        size=record.size,
        created_at=to_timestamp(record.created_at_ns),
    )
    if record.expires_at_ns is not None:
        message.expires_at.CopyFrom(to_timestamp(record.expires_at_ns))
    if record.public_url is not None:
        message.public_url = record.public_url
        if record.public_url_expires_at_ns is not None:
            message.public_url_expires_at.CopyFrom(to_timestamp(record.public_url_expires_at_ns))
    return message


def _built_page(storage: Storage, query: PageQuery) -> EntriesPage:
    """A list page built from its rows' columns: for pages holding a file with a live public URL, or
    one stored before list entries were kept."""
    rows, more = storage.list_rows(query)
    reply = files_pb2.ListFilesResponse()
    add_files(reply, rows)
    last = None
    if rows:
        file_id, filename, size, _, created_at_ns, *_ = rows[-1]
        last = (file_id, filename, size, created_at_ns)
    return EntriesPage(reply.SerializeToString(), len(rows), more, last)


def _serialized(reply: Any) -> bytes:
    """A reply's wire bytes: ListFiles hands over its reply serialized already, as RetrieveFileContent
    does each chunk of a file's original bytes."""
    return reply if type(reply) is bytes else reply.SerializeToString()


def add_files_servicer(servicer: FilesServicer, server: grpc.Server) -> None:
    """Register `servicer` on `server` as the generated `add_FilesServicer_to_server` does, except that
    ListFiles replies and RetrieveFileContent chunks that are wire bytes already (see
    `FilesServicer.ListFiles`, wire_chunks.py) are sent as they are."""
    pb = files_pb2
    handlers: dict[str, grpc.RpcMethodHandler] = {
        "UploadFile": grpc.stream_unary_rpc_method_handler(
            servicer.UploadFile, pb.UploadFileChunk.FromString, pb.File.SerializeToString
        ),
        "ListFiles": grpc.unary_unary_rpc_method_handler(
            servicer.ListFiles, pb.ListFilesRequest.FromString, _serialized
        ),
        "RetrieveFile": grpc.unary_unary_rpc_method_handler(
            servicer.RetrieveFile, pb.RetrieveFileRequest.FromString, pb.File.SerializeToString
        ),
        "DeleteFile": grpc.unary_unary_rpc_method_handler(
            servicer.DeleteFile, pb.DeleteFileRequest.FromString, pb.DeleteFileResponse.SerializeToString
        ),
        "RetrieveFileContent": grpc.unary_stream_rpc_method_handler(
            servicer.RetrieveFileContent,
            pb.RetrieveFileContentRequest.FromString,
            _serialized,
        ),
        "CreatePublicUrl": grpc.unary_unary_rpc_method_handler(
            servicer.CreatePublicUrl,
            pb.CreatePublicUrlRequest.FromString,
            pb.CreatePublicUrlResponse.SerializeToString,
        ),
        "RevokePublicUrl": grpc.unary_unary_rpc_method_handler(
            servicer.RevokePublicUrl,
            pb.RevokePublicUrlRequest.FromString,
            pb.RevokePublicUrlResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, handlers),))
    server.add_registered_method_handlers(_SERVICE, handlers)


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable: context.abort raises")


def storage_error_status(error: Exception) -> tuple[grpc.StatusCode, str]:
    """The defined status (instead of UNKNOWN) of a database or disk failure, and its message."""
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return grpc.StatusCode.UNAVAILABLE, "the server's database is busy; try again"
    disk_full = (isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS) or (
        isinstance(error, sqlite3.OperationalError) and "disk is full" in str(error)  # SQLITE_FULL
    )
    if disk_full:
        return grpc.StatusCode.RESOURCE_EXHAUSTED, "no space left on the server's disk"
    what = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
    return grpc.StatusCode.INTERNAL, f"server storage error: {what}"


def abort_for_storage_error(context: grpc.ServicerContext, error: Exception) -> NoReturn:
    """End a sync handler's call with the status of a database or disk failure."""
    _abort(context, *storage_error_status(error))


_Method = TypeVar("_Method", bound=Callable[..., Any])
_Result = TypeVar("_Result")


def _storage_errors(method: _Method) -> _Method:
    """Map sqlite3/OS errors raised by a handler (or by the stream it returns) to status codes."""

    @functools.wraps(method)
    def handler(self: FilesServicer, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            result = method(self, request, context)
        except (sqlite3.Error, OSError) as error:
            abort_for_storage_error(context, error)
        if isinstance(result, Iterator):
            return _guard_stream(result, context)
        return result

    return handler  # type: ignore[return-value]


def _guard_stream(stream: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
    try:
        yield from stream
    except (sqlite3.Error, OSError) as error:
        abort_for_storage_error(context, error)


async def _confirm_end_of_stream(context: grpc.aio.ServicerContext[Any, Any]) -> None:
    """Ask gRPC for one more message after the request stream ended.

    grpc.aio ends a request stream the same way for a clean half-close and for a stream that did
    not finish (cancelled by the client, cut by a dead connection, a receive the transport refused);
    the cancellation that tells them apart reaches the handler's task a moment later, at an await.
    This receive is one such await before the commit, which is another (`FilesServicer._commit`).
    Messages above the API's limit but within the transport's are refused by the handler itself
    (decoding.py), deterministically.
    """
    extra = await context.read()
    if extra is not grpc.aio.EOF:  # a message after the stream ended cannot happen; refuse to guess
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT, "unexpected message after the end of the upload"
        )


async def _result_in_pool(executor: Executor | None, work: Callable[[], _Result]) -> _Result:
    """`work()` run on the thread pool, or here when the pool is shut down (the server is stopping)."""
    try:
        job = asyncio.get_running_loop().run_in_executor(executor, work)
    except RuntimeError:
        return work()
    return await job


class _Wanted:
    """Whether an upload is still wanted: set on the loop, asked by the commit's thread."""

    __slots__ = ("still",)

    def __init__(self) -> None:
        self.still = True

    def __call__(self) -> bool:
        return self.still


async def _finished(job: Awaitable[_Result]) -> _Result:
    """`job`'s result; when this task is cancelled meanwhile, the cancellation goes on only once `job`
    has finished (a thread still working on an upload must be done before the upload is aborted)."""
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        await _despite_cancellation(job)
        raise


async def _despite_cancellation(job: Awaitable[_Result]) -> _Result | None:
    """`job`'s result once it has finished, however often this task is cancelled meanwhile; None if
    it failed (its own error was handled where it happened)."""
    future = asyncio.ensure_future(job)
    while not future.done():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(future)
    return None if future.cancelled() or future.exception() is not None else future.result()


def list_page(storage: Storage, request: files_pb2.ListFilesRequest) -> bytes:
    """The wire bytes of the ListFilesResponse for `request`: the stored entries of its files
    concatenated, then the pagination token; raises SyncAbort for a request the API refuses."""
    limit = min(request.limit, MAX_PAGE_SIZE) if request.limit > 0 else DEFAULT_PAGE_SIZE
    sort_value = request.sort_by if request.HasField("sort_by") else files_pb2.FILES_SORT_BY_CREATED_AT
    sort = _SORT_NAMES.get(sort_value)
    if sort is None:
        raise sync_bridge.SyncAbort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown sort_by value {sort_value}")
    if request.order not in (files_pb2.ASCENDING, files_pb2.DESCENDING):
        raise sync_bridge.SyncAbort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown order value {request.order}")
    descending = request.order == files_pb2.DESCENDING
    filter_text = request.filter if request.HasField("filter") and request.filter else None
    after = None
    if request.HasField("pagination_token") and request.pagination_token:
        try:
            cursor = pagination.decode(
                request.pagination_token, sort=sort, descending=descending, filter_text=filter_text
            )
        except pagination.TokenError as error:
            raise sync_bridge.SyncAbort(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        after = (cursor.value, cursor.file_id)
    where = None
    if filter_text is not None:
        try:
            compiled = compile_filter(filter_text, storage.now_ns())
        except FilterError as error:
            invalid = f"invalid filter: {error}"
            raise sync_bridge.SyncAbort(grpc.StatusCode.INVALID_ARGUMENT, invalid) from None
        where = (compiled.sql, compiled.params)
    query = PageQuery(sort, descending, limit, after, where)
    page = storage.list_entries(query) or _built_page(storage, query)
    if not (page.more and page.last):
        return page.entries
    file_id, filename, size, created_at_ns = page.last
    keys: dict[str, int | str] = {"created_at": created_at_ns, "filename": filename, "size": size}
    token = pagination.issue(
        pagination.Cursor(sort, descending, keys[sort], file_id, pagination.filter_digest(filter_text))
    )
    return page.entries + files_pb2.ListFilesResponse(pagination_token=token).SerializeToString()


class FilesServicer(files_pb2_grpc.FilesServicer):
    """Implements every Files RPC against one Storage."""

    def __init__(
        self,
        storage: Storage,
        public_url_base: Callable[[], str],
        pdf_limits: PdfLimits | None = None,
        executor: Executor | None = None,
    ) -> None:
        """`public_url_base()` gives e.g. `http://127.0.0.1:50052/public/`, where the data dir's public
        links are served over HTTP (public_http.py);
        `pdf_limits` bound the text extraction of PDFs for DOWNLOAD_FORMAT_TEXT;
        `executor` runs the blocking part of the async handlers (None: a pool of this servicer's own)."""
        self.storage = storage
        self.public_url_base = public_url_base
        self.pdf_limits = pdf_limits or PdfLimits()
        self.executor = executor or ThreadPoolExecutor(thread_name_prefix="xai-files")
        self.publisher = AsyncPublisher(storage, self.executor)

    # -- UploadFile ----------------------------------------------------------------------------

    async def UploadFile(
        self,
        request_iterator: AsyncIterable[files_pb2.UploadFileChunk],
        context: grpc.aio.ServicerContext[files_pb2.UploadFileChunk, files_pb2.File],
    ) -> files_pb2.File:
        """An upload, on the server's event loop: the messages are checked and their data kept (in
        memory, or a temp file for a large one) as they arrive; the commit, with its fsync, runs on the
        thread pool. A call that ends before the commit finished stores nothing (see `_commit`)."""
        requests = request_iterator.__aiter__()
        first = await anext(requests, None)
        if first is None:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "empty upload stream: the first message must be init"
            )
        if first.WhichOneof("chunk") != "init":
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the first upload message must be init, not data"
            )
        init = first.init
        problem = filename_problem(init.name)
        if problem is None and init.HasField("expires_after"):
            problem = ttl_problem(init.expires_after)
        if problem is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        ttl = init.expires_after if init.HasField("expires_after") else None
        try:
            upload = self.storage.begin_upload(init.name, ttl)
            try:
                index = 1
                async for message in requests:
                    index += 1
                    kind = message.WhichOneof("chunk")
                    if kind != "data":
                        what = "a second init" if kind == "init" else "an empty chunk (neither init nor data)"
                        await context.abort(
                            grpc.StatusCode.INVALID_ARGUMENT, f"upload message {index} is {what}"
                        )
                    upload.write(message.data)
                await _confirm_end_of_stream(context)
                record = await self._commit(upload)
            except BaseException:
                await self._discard(upload)
                raise
        except (FileTooLarge, StorageFull) as error:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
        except (sqlite3.Error, OSError) as error:
            await context.abort(*storage_error_status(error))
        return to_proto(record)

    async def _commit(self, upload: Upload) -> FileRecord:
        """Commit `upload`: its fsync (if it has a temp file) on the thread pool, then its row with the
        uploads committing at the same time (async_commit.py). When the call is cancelled meanwhile
        (the client went away, or its stream was cut: grpc may tell that only after the stream seemed
        to end), the group learns it before it inserts the row, or right after, and then deletes the
        file at once: a cancelled upload is not stored. A cancellation that comes only after its group
        is done leaves the file, complete, as a lost reply does."""
        wanted = _Wanted()
        loop = asyncio.get_running_loop()
        try:
            if upload.is_inline:
                upload.make_durable(wanted)  # nothing to fsync: no wait
            else:
                await _finished(loop.run_in_executor(self.executor, upload.make_durable, wanted))
            pending = self.publisher.submit(upload, wanted)
        except BaseException as error:
            await self._discard(upload)
            upload.fail_commit(error)
        try:
            await pending.wait()
        except asyncio.CancelledError:
            wanted.still = False
            while not pending.published:
                with contextlib.suppress(asyncio.CancelledError):
                    await pending.wait()
            if pending.ticket.error is None:
                upload.published()
            else:
                await self._discard(upload)
            raise
        if pending.ticket.error is not None:
            await self._discard(upload)
            upload.fail_commit(pending.ticket.error)
        return upload.published()

    async def _discard(self, upload: Upload) -> None:
        """Abort `upload` on the thread pool, however often this task is cancelled meanwhile: removing
        its temp file or blob and dropping its note (a database write that may wait for a busy lock)
        must never hold up the event loop. A no-op for an upload already done (abort is idempotent),
        so `fail_commit` after it only raises the failure."""
        await _despite_cancellation(_result_in_pool(self.executor, upload.abort))

    # -- ListFiles -----------------------------------------------------------------------------

    async def ListFiles(
        self, request: files_pb2.ListFilesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> bytes:
        """One page, returned as the reply's wire bytes (`add_files_servicer` sends them as they are).

        The page is read on the event loop when SQLite answers at once (a page takes well under a
        millisecond, less than a hand-off to a thread and back); a read that would run long (a filter
        that scans many files) or wait for a lock gives up and is made again on the thread pool, so
        the loop is never held up. A call cancelled meanwhile leaves that read to finish unseen."""
        try:
            try:
                with self.storage.quick_reads():
                    return list_page(self.storage, request)
            except ReadWouldBlock:
                return await _result_in_pool(
                    self.executor, functools.partial(list_page, self.storage, request)
                )
        except sync_bridge.SyncAbort as refusal:
            await context.abort(refusal.code, refusal.details)
        except (sqlite3.Error, OSError) as error:
            await context.abort(*storage_error_status(error))
        raise AssertionError("unreachable: context.abort raises")

    # -- RetrieveFile / DeleteFile -------------------------------------------------------------

    def _require(self, file_id: str, context: grpc.ServicerContext) -> FileRecord:
        record = self.storage.get(file_id) if is_file_id(file_id) else None
        if record is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, f"file {describe_id(file_id)} not found")
        return record

    @_storage_errors
    def RetrieveFile(self, request, context):
        return to_proto(self._require(request.file_id, context))

    @_storage_errors
    def DeleteFile(self, request, context):
        if not self.storage.delete(request.file_id):
            _abort(context, grpc.StatusCode.NOT_FOUND, f"file {describe_id(request.file_id)} not found")
        return files_pb2.DeleteFileResponse(id=request.file_id, deleted=True)

    # -- RetrieveFileContent -------------------------------------------------------------------

    async def RetrieveFileContent(
        self,
        request: files_pb2.RetrieveFileContentRequest,
        context: grpc.aio.ServicerContext[files_pb2.RetrieveFileContentRequest, bytes],
    ) -> AsyncIterator[files_pb2.FileContentChunk | bytes]:
        """The content, on the server's event loop: the lookup and open run on the thread pool; the
        original bytes go out as ready wire chunks, read on the loop from the page cache and on the
        pool from the disk, one chunk in memory besides those gRPC is sending (wire_chunks.py); the
        text form is the blocking stream `_text_stream`, run on the pool. A call that ends (answered,
        cancelled, timed out) reads no further chunk, and its blob is closed."""
        blob, record, as_text = await self._opened(request, context)
        if as_text:
            text = sync_bridge.streamed_on_pool(
                lambda _, sync: _guard_stream(self._text_stream(blob, record, sync), sync), self.executor
            )
            async for message in text(request, context):
                yield message
            return
        chunks = WireChunks(blob)
        context.add_done_callback(lambda _: chunks.close())  # type: ignore[arg-type]
        try:
            async for chunk in chunks.chunks(self.executor):
                yield chunk
        except (sqlite3.Error, OSError) as error:
            await context.abort(*storage_error_status(error))
        finally:
            chunks.close()

    async def _opened(
        self, request: files_pb2.RetrieveFileContentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> tuple[BinaryIO, FileRecord, bool]:
        """`_open_content` on the thread pool; its refusal ends the call with its status. A blob opened
        for a call cancelled meanwhile is closed."""
        sync: Any = sync_bridge.SyncContext(context)  # the sync ServicerContext's calls that it makes
        job = self.executor.submit(self._open_content, request, sync)
        try:
            return await asyncio.wrap_future(job)
        except sync_bridge.SyncAbort as refusal:
            await context.abort(refusal.code, refusal.details)
        except asyncio.CancelledError:
            job.add_done_callback(_close_opened)
            raise

    @_storage_errors
    def _open_content(
        self, request: files_pb2.RetrieveFileContentRequest, context: grpc.ServicerContext
    ) -> tuple[BinaryIO, FileRecord, bool]:
        """The open blob of the requested file, its record, and whether its text form is asked for;
        aborts with NOT_FOUND (unknown, deleted or expired), INVALID_ARGUMENT (an unknown format, text
        of a type without one) or DATA_LOSS (its bytes are lost)."""
        record = self._require(request.file_id, context)
        fmt = request.format if request.HasField("format") else files_pb2.DOWNLOAD_FORMAT_UNKNOWN
        if fmt not in (
            files_pb2.DOWNLOAD_FORMAT_UNKNOWN,
            files_pb2.DOWNLOAD_FORMAT_ORIGINAL,
            files_pb2.DOWNLOAD_FORMAT_TEXT,
        ):
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"unknown download format {fmt}")
        if fmt == files_pb2.DOWNLOAD_FORMAT_TEXT and not content.has_text_form(record.content_type):
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"no text extraction for this file's type ({record.content_type}); "
                "text is available for text files and PDFs",
            )
        try:
            blob = self.storage.open_blob(record.id)
        except BlobLostError as error:
            _abort(context, grpc.StatusCode.DATA_LOSS, f"{error}; it can only be deleted")
        if blob is None:  # deleted between the lookup and the open
            _abort(context, grpc.StatusCode.NOT_FOUND, f"file {describe_id(record.id)} not found")
        return blob, record, fmt == files_pb2.DOWNLOAD_FORMAT_TEXT

    def _text_stream(
        self, blob: BinaryIO, record: FileRecord, context: grpc.ServicerContext
    ) -> Iterator[files_pb2.FileContentChunk]:
        """The text form as messages of up to CHUNK_SIZE bytes (blocking: run on the pool)."""
        with blob:
            pieces = content.iter_text(
                blob,
                record.content_type,
                CHUNK_SIZE,
                pdf_limits=self.pdf_limits,
                cancelled=lambda: not context.is_active(),
            )
            try:
                for piece in pieces:
                    if not context.is_active():
                        return
                    yield files_pb2.FileContentChunk(data=piece)
            except ValueError as error:  # the PDF cannot be read (within the limits)
                _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
            except ExtractionCancelled:
                return
            finally:
                pieces.close()  # stops a PDF extraction child at once

    # -- public URLs ---------------------------------------------------------------------------

    @_storage_errors
    def CreatePublicUrl(self, request, context):
        record = self._require(request.file_id, context)
        if not content.is_publishable(record.content_type):
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"only images, videos and PDFs can have a public URL (this file is {record.content_type})",
            )
        expires_after = request.expires_after if request.HasField("expires_after") else None
        if expires_after is not None and not 0 < expires_after <= MAX_PUBLIC_URL_SECONDS:
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"expires_after must be between 1 and {MAX_PUBLIC_URL_SECONDS} seconds, got {expires_after}",
            )
        updated = self.storage.set_public_url(record.id, self.public_url_base(), expires_after)
        if updated is None or updated.public_url is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, f"file {describe_id(record.id)} not found")
        response = files_pb2.CreatePublicUrlResponse(public_url=updated.public_url)
        if updated.public_url_expires_at_ns is not None:
            response.expires_at.CopyFrom(to_timestamp(updated.public_url_expires_at_ns))
        return response

    @_storage_errors
    def RevokePublicUrl(self, request, context):
        change = self.storage.revoke_public_url(request.file_id) if is_file_id(request.file_id) else None
        if change is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, f"file {describe_id(request.file_id)} not found")
        response = files_pb2.RevokePublicUrlResponse(file_id=request.file_id, revoked=change.revoked)
        if change.public_url is not None:
            response.public_url = change.public_url
        return response


def _close_opened(job: Future[tuple[BinaryIO, FileRecord, bool]]) -> None:
    """Close the blob that `_open_content` opened for a call that ended meanwhile."""
    if not job.cancelled() and job.exception() is None:
        job.result()[0].close()
