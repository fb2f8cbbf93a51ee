"""What `xai files ls` and `xai files rm` do: listing (streamed in every format) and deleting by id,
by ids read from stdin, or by a filter (`--name`, `--older-than`, `--newer-than`, `--larger-than`,
`--smaller-than`), with `--dry-run` plans.

The commands' parameters are declared in `cli/files.py`; the work is here. Filters are sent as the
server's filter expression where it can say them and always checked on the client too
(`core.listing.FileFilter`).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from xai_files_cli.errors import AlreadyReported, Interrupted, PartialFailure, UsageError, XaiError
from xai_files_cli.record import Record

if TYPE_CHECKING:
    from concurrent.futures import Future

    from xai_files_cli.cli.context import AppContext
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.listing import FileFilter, Listing
    from xai_files_cli.core.records import DeleteResult, FileInfo

DEFAULT_LIMIT = 100
DELETE_WORKERS = 8  # deletes in flight for a filter or ids from stdin
CONCURRENCY_ENV = "XAI_LIST_CONCURRENCY"
FILTER_FLAGS = "--name, --older-than, --newer-than, --larger-than, --smaller-than"


# -- filters --------------------------------------------------------------------------------------
def build_filter(
    *,
    name: str | None,
    older_than: int | None,
    newer_than: int | None,
    larger_than: int | None,
    smaller_than: int | None,
    now_ns: int | None = None,
) -> FileFilter | None:
    """The FileFilter for these flags (durations in seconds, sizes in bytes), or None for no flag."""
    from xai_files_cli.core.listing import FileFilter
    from xai_files_cli.output.files import size_with_bytes

    if name is not None and not name:
        raise UsageError("--name must not be empty")
    now = time.time_ns() if now_ns is None else now_ns
    labels: list[str] = []
    if name is not None:
        labels.append(f"with a name matching {name!r}")
    if older_than is not None:
        labels.append(f"older than {_duration_words(older_than)}")
    if newer_than is not None:
        labels.append(f"newer than {_duration_words(newer_than)}")
    if larger_than is not None:
        labels.append(f"larger than {size_with_bytes(larger_than)}")
    if smaller_than is not None:
        labels.append(f"smaller than {size_with_bytes(smaller_than)}")
    if not labels:
        return None
    return FileFilter(
        name_glob=name,
        created_before=None if older_than is None else now - older_than * 1_000_000_000,
        created_after=None if newer_than is None else now - newer_than * 1_000_000_000,
        larger_than=larger_than,
        smaller_than=smaller_than,
        labels=tuple(labels),
    )


def _duration_words(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def list_concurrency() -> int:
    """Cursors for a long listing: XAI_LIST_CONCURRENCY (1 = a single cursor), else the default."""
    from xai_files_cli.core.listing import DEFAULT_CONCURRENCY

    raw = os.environ.get(CONCURRENCY_ENV, "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise UsageError(f"invalid {CONCURRENCY_ENV} {raw!r}: use a whole number from 1 to 64")
    return int(raw)


# -- ls -------------------------------------------------------------------------------------------
class LsRequest(Record):
    """What `xai files ls` was asked for, checked."""

    sort: str
    descending: bool
    limit: int | None  # None: every file
    where: FileFilter | None
    output: str  # "table", "json", "jsonl" or "ids"
    pager: bool


def run_ls(app_ctx: AppContext, request: LsRequest) -> None:
    """List files in the asked format, streamed as pages arrive."""
    from xai_files_cli.output import machine

    io = app_ctx.io
    client = app_ctx.files()
    layouts = {"json": machine.ARRAY_ELEMENT, "jsonl": machine.JSONL_LINE}
    listing = client.iter_files(
        sort=request.sort,
        descending=request.descending,
        limit=request.limit,
        where=request.where,
        concurrency=list_concurrency(),
        as_json=request.output != "table",
        json_layout=layouts.get(request.output),  # json and jsonl are written from the files' texts
    )
    with listing:
        if request.output == "jsonl":
            machine.write_jsonl_pages(io, listing.pages())
        elif request.output == "ids":
            machine.write_lines(io, (item["id"] for item in listing))
        elif request.output == "json":
            machine.write_json_array_pages(io, listing.pages())
        else:
            _print_table(app_ctx, request, listing)


def _print_table(app_ctx: AppContext, request: LsRequest, listing: Listing) -> None:
    from xai_files_cli.output.listing import print_files_stream
    from xai_files_cli.output.pager import pager_command, stdout_is_terminal

    io = app_ctx.io
    pager = pager_command() if request.pager and stdout_is_terminal(io.stdout) else None

    def footer(count: int) -> str | None:
        if request.limit is None or count < request.limit or not listing.has_more():
            return None
        return f"showing the {_first_words(request, count)}; --all for every file"

    empty = "No files." if request.where is None else f"No files {request.where.describe()}."
    print_files_stream(io, listing, pager=pager, footer=footer, empty=empty)


def _first_words(request: LsRequest, count: int) -> str:
    """`newest 100`, `oldest 20`, `largest 100`, `first 100 by name` ..."""
    if request.sort == "created_at":
        return f"{'newest' if request.descending else 'oldest'} {count}"
    if request.sort == "size":
        return f"{'largest' if request.descending else 'smallest'} {count}"
    return f"{'last' if request.descending else 'first'} {count} by name"


# -- rm -------------------------------------------------------------------------------------------
class RmRequest(Record):
    """What `xai files rm` was asked for, checked."""

    file_ids: tuple[str, ...]
    from_stdin: bool
    where: FileFilter | None
    yes: bool
    dry_run: bool
    json_output: bool


def check_rm(
    app_ctx: AppContext, file_ids: list[str], where: FileFilter | None, yes: bool, dry_run: bool
) -> None:
    """Usage errors of `rm`, found before any RPC (exit 2, nothing deleted)."""
    if where is not None and file_ids:
        raise UsageError(f"give file ids or a filter ({FILTER_FLAGS}), not both")
    if where is None and not file_ids:
        raise UsageError(
            "give the ids of the files to delete, - to read them from stdin, "
            "or a filter such as --older-than 7d"
        )
    if "-" in file_ids and len(file_ids) > 1:
        raise UsageError("- (read ids from stdin) cannot be combined with other ids")
    if where is not None and not (yes or dry_run or app_ctx.io.can_prompt):
        raise UsageError(
            "deleting the files a filter selects needs --yes when nobody can be asked "
            "(or --dry-run to see them); nothing deleted"
        )


def run_rm(app_ctx: AppContext, request: RmRequest) -> None:
    """Delete (or, with --dry-run, plan to delete) the files the request names or selects."""
    client = app_ctx.files()
    if request.where is not None:
        _remove_selected(app_ctx, client, request)
    else:
        _remove_ids(app_ctx, client, request)


def read_ids(app_ctx: AppContext) -> tuple[str, ...]:
    """File ids from stdin: whitespace-separated, blank lines skipped, repeats kept once."""
    data = app_ctx.io.stdin.read()
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
    return tuple(dict.fromkeys(text.split()))


class _Target(Record):
    """One file to delete: its id, and its name and size when known."""

    id: str
    name: str | None = None
    size: int | None = None


def _remove_selected(app_ctx: AppContext, client: FilesClient, request: RmRequest) -> None:
    assert request.where is not None
    where = request.where
    listing = client.iter_files(descending=True, where=where, concurrency=list_concurrency())
    reason = where.describe()
    if request.dry_run:
        with listing:
            _print_plan(app_ctx, request, listing, reason)
        return
    with listing:
        targets = [_Target(info.id, info.filename, info.size) for info in listing]
    if not targets:
        app_ctx.say.info(f"no files {reason}; nothing deleted")
        return
    total = sum(t.size or 0 for t in targets)
    if not request.yes:
        from xai_files_cli.output.files import human_size

        noun = "file" if len(targets) == 1 else "files"
        question = f"Delete {len(targets)} {noun} ({human_size(total)}) {reason}?"
        if not app_ctx.prompter.confirm(question):
            raise Interrupted("cancelled; nothing deleted")
    _delete_all(
        app_ctx, client, targets, workers=DELETE_WORKERS, summary=True, json_lines=request.json_output
    )


def _remove_ids(app_ctx: AppContext, client: FilesClient, request: RmRequest) -> None:
    ids = request.file_ids
    if not ids:
        app_ctx.say.info("no file ids on stdin; nothing deleted")
        return
    if request.dry_run:
        _plan_ids(app_ctx, client, request)
        return
    if app_ctx.io.can_prompt and not request.yes and not request.from_stdin:
        shown = ", ".join(_label(client, i) for i in ids[:3]) + (", ..." if len(ids) > 3 else "")
        question = f"Delete {shown}?" if len(ids) == 1 else f"Delete {len(ids)} files: {shown}?"
        if not app_ctx.prompter.confirm(question):
            raise Interrupted("cancelled; nothing deleted")
    workers = DELETE_WORKERS if request.from_stdin else 1
    targets = [_Target(i) for i in ids]
    _delete_all(app_ctx, client, targets, workers=workers, summary=False, json_lines=request.json_output)


def _label(client: FilesClient, file_id: str) -> str:
    """`name (id)` for a confirmation prompt, so people see what they delete; the id alone if unknown."""
    from xai_files_cli.output.sanitize import escape_terminal

    try:
        name = client.get(file_id).filename
    except XaiError:
        return escape_terminal(file_id)
    return f"{escape_terminal(name)} ({escape_terminal(file_id)})"


def _delete_all(
    app_ctx: AppContext,
    client: FilesClient,
    targets: list[_Target],
    *,
    workers: int,
    summary: bool,
    json_lines: bool = False,
) -> None:
    """Delete each target (up to `workers` at once), reporting each in order (with `json_lines`, one
    `{id, deleted, already_deleted}` line each); exit 0, 7 or the error's."""
    from xai_files_cli.cli.reporting import report_error
    from xai_files_cli.output import machine
    from xai_files_cli.output.files import human_size
    from xai_files_cli.output.sanitize import escape_terminal

    io = app_ctx.io
    failures: list[XaiError] = []
    freed = 0
    for target, outcome in _in_order(client.delete, targets, workers):
        if isinstance(outcome, XaiError):
            if len(targets) == 1:
                raise outcome
            report_error(app_ctx, outcome)
            failures.append(outcome)
            continue
        freed += target.size or 0
        if json_lines:
            machine.write_jsonl(io, [_deleted_json(outcome)])
        elif io.stdout_is_tty:
            gone = " (it was already gone)" if outcome.already_deleted else ""
            io.write_out(f"Deleted {escape_terminal(outcome.file_id)}{gone}\n")
        else:
            machine.write_lines(io, [outcome.file_id])
    done = len(targets) - len(failures)
    if summary and done:
        noun = "file" if done == 1 else "files"
        app_ctx.say.info(f"deleted {done} {noun} ({human_size(freed)})")
    finish_items(len(targets), failures, "deleted")


