"""Listing files: one cursor, or disjoint `created_at` windows read by concurrent cursors and merged.

The server gives one page of at most 100 files per round trip, so one cursor lists at the pace of
the round trip. For `--all` (and a limit over one page) on a server that honours the ListFiles
`filter`, the listing is split into disjoint `created_at` windows, each read by its own cursor (calls
in flight together on the one channel, no thread each), and the windows are put back together in the
order asked for, so the output is the one a single cursor would give:

- sorted by `created_at`: the windows follow each other in time, so their files are written window
  after window, each window in the server's own order (ties included). It starts as one window,
  the plain query whose first page is written at once; a window is split when a cursor is idle:
  it keeps its cursor but stops at a cut `c` (the time after which it hands over), and a new window
  `[c, end)` reads the rest. Cuts are chosen from the density of the files seen so far, so the
  windows next in line hold about WINDOW_PAGES pages each;
- sorted by `filename` or `size`: every window holds files from the whole key range, so the windows
  (equal slices of the time range) are merged by (key, id) in the asked direction: the tie order
  of the server (files with equal keys ordered by id, as the API and the emulator order them).

Memory stays flat: the windows next in line hold at most `concurrency x WINDOWS_PER_CURSOR x
WINDOW_PAGES` pages between them (read ahead or in flight), a time slice of a merge MERGE_PAGES.
Windows are used only after a probe showed that the server honours filters (`created_at` before
year 1 must select nothing): a server that rejects the filter (INVALID_ARGUMENT), or ignores it,
gets the single cursor. A user filter (`FileFilter`) is sent as a filter expression where the
language can say it and is always checked here as well, so a server that cannot filter still gives
the right files.
"""

from __future__ import annotations

import fnmatch
import functools
import heapq
import itertools
import operator
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from xai_files_cli.core.channel import CallAttempts
from xai_files_cli.core.records import FileInfo, JsonLayout
from xai_files_cli.errors import InternalError, UsageError, XaiError
from xai_files_cli.record import Record, field

if TYPE_CHECKING:
    from xai_files_cli.core.files import FilesClient

PAGE_SIZE = 100  # the API's largest page
DEFAULT_CONCURRENCY = 8
# Pages one created_at window holds when cut (its last page is partial, so bigger windows make fewer
# calls: 8 pages took 545 calls for 50,000 files where 2 took 625, and listed them ~20% faster both on
# loopback and behind a 20 ms round trip), and windows next in line that may read ahead, per cursor:
# together they bound the pages read ahead (cursors x WINDOWS_PER_CURSOR x WINDOW_PAGES).
WINDOW_PAGES = 8
WINDOWS_PER_CURSOR = 2
MERGE_PAGES = 2  # pages one time slice of a merged (name or size) order may hold
_NS = 1_000_000_000
# Selects nothing on a server that honours filters; a server that returns files for it ignores them.
_PROBE_FILTER = 'created_at < "0001-01-01T00:00:00Z"'
_GLOB_CHARS = frozenset("*?[")
_LIST_METHOD = "/xai_api.Files/ListFiles"


