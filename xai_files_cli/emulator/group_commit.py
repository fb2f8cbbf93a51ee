"""Group commit: the threads that reach the same slow, batchable step at once share one run of it.

A thread submits its item and either becomes the leader (no group is running: it runs the group
made of everything queued, its own item included) or waits. When a group ends, the leader wakes
every member with its result and hands leadership to the oldest item queued meanwhile, whose thread
then runs the next group. A lone caller runs its own group of one at once, so nothing waits for a
timer; under load the groups grow by themselves, and one transaction and one fsync serve them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
MAX_GROUP = 256


class Ticket(Generic[Item]):
    """One submitted item and its outcome: `error` stays None when its part of the group succeeded."""

    __slots__ = ("_done", "_wake", "error", "item")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.error: BaseException | None = None
        self._done = False
        # A one-shot signal, cheaper than an Event: held from the start, released once per wake-up
        # (to lead the next group, or because the item's group is done).
        self._wake = threading.Lock()
        self._wake.acquire()


class GroupCommit(Generic[Item]):
    """Runs `run(tickets)` over groups of concurrently submitted items (at most `max_group` at once).

    `run` records a failure of one item on its ticket (`ticket.error`); if `run` itself raises, every
    ticket of the group without an error gets that failure.
    """

    def __init__(self, run: Callable[[Sequence[Ticket[Item]]], None], max_group: int = MAX_GROUP) -> None:
        self._run = run
        self._max_group = max_group
        self._lock = threading.Lock()
        self._queue: list[Ticket[Item]] = []
        self._running = False

    def submit(self, item: Item) -> None:
        """Process `item` in a group; returns when done, raising the failure recorded for it."""
        ticket = Ticket(item)
        with self._lock:
            self._queue.append(ticket)
            lead = not self._running
            self._running = True
        if not lead:
            ticket._wake.acquire()
        while not ticket._done:  # woken as the next leader: our item is first in the queue
            self._lead()
        if ticket.error is not None:
            raise ticket.error

    def _lead(self) -> None:
        with self._lock:
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
        try:
            self._run(group)
        except BaseException as error:
            share_failure(group, error)
            raise
        finally:
            for ticket in group:
                ticket._done = True
            with self._lock:
                if self._queue:
                    self._queue[0]._wake.release()  # its thread leads the next group
                else:
                    self._running = False
            for ticket in group:
                ticket._wake.release()


def share_failure(tickets: Sequence[Ticket[Item]], error: BaseException) -> None:
    """A group's shared step failed with `error`: it becomes the failure of every ticket that has none
    of its own (an interruption, which must not reach the other threads as such, as a RuntimeError)."""
    shared = error if isinstance(error, Exception) else RuntimeError("the commit was interrupted")
    for ticket in tickets:
        if ticket.error is None:
            ticket.error = shared