def _deleted_json(outcome: DeleteResult) -> dict[str, Any]:
    return {"id": outcome.file_id, "deleted": True, "already_deleted": outcome.already_deleted}


def _in_order(
    delete: Callable[[str], DeleteResult], targets: list[_Target], workers: int
) -> Iterator[tuple[_Target, DeleteResult | XaiError]]:
    """Each target with its delete's result or error, in the targets' order, `workers` at a time."""

    def attempt(file_id: str) -> DeleteResult | XaiError:
        try:
            return delete(file_id)
        except XaiError as error:
            return error

    if workers <= 1:
        for target in targets:
            yield target, attempt(target.id)
        return
    from concurrent.futures import ThreadPoolExecutor  # only deletes use a pool: not loaded by `ls`

    pending: deque[tuple[_Target, Future[DeleteResult | XaiError]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="xai-rm") as pool:
        for target in targets:
            pending.append((target, pool.submit(attempt, target.id)))
            if len(pending) >= workers * 2:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def finish_items(total: int, failures: list[XaiError], verb: str, noun: str = "files") -> None:
    """Exit status of a multi-item command: 0, 7 if mixed, or the failures' own code if all failed."""
    if not failures:
        return
    if len(failures) < total:
        raise PartialFailure(f"{verb} {total - len(failures)} of {total} {noun}; {len(failures)} failed")
    raise AlreadyReported(failures[0].exit_code)


# -- --dry-run ------------------------------------------------------------------------------------
def _plan_entry(info: FileInfo, reason: str) -> dict[str, Any]:
    return {"action": "delete", "id": info.id, "name": info.filename, "size": info.size, "reason": reason}


def _print_plan(app_ctx: AppContext, request: RmRequest, files: Iterable[FileInfo], reason: str) -> None:
    """The dry run's plan: a JSON array when piped (or --json), else a table and a total line."""
    from xai_files_cli.output import machine
    from xai_files_cli.output.files import human_size

    io = app_ctx.io
    if request.json_output or not io.stdout_is_tty:
        machine.write_json_array(io, (_plan_entry(info, reason) for info in files))
        return
    from xai_files_cli.output.listing import print_files_stream

    total = 0

    def counted() -> Iterator[FileInfo]:
        nonlocal total
        for info in files:
            total += info.size
            yield info

    def footer(count: int) -> str:
        noun = "file" if count == 1 else "files"
        return f"dry run: would delete {count} {noun} ({human_size(total)}); nothing deleted"

    print_files_stream(io, counted(), footer=footer, empty=f"No files {reason}.")


def _plan_ids(app_ctx: AppContext, client: FilesClient, request: RmRequest) -> None:
    """`rm ID... --dry-run`: each id looked up (an unknown one is reported) and planned."""
    from xai_files_cli.cli.reporting import report_error

    reason = "id read from stdin" if request.from_stdin else "id named on the command line"
    failures: list[XaiError] = []

    def found() -> Iterator[FileInfo]:
        for file_id in request.file_ids:
            try:
                yield client.get(file_id)
            except XaiError as error:
                report_error(app_ctx, error)
                failures.append(error)

    _print_plan(app_ctx, request, found(), reason)
    finish_items(len(request.file_ids), failures, "found")