# -- the user's filter ------------------------------------------------------------------------------
class FileFilter(Record):
    """Which files a housekeeping command selects (all given conditions must hold).

    Times are nanoseconds since 1970 (UTC); sizes are bytes and exclusive (`larger_than=10` selects
    11 bytes and more). `labels` describe the conditions as the user wrote them (for messages).
    """

    name_glob: str | None = None
    created_before: int | None = None
    created_after: int | None = None
    larger_than: int | None = None
    smaller_than: int | None = None
    labels: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_empty(self) -> bool:
        return (
            self.name_glob is None
            and self.created_before is None
            and self.created_after is None
            and self.larger_than is None
            and self.smaller_than is None
        )

    def describe(self) -> str:
        """`name matches 'tmp-*', older than 7d`: the conditions in the user's own words."""
        return ", ".join(self.labels)

    def matches(self, name: str, size: int, created_ns: int) -> bool:
        """Whether a file with this name, size and creation time is selected."""
        if self.created_before is not None and not created_ns < self.created_before:
            return False
        if self.created_after is not None and not created_ns > self.created_after:
            return False
        if self.larger_than is not None and not size > self.larger_than:
            return False
        if self.smaller_than is not None and not size < self.smaller_than:
            return False
        return self.name_glob is None or fnmatch.fnmatchcase(name, self.name_glob)

    def expression(self) -> str | None:
        """The part of the filter the server's filter language can say, or None for nothing.

        A glob has no operator in that language: its literal prefix becomes a name range (exact for
        `prefix*`, a narrowing otherwise) and the glob itself is checked client-side.
        """
        parts: list[str] = []
        if self.name_glob is not None:
            parts += _name_conditions(self.name_glob)
        if self.created_before is not None:
            parts.append(f"created_at < {_quote(rfc3339_ns(self.created_before))}")
        if self.created_after is not None:
            parts.append(f"created_at > {_quote(rfc3339_ns(self.created_after))}")
        if self.larger_than is not None:
            parts.append(f"size_bytes > {self.larger_than}")
        if self.smaller_than is not None:
            parts.append(f"size_bytes < {self.smaller_than}")
        return " AND ".join(parts) or None

    def exact_on_server(self) -> bool:
        """Whether `expression()` selects exactly the matching files (no client-side part left)."""
        if self.name_glob is None:
            return True
        return _literal_prefix(self.name_glob)[1] in ("", "*")


def _literal_prefix(glob: str) -> tuple[str, str]:
    """The glob's text before its first wildcard, and the rest."""
    for index, char in enumerate(glob):
        if char in _GLOB_CHARS:
            return glob[:index], glob[index:]
    return glob, ""


def _name_conditions(glob: str) -> list[str]:
    prefix, rest = _literal_prefix(glob)
    if rest == "":
        return [f"name = {_quote(prefix)}"]
    if not prefix:
        return []
    conditions = [f"name >= {_quote(prefix)}"]
    upper = _next_prefix(prefix)
    if upper is not None:
        conditions.append(f"name < {_quote(upper)}")
    return conditions


