"""Group commit for uploads handled on an event loop: the uploads that reach their commit while a group
is being published wait on the loop, and the next group (all of them, up to MAX_GROUP) is published
by one job on the thread pool: one transaction and one fsync, and one hand-off between the loop and
a thread, for the whole group.

The same idea as group_commit.GroupCommit, whose waiting is done by a thread per upload; here an
upload waiting for its group costs no thread at all.

An upload whose call ended while its group ran is not stored: the group asks each upload whether it
is still wanted right before inserting the rows (Storage._publish) and again right after, deleting
at once the file of one that no longer is (its call ended while the row went in).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from xai_files_cli.emulator.group_commit import MAX_GROUP, Ticket, share_failure
from xai_files_cli.emulator.storage import Storage, Upload, UploadCancelled


class PendingCommit:
    """One upload queued for a group: `ticket.error` tells, once `published`, whether its part failed
    (UploadCancelled: it was no longer wanted, and nothing of it is stored)."""

    __slots__ = ("_waiters", "published", "still_wanted", "ticket")

    def __init__(self, upload: Upload, still_wanted: Callable[[], bool]) -> None:
        self.ticket = Ticket(upload)
        self.still_wanted = still_wanted
        self.published = False
        self._waiters: list[asyncio.Future[None]] = []

    def wait(self) -> asyncio.Future[None]:
        """A future done once the upload's group has been published (a new one each time: cancelling
        one wait leaves the others)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.published:
            future.set_result(None)
        else:
            self._waiters.append(future)
        return future

    def _finish(self) -> None:
        self.published = True
        for future in self._waiters:
            if not future.done():
                future.set_result(None)
        self._waiters.clear()


class AsyncPublisher:
    """Publishes the uploads of one store in groups, from one event loop (not thread-safe: every call
    comes from that loop)."""

    def __init__(self, storage: Storage, executor: Executor | None, max_group: int = MAX_GROUP) -> None:
        self._storage = storage
        self._executor = executor
        self._max_group = max_group
        self._queue: list[PendingCommit] = []
        self._running = False

    def submit(self, upload: Upload, still_wanted: Callable[[], bool]) -> PendingCommit:
        """Queue `upload` (after `Upload.make_durable` with the same `still_wanted`) for the next group."""
        pending = PendingCommit(upload, still_wanted)
        self._queue.append(pending)
        if not self._running:  # the uploads reaching their commit in this turn of the loop join it
            self._running = True
            asyncio.get_running_loop().call_soon(self._publish_next)
        return pending

    def _publish_next(self) -> None:
        group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
        if not group:
            self._running = False
            return
        self._running = True
        loop = asyncio.get_running_loop()
        try:
            job = loop.run_in_executor(self._executor, _publish_group, self._storage, group)
        except RuntimeError as error:  # the pool is shut down: the server is stopping
            for pending in group:
                pending.ticket.error = error
            loop.call_soon(self._published, group)
            return
        job.add_done_callback(lambda _: self._published(group))

    def _published(self, group: list[PendingCommit]) -> None:
        for pending in group:
            pending._finish()
        self._publish_next()


def _publish_group(storage: Storage, group: list[PendingCommit]) -> None:
    """Publish a group (a failure of its shared steps fails every upload without an error of its own),
    then delete at once the file of each upload whose call ended meanwhile."""
    tickets = [pending.ticket for pending in group]
    try:
        storage._publish(tickets)
    except BaseException as error:
        share_failure(tickets, error)
    for pending in group:
        if pending.ticket.error is None and not pending.still_wanted():
            pending.ticket.error = UploadCancelled()
            try:
                storage.delete(pending.ticket.item.file_id)  # row, then blob, as any delete
            except Exception as error:  # the upload's own abort removes what is left of it
                pending.ticket.error = error
