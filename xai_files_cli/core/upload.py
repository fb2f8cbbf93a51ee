"""One upload's request stream and the rules for its attempts, shared by `FilesClient.upload` and the
batch engine (`core.batch`); only the waiting differs between the two.

- An attempt broken by UNAVAILABLE before the server replied and before every byte was handed over
  restarts from byte 0 (at most UPLOAD_ATTEMPTS in all); one broken after everything was sent is
  reported as "outcome unknown" and never resent (a replay could store a second copy).
- Back-pressure (the server turned the call away: nothing was stored) is waited out and restarted.
- The server's reply is checked against the bytes that were sent.
- After Ctrl-C or SIGTERM, `interrupt_report` says what became of the uploads it stopped, and
  `discard` deletes what the server stored meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import grpc

from xai_files_cli._pb import files_pb2
from xai_files_cli.core import rpc
from xai_files_cli.core.records import FileInfo
from xai_files_cli.core.transfer import MAX_UPLOAD_BYTES, Progress, TransferDeadline, UploadSource, too_large
from xai_files_cli.errors import (
    InternalError,
    Interrupted,
    Terminated,
    UnavailableError,
    UsageError,
    XaiError,
)

log = logging.getLogger("xai.files")

UPLOAD_ATTEMPTS = 3
# The deadline of each delete that removes a file stored after Ctrl-C or SIGTERM.
DISCARD_TIMEOUT = 5.0
MIN_ATTEMPT_SECONDS = 0.1  # the shortest deadline gRPC takes: what a last attempt gets at least

Notice = Callable[[str], None]
_CHECK_LS = "; the upload may have completed: check `xai files ls` before retrying"


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


def check_size(src: UploadSource) -> None:
    """RejectedError (before any RPC) for a source known to be over the service's 512 MB limit."""
    if src.size is not None and src.size > MAX_UPLOAD_BYTES:
        raise too_large(src.label, src.size)


class UploadBody:
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