def _next_prefix(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix` (code point order, which is
    UTF-8 byte order), or None when there is none."""
    chars = list(prefix)
    while chars:
        point = ord(chars[-1]) + 1
        if 0xD800 <= point <= 0xDFFF:  # surrogates are not characters; skip to the next one
            point = 0xE000
        if point <= 0x10FFFF:
            chars[-1] = chr(point)
            return "".join(chars)
        chars.pop()
    return None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rfc3339_ns(ns: int) -> str:
    """Nanoseconds since 1970 as an RFC 3339 UTC timestamp with nine fractional digits."""
    seconds, nanos = divmod(ns, _NS)
    try:
        moment = datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        moment = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc) if ns > 0 else datetime(1, 1, 1)
        nanos = 999_999_999 if ns > 0 else 0
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{nanos:09d}Z"


# -- the listing ----------------------------------------------------------------------------------
class ListQuery(Record):
    """What to list: sort key and order, how many (None: all), which files, how many cursors."""

    sort: str = "created_at"
    descending: bool = False
    limit: int | None = None
    filter: FileFilter | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    page_size: int = PAGE_SIZE
    as_json: bool = False  # hand out `FileInfo.to_json()` objects instead of FileInfo (faster)
    json_layout: JsonLayout | None = None  # hand out those objects' JSON texts (fastest)


class Listing:
    """The files of one query, in order, fetched as they are consumed: an iterator of FileInfo, of
    their JSON objects (`ListQuery.as_json`) or of those objects' texts (`ListQuery.json_layout`);
    `pages()` hands the same items out a list at a time.

    Close it (or use it as a context manager) when stopping early: that stops its cursors.
    `has_more()` after the limit was reached says whether more files match.
    """

    def __init__(self, client: FilesClient, query: ListQuery) -> None:
        if query.limit is not None and query.limit < 1:
            raise UsageError("the limit must be at least 1")
        self._engine = _Engine(client, query)
        self._chunks = self._engine.chunks()
        self._limit = query.limit
        self._count = 0
        self._chunk: list[Any] = []  # the chunk being handed out, from `_index` on
        self._index = 0

    def __iter__(self) -> Listing:
        return self

    def __next__(self) -> Any:
        if self._limit is not None and self._count >= self._limit:
            raise StopIteration
        while self._index >= len(self._chunk):
            self._chunk, self._index = next(self._chunks), 0
        item = self._chunk[self._index]
        self._index += 1
        self._count += 1
        return item

    def pages(self) -> Iterator[list[Any]]:
        """The items iteration would give, in order and within the limit, a non-empty list at a time
        (as the server's pages arrive), for writers that write a page at once."""
        while self._limit is None or self._count < self._limit:
            if self._index < len(self._chunk):
                page, self._chunk, self._index = self._chunk[self._index :], [], 0
            else:
                try:
                    page = next(self._chunks)
                except StopIteration:
                    return
            if self._limit is not None and len(page) > self._limit - self._count:
                room = self._limit - self._count
                self._chunk, self._index = page, room  # the rest stays unread (see has_more)
                page = page[:room]
            self._count += len(page)
            yield page

    def has_more(self) -> bool:
        """Whether files beyond those returned match (reads ahead only when it cannot tell otherwise)."""
        if self._index < len(self._chunk) or self._engine.surely_more():
            return True
        try:
            self._chunk, self._index = next(self._chunks), 0
        except StopIteration:
            return False
        return True

    def stats(self) -> dict[str, int]:
        """How the listing is being read: `windows` made so far (1: a single cursor), pages held
        (`buffered_pages`) and calls in flight (`in_flight`), for -v logs and tests."""
        engine = self._engine
        return {
            "windows": 1 + engine.made,
            "buffered_pages": sum(len(w.pages) for w in engine.windows),
            "in_flight": engine.in_flight,
        }

    def close(self) -> None:
        self._chunks.close()
        self._engine.stop()

    def __enter__(self) -> Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Window(Record, frozen=False, eq=False):
    """One cursor's share of the listing: files with `lo <= created_at < hi` (None: unbounded)."""

    lo: int | None = None
    hi: int | None = None
    started: bool = False
    query: str | None = None  # the filter its cursor runs with, fixed at its first fetch
    query_lo: int | None = None
    query_hi: int | None = None
    token: str | None = None
    tokens: set[str] = field(default_factory=set)
    done: bool = False
    busy: bool = False
    position: int | None = None  # created_at of the last file its cursor returned
    pages: deque[Sequence[Any]] = field(default_factory=deque)  # read, not handed out yet
    abandoned: bool = False  # replaced by other windows; a late reply is dropped
    seen_files: int = 0  # files its cursor returned, and the time they spanned (its density)
    seen_span: int = 0

    def holds(self, created: int) -> bool:
        """Whether its query can return a file created at `created` (a server honouring the filter)."""
        return (self.query_lo is None or created >= self.query_lo) and (
            self.query_hi is None or created < self.query_hi
        )

    def unread(self) -> bool:
        return bool(self.pages)


class _Bounds(Record):
    """The oldest and newest created_at of the listed files when the listing began."""

    low: int
    high: int


class _Engine:
    """Schedules the cursors' page fetches and hands out the files in order (see the module doc).

    All bookkeeping runs in the consuming thread; the calls (`_Calls`) post each reply (or error) to
    `_events` from gRPC's thread.
    """

    def __init__(self, client: FilesClient, query: ListQuery) -> None:
        self.client = client
        self.query = query
        self.by_time = query.sort == "created_at"
        self.convert = _converter(query)
        flt = query.filter if query.filter is not None and not query.filter.is_empty else None
        self.predicate = flt
        self.server_filter = flt.expression() if flt is not None else None
        self.exact = flt is None or flt.exact_on_server()
        one_page = query.limit is not None and query.limit <= query.page_size
        self.cursors = 1 if one_page else max(1, query.concurrency)
        self.first = _Window()  # the plain query: the whole listing until windows take over
        self.windows: list[_Window] = [self.first]
        self.head = 0  # windows before it are finished and handed out
        self.windowed = False  # the probes passed: windows may be made
        self.deciding = self.cursors > 1 and not self.by_time  # merged order: slices or one cursor?
        self.bounds = _Bounds(0, 0)
        self.probes: dict[str, Any] = {}
        self.probes_wanted: tuple[str, ...] = ()
        self.probing = False  # probes go out once the first page shows that more pages follow
        self.in_flight = 0
        self.made = 0  # windows made besides the first
        self.seen_files = 0
        self.seen_span = 0
        self._events: queue.SimpleQueue[tuple[str, Any, Any]] = queue.SimpleQueue()
        self._calls: _Calls | None = None

    # -- public ------------------------------------------------------------------------------------
    def chunks(self) -> Generator[list[Any], None, None]:
        """Every matching file in the asked order, in non-empty lists (the Listing applies the limit)."""
        try:
            self.probing = self.cursors > 1
            pages = self._in_sequence() if self.by_time or self.cursors == 1 else self._merged()
            convert = self.convert
            for page in pages:
                yield convert(page)
        finally:
            self.stop()

    def surely_more(self) -> bool:
        """True when files are known to remain without reading further (False: unknown or none)."""
        if not self.exact:
            return False
        return any(w.unread() or not w.done for w in self.windows[self.head :])

    def stop(self) -> None:
        if self._calls is not None:
            self._calls.stop()
            self._calls = None

    # -- handing out -------------------------------------------------------------------------------
    def _in_sequence(self) -> Iterator[Sequence[Any]]:
        while self.head < len(self.windows):
            yield from self._window_pages(self.windows[self.head])
            self.head += 1

    def _merged(self) -> Iterator[Sequence[Any]]:
        """Files sorted by name or size: time slices merged by (key, id), or the one cursor."""
        first = self.first
        while not (first.started and not first.busy) or len(self.probes) < len(self.probes_wanted):
            self._pump()
        self.deciding = False
        if first.done or not self.windowed:
            yield from self._in_sequence()
            return
        first.done, first.abandoned, first.pages = True, True, deque()  # it read across every slice
        self.windows = self._time_slices()
        key = operator.attrgetter("filename" if self.query.sort == "filename" else "size", "id")
        streams = [itertools.chain.from_iterable(self._window_pages(window)) for window in self.windows]
        merged = heapq.merge(*streams, key=key, reverse=self.query.descending)
        while chunk := list(itertools.islice(merged, self.query.page_size)):
            yield chunk

    def _window_pages(self, window: _Window) -> Iterator[Sequence[Any]]:
        while True:
            if window.pages:
                yield window.pages.popleft()
            elif window.done:
                return
            else:
                self._pump()

    # -- scheduling --------------------------------------------------------------------------------
    def _pump(self) -> None:
        """Start the fetches there is room for, then take in one reply."""
        self._schedule()
        if self.in_flight == 0:
            raise InternalError("list files: the listing stalled (no request in flight)")
        kind, target, outcome = self._events.get()
        self.in_flight -= 1
        if kind == "probe":
            self.probes[target] = outcome
            if len(self.probes) == len(self.probes_wanted):
                self._settle_probes()
            return
        target.busy = False
        if target.abandoned:
            return
        if isinstance(outcome, BaseException):
            self._fetch_failed(target, outcome)
        else:
            self._take(target, outcome)
            if self.probing and target is self.first and not target.done:
                self._start_probes()

    def _schedule(self) -> None:
        while self.in_flight < self.cursors:
            near = self._near_windows()
            room = self._page_room(near)
            ready = [w for w in near if self._fetchable(w, room)]
            busy = sum(1 for w in near if w.busy)
            if self.windowed and self.by_time and self._split(near, idle=busy + len(ready) < self.cursors):
                continue
            if not ready:
                return
            if not self.by_time:  # a merge waits on its emptiest window
                ready.sort(key=lambda w: len(w.pages))
            self._fetch(ready[0])

    def _near_windows(self) -> list[_Window]:
        """The open windows next in output order, as many as may read ahead (the rest wait)."""
        near: list[_Window] = []
        for window in self.windows[self.head :]:
            if window.done and not window.unread():
                continue
            near.append(window)
            if len(near) == self.cursors * WINDOWS_PER_CURSOR:
                break
        return near

    def _page_room(self, near: list[_Window]) -> bool:
        """In created_at order, whether the windows next in line may hold another page: they share
        one budget (a window reads ahead as far as the budget allows, nearest first)."""
        held = sum(len(w.pages) + w.busy for w in near)
        return held < self.cursors * WINDOWS_PER_CURSOR * WINDOW_PAGES

    def _fetchable(self, window: _Window, room: bool = True) -> bool:
        if window.done or window.busy:
            return False
        if self.by_time:  # the next window to hand out may always read; the others within the budget
            if not room and window is not self.windows[self.head]:
                return False
        elif len(window.pages) >= MERGE_PAGES:  # a merge needs every window: a few pages each
            return False
        if window is self.first:
            return not (self.deciding and window.started)
        return self.windowed

    def _fetch(self, window: _Window) -> None:
        if not window.started:
            window.started = True
            window.query_lo, window.query_hi = window.lo, window.hi
            window.query = self._filter_for(window.lo, window.hi)
        window.busy = True
        size = self.query.page_size
        if self.cursors == 1 and self.exact and self.query.limit is not None:
            size = min(size, self.query.limit)  # one short page when that is all that is wanted
        request = self.client.list_request(
            sort=self.query.sort,
            descending=self.query.descending,
            page_size=size,
            token=window.token,
            filter=window.query,
        )
        self._submit("page", window, request)

    def _filter_for(self, lo: int | None, hi: int | None) -> str | None:
        """The user's filter (as far as the language says it) and the window's time range."""
        bounds = []
        if lo is not None:
            bounds.append(f"created_at >= {_quote(rfc3339_ns(lo))}")
        if hi is not None:
            bounds.append(f"created_at < {_quote(rfc3339_ns(hi))}")
        if not bounds:
            return self.server_filter
        own = [f"({self.server_filter})"] if self.server_filter else []
        return " AND ".join(own + bounds)

    def _submit(self, kind: str, target: Any, request: Any) -> None:
        if self._calls is None:
            self._calls = _Calls(self.client, self._events)
        self.in_flight += 1
        self._calls.submit(kind, target, request)

    # -- replies -----------------------------------------------------------------------------------
    def _take(self, window: _Window, reply: Any) -> None:
        """Keep a page's matching files (the `File` messages; converted when handed out); end the
        window at its cut or its last page."""
        if self.by_time and self.predicate is None:
            self._take_in_time_order(window, reply)
            return
        kept: list[Any] = []
        accept = self.predicate.matches if self.predicate is not None else None
        first_created: int | None = None
        read = 0
        for message in reply.data:
            created = _created_ns(message)
            if not window.holds(created):
                raise _outside_the_window()
            if self._past_cut(window, created):
                window.done = True
                break
            read += 1
            first_created = created if first_created is None else first_created
            window.position = created
            if accept is None or accept(message.filename, message.size, created):
                kept.append(message)
        else:
            self._advance(window, reply)
        if first_created is not None and window.position is not None:
            self._count_seen(window, read, abs(window.position - first_created))
        if kept:
            window.pages.append(kept)

    def _take_in_time_order(self, window: _Window, reply: Any) -> None:
        """`_take` for a page in created_at order that every file passes: only the times at its ends
        are read, as every file between them lies between them in time."""
        data = reply.data
        if not data:
            self._advance(window, reply)
            return
        first, last = _created_ns(data[0]), _created_ns(data[-1])
        if not (window.holds(first) and window.holds(last)):
            raise _outside_the_window()
        count = len(data)
        if self._past_cut(window, last):
            window.done = True
            count = next(i for i, message in enumerate(data) if self._past_cut(window, _created_ns(message)))
            if count == 0:
                return
            last = _created_ns(data[count - 1])
        else:
            self._advance(window, reply)
        window.position = last
        self._count_seen(window, count, abs(last - first))
        window.pages.append(data if count == len(data) else data[:count])  # converted when handed out

    def _count_seen(self, window: _Window, files: int, span: int) -> None:
        """Note that `window`'s cursor read `files` files spanning `span` ns (the densities cuts use)."""
        self.seen_files, self.seen_span = self.seen_files + files, self.seen_span + span
        window.seen_files, window.seen_span = window.seen_files + files, window.seen_span + span

    def _advance(self, window: _Window, reply: Any) -> None:
        token = reply.pagination_token if reply.HasField("pagination_token") else ""
        if not token or not reply.data:
            window.done = True
            return
        if token in window.tokens:  # a server bug must not loop forever
            raise InternalError("list files: the server repeated a pagination token")
        window.tokens.add(token)
        window.token = token

    def _past_cut(self, window: _Window, created: int) -> bool:
        if not self.by_time:
            return False
        if self.query.descending:
            return window.lo is not None and created < window.lo
        return window.hi is not None and created >= window.hi

    def _fetch_failed(self, window: _Window, error: BaseException) -> None:
        rejected = isinstance(error, XaiError) and error.status == "INVALID_ARGUMENT"
        if rejected and window is self.first and window.query and not window.tokens and not self.windowed:
            # The server does not take our filter: one cursor, every condition checked here.
            self.server_filter, self.exact = None, False
            self.probes_wanted, self.probing = (), False
            window.started, window.query = False, None
            return
        raise error

    # -- probes and windows ------------------------------------------------------------------------
    def _start_probes(self) -> None:
        """Ask, once the first page shows that more follow, whether filters work and where the time
        range ends (a listing of one page, or a server that fails at once, costs one call)."""
        self.probing = False
        self.probes_wanted = ("filter", "low", "high")
        self._submit("probe", "filter", self._probe_request(_PROBE_FILTER, descending=False))
        for name, descending in (("low", False), ("high", True)):
            self._submit("probe", name, self._probe_request(self.server_filter, descending=descending))

    def _probe_request(self, text: str | None, *, descending: bool) -> Any:
        return self.client.list_request(
            sort="created_at", descending=descending, page_size=1, token=None, filter=text
        )

    def _settle_probes(self) -> None:
        """Windows are made only when filters are honoured and there are files to split."""
        honoured, low, high = (self.probes[name] for name in self.probes_wanted)
        replies = (honoured, low, high)
        if any(isinstance(reply, BaseException) for reply in replies):
            return
        if honoured.data or not low.data or not high.data:
            return
        first, last = low.data[0].created_at, high.data[0].created_at
        self.bounds = _Bounds(first.seconds * _NS + first.nanos, last.seconds * _NS + last.nanos)
        self.windowed = True

    def _time_slices(self) -> list[_Window]:
        """Equal slices of the time range, the outer ones unbounded (for the merged orders)."""
        low, high = self.bounds.low, self.bounds.high + 1
        count = max(1, min(self.cursors * 2, high - low))
        cuts = [low + (high - low) * i // count for i in range(1, count)]
        edges: list[int | None] = [None, *cuts, None]
        self.made = count - 1
        return [_Window(lo=edges[i], hi=edges[i + 1]) for i in range(count)]

    def _split(self, near: list[_Window], *, idle: bool) -> bool:
        """Cut the first window next in line that holds more than a window's share; False if none
        is cut (created_at order).

        A window whose own pages show it is too big is always cut, so no cursor reads a long run of
        pages on its own while the others wait; one not read yet only to give an `idle` cursor work,
        and only while fewer windows than may read ahead are open.
        """
        room = len(near) < self.cursors * WINDOWS_PER_CURSOR
        for window in near:
            if window.done or window.busy or not (window.seen_files or (idle and room)):
                continue
            span = self._remaining(window)
            share = self._share_span(window)
            if span is None or (share is not None and span[1] - span[0] <= share):
                continue
            self.windows.insert(self.windows.index(window) + 1, self._cut(window, *span, share))
            self.made += 1
            return True
        return False

    def _share_span(self, window: _Window) -> int | None:
        """The time span that holds about WINDOW_PAGES pages at the density of the window's own
        files (else of all files seen so far); None when nothing was seen yet."""
        files, span = window.seen_files, window.seen_span
        if files < 2:
            files, span = self.seen_files, self.seen_span
        if not files:
            return None
        return max(1, WINDOW_PAGES * self.query.page_size * span // files)

    def _remaining(self, window: _Window) -> tuple[int, int] | None:
        """The created_at range [a, b) its unread files lie in, when it can be cut in two."""
        low = window.lo if window.lo is not None else self.bounds.low
        high = window.hi if window.hi is not None else self.bounds.high + 1
        if window.position is not None:
            if self.query.descending:
                high = min(high, window.position + 1)
            else:
                low = max(low, window.position)
        return (low, high) if high - low >= 2 else None

    def _cut(self, window: _Window, low: int, high: int, share: int | None) -> _Window:
        """Cut `window` so it keeps about one share of [low, high); return the window for the rest.

        Files at the window's current position stay with it (its cursor returns them in the
        server's tie order), so the cut is always past that position.
        """
        step = (high - low) // 2 if share is None else min((high - low) // 2, share)
        if self.query.descending:
            cut = high - step
            rest = _Window(lo=window.lo, hi=cut)
            window.lo = cut
        else:
            cut = low + step
            rest = _Window(lo=cut, hi=window.hi)
            window.hi = cut
        return rest


def _created_ns(message: Any) -> int:
    stamp = message.created_at
    return int(stamp.seconds * _NS + stamp.nanos)


def _outside_the_window() -> InternalError:
    return InternalError(
        "list files: the server returned a file outside the requested created_at range "
        "(it does not honour the filter)"
    )


def _converter(query: ListQuery) -> Callable[[Sequence[Any]], list[Any]]:
    """What a page of listed `File` messages becomes: FileInfo, their JSON objects, or those objects'
    texts."""
    if query.json_layout is not None:
        return functools.partial(FileInfo.json_texts_from_pb, layout=query.json_layout)
    each = FileInfo.json_from_pb if query.as_json else FileInfo.from_pb
    return lambda page: list(map(each, page))


class _Calls:
    """The listing's ListFiles calls, made without a thread each: every call is a gRPC future whose
    outcome (the reply, or the XaiError it failed with) is posted to `events` from gRPC's own thread.

    A call the server turns away with back-pressure is repeated after the back-off, within its
    deadline, as blocking calls are (the wait runs on a timer thread). `stop` cancels the calls still
    in flight and the retries still waiting; outcomes that arrive after it are dropped. A Ctrl-C or
    SIGTERM that lands while a call is being started is raised, never posted as the call's outcome.
    """

    def __init__(self, client: FilesClient, events: queue.SimpleQueue[Any]) -> None:
        self._client = client
        self._events = events
        self._lock = threading.Lock()
        self._running: set[Any] = set()
        self._waiting: dict[int, threading.Timer] = {}  # retries by the id of their task
        self._stopped = False

    def submit(self, kind: str, target: Any, request: Any) -> None:
        self._start(_Task(kind, target, request, time.monotonic()), None)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            running, self._running = self._running, set()
            waiting, self._waiting = self._waiting, {}
        for retry in waiting.values():
            retry.cancel()
        for call in running:
            call.cancel()

    def _start(self, task: _Task, attempts: CallAttempts | None) -> None:
        with self._lock:
            if self._stopped:
                return
            try:
                call = self._client.list_call(task.request, None if attempts is None else attempts.timeout())
            except Exception as error:  # e.g. a closed channel: the consuming thread raises it
                self._events.put((task.kind, task.target, error))
                return
            self._running.add(call)
        call.add_done_callback(lambda done: self._finished(done, task, attempts))

    def _retry(self, task: _Task, attempts: CallAttempts) -> None:
        with self._lock:
            self._waiting.pop(id(task), None)
        self._start(task, attempts)

    def _finished(self, call: Any, task: _Task, attempts: CallAttempts | None) -> None:
        with self._lock:
            self._running.discard(call)
            if self._stopped:
                return
        try:
            error = call.exception()
            if error is not None:
                if attempts is None:
                    attempts = CallAttempts(_LIST_METHOD, self._client.call_timeout, task.started)
                delay = attempts.retry_delay(error)
                if delay is not None:
                    retry = threading.Timer(delay, self._retry, (task, attempts))
                    retry.daemon = True
                    with self._lock:
                        if self._stopped:
                            return
                        self._waiting[id(task)] = retry  # the task lives as long as its timer
                    retry.start()
                    return
            outcome: Any = self._client.list_reply(call)
        except Exception as failure:  # handed to the consuming thread, which raises it
            outcome = failure
        self._events.put((task.kind, task.target, outcome))


class _Task(Record):
    """One ListFiles request of the listing: what its reply is for, and when it was first sent."""

    kind: str
    target: Any
    request: Any
    started: float