class UploadAttempts:
    """The attempts of one upload: the request stream of each, whether and when to restart after a
    failed one, and the check of the server's reply.

    `restart_delay` counts restarts apart for their two reasons: after a broken connection (at most
    UPLOAD_ATTEMPTS attempts) and after back-pressure (at most `rpc.BACKPRESSURE.attempts`). The
    deadline is the whole upload's (`TransferDeadline`): each attempt gets what is left of it
    (`timeout`), and a restart whose wait would outlast it is not made.
    """

    def __init__(
        self,
        src: UploadSource,
        name: str,
        expires_after: int | None,
        *,
        progress: Progress,
        cancel: threading.Event,
        timeout: float,
        target: str | None,
        on_notice: Notice | None = None,
    ) -> None:
        self.operation = f"upload {name}"
        self._deadline = TransferDeadline(timeout)
        self._src = src
        self._init = files_pb2.UploadFileInit(name=name)
        if expires_after is not None:
            self._init.expires_after = expires_after
        self._progress = progress
        self._cancel = cancel
        self._target = target
        self._on_notice = on_notice
        self._attempt = 1  # among restarts after a broken connection
        self._busy = 0  # restarts after back-pressure

    @property
    def timeout(self) -> float:
        """The next attempt's deadline: what is left of the upload's."""
        return max(MIN_ATTEMPT_SECONDS, self._deadline.left())

    def body(self) -> UploadBody:
        """The request stream of the next attempt."""
        return UploadBody(self._src, self._init, self._progress, self._cancel)

    def restart_delay(self, error: grpc.RpcError, body: UploadBody) -> float:
        """After a failed attempt: rewind for a restart from byte 0 and return the backoff, or raise.

        Back-pressure (the server turned the call away: nothing was stored) is waited out quietly
        (said at -v), with `rpc.BACKPRESSURE`'s back-off or the server's pushback. Otherwise raises
        the local failure that broke the stream, or the mapped error when the attempt may not be
        repeated (see `_may_restart`).
        """
        if body.error is not None:
            raise body.error from None
        src = self._src
        if src.seekable and self._busy_again(error):
            delay = rpc.BACKPRESSURE.delay(self._busy, error)
            log.info(
                "%s: server busy (%s); retrying from start in %.2f s",
                self.operation,
                rpc.details_of(error),
                delay,
            )
            return self._restart_in(delay, body)
        attempt = self._attempt
        if not self._may_restart(error, body, attempt):
            raise self._error(error, body) from None
        message = (
            f"{self.operation}: upload interrupted after {body.sent:,} of "
            f"{_of(src.size)} bytes; retrying from start ({attempt + 1}/{UPLOAD_ATTEMPTS})"
        )
        log.info(message)
        if self._on_notice is not None:
            self._on_notice(message)
        self._attempt += 1
        return self._restart_in(rpc.UNAVAILABLE_BACKOFF.delay(attempt, restart=True), body)

    def _restart_in(self, delay: float, body: UploadBody) -> float:
        """Rewind for a restart after `delay` seconds, or raise the timeout when the upload's deadline
        would pass before that restart could run."""
        if delay + MIN_ATTEMPT_SECONDS >= self._deadline.left():
            raise self._timed_out(body)
        self._rewind(body)
        return delay

    def accept(self, reply: files_pb2.File, body: UploadBody) -> FileInfo:
        """The stored file's metadata once the server replied, checked against what we sent."""
        if body.error is not None:  # the server replied although our stream failed
            raise body.error
        if reply.size != body.sent:
            raise InternalError(
                f"{self.operation}: size mismatch: sent {body.sent} bytes, the server stored {reply.size}",
                file_id=reply.id,
            )
        return FileInfo.from_pb(reply)

    def _busy_again(self, error: BaseException) -> bool:
        """Count one more back-pressure restart after `error`; False when it was not one, or too many."""
        if not rpc.is_backpressure(error) or self._busy + 1 >= rpc.BACKPRESSURE.attempts:
            return False
        self._busy += 1
        return True

    def _rewind(self, body: UploadBody) -> None:
        """Stop the failed attempt's reads and go back to byte 0 for the next one."""
        body.close()
        self._progress.reset()
        self._src.rewind()

    def _may_restart(self, error: grpc.RpcError, body: UploadBody, attempt: int) -> bool:
        """Restart only a seekable upload cut by UNAVAILABLE before every byte was handed over."""
        if attempt >= UPLOAD_ATTEMPTS or not self._src.seekable or not rpc.is_unavailable(error):
            return False
        return rpc.never_reached_server(error) or not body.finished

    def _error(self, error: grpc.RpcError, body: UploadBody) -> XaiError:
        """What to report for an attempt that may not be repeated."""
        operation, src = self.operation, self._src
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
            return self._timed_out(body)
        return rpc.error_from_rpc(error, operation, target=self._target)

    def _timed_out(self, body: UploadBody) -> UnavailableError:
        """The upload's deadline passed (in an attempt, or before another could start)."""
        sent = f"{body.sent:,} of {_of(self._src.size)} bytes sent"
        return UnavailableError(
            f"{self.operation}: timed out after {self._deadline.seconds:g} s ({sent})",
            status="DEADLINE_EXCEEDED",
            hint=rpc.TIMEOUT_HINT + (_CHECK_LS if body.finished else ""),
        )


class Delete(Protocol):
    """`FilesClient.delete`, as `discard` calls it."""

    def __call__(self, file_id: str, *, timeout: float | None = None) -> object: ...


def discard(
    delete: Delete, stored: Sequence[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Delete the files (name, id) stored after an interrupt: the ids deleted, and (name, id,
    reason) of each that could not be."""
    deleted: list[str] = []
    failed: list[tuple[str, str, str]] = []
    for name, file_id in stored:
        try:
            delete(file_id, timeout=DISCARD_TIMEOUT)
        except XaiError as error:
            failed.append((name, file_id, error.message))
        except (KeyboardInterrupt, Terminated):
            failed.append((name, file_id, "interrupted again"))
        else:
            deleted.append(file_id)
    return deleted, failed


def interrupt_report(
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


def _of(size: int | None) -> str:
    return f"{size:,}" if size is not None else "?"
