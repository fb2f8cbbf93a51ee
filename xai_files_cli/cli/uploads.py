"""The runs behind `xai files upload` and `batch-upload`, and upload reuse for `chat --file`.

- Folders are expanded as a repository holds them (`collect_upload_items`): hidden files and
  directories are left out unless `--hidden`, `--exclude GLOB` leaves out more, and a file found
  under a folder argument is named by its path relative to that folder (`sub/report.pdf`).
- Every upload from a path is written to the upload index (`core.upload_index`): a pending row
  first, the stored file once the server answered. `--skip-existing` consults it
  (`core.upload_plan`), `--dry-run` prints the plan and changes nothing on the server,
  `--manifest FILE` appends one JSON line per item, and under GitHub Actions failures become
  `::error` annotations and a batch a `::group::` (`output.ci_log`).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, overload

from xai_files_cli.errors import UsageError, XaiError

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.records import FileInfo, UploadItem, UploadResult
    from xai_files_cli.core.transfer import UploadSource
    from xai_files_cli.core.upload_index import UploadIndex
    from xai_files_cli.core.upload_plan import PlanEntry, UploadJournal, UploadPlanner
    from xai_files_cli.output.ci_log import CiLog
    from xai_files_cli.output.manifest import Manifest

_GLOB_CHARS = re.compile(r"[*?\[]")


class RunOptions(NamedTuple):
    """The options `upload` and `batch-upload` share."""

    expires_after: int | None = None
    json_output: bool = False
    skip_existing: bool = False
    dry_run: bool = False
    manifest: str | None = None
    log_format: str = "auto"


# -- the index ---------------------------------------------------------------------------------------
def index_host(app_ctx: AppContext) -> tuple[str, str]:
    """(profile, host) that name this invocation's upload index; the embedded server is named by
    its data dir, where its files live."""
    settings = app_ctx.settings()
    if settings.local:
        from xai_files_cli.emulator.embedded import default_data_dir

        return settings.profile, "local:" + os.path.abspath(default_data_dir())
    return settings.profile, settings.api_host


def open_index(app_ctx: AppContext) -> UploadIndex:
    """This profile+host's upload index, opened now (a broken one is reported once, then unused)."""
    from xai_files_cli.core.upload_index import UploadIndex, index_path

    profile, host = index_host(app_ctx)
    return UploadIndex(index_path(profile, host), warn=app_ctx.say.warn).open()


def make_planner(
    app_ctx: AppContext, index: UploadIndex, client: FilesClient, *, dry_run: bool
) -> UploadPlanner:
    from xai_files_cli.core.files import DEFAULT_TIMEOUT
    from xai_files_cli.core.upload_plan import ServerFiles, UploadPlanner

    timeout = app_ctx.options.timeout or DEFAULT_TIMEOUT
    server = ServerFiles(app_ctx.channel(), timeout=timeout, target=client.target)
    return UploadPlanner(index, client, server, dry_run=dry_run)


# -- folders -----------------------------------------------------------------------------------------
class UploadItems(Sequence["UploadItem"]):
    """Files to upload, kept as plain strings (a Path object per file costs several times more);
    each UploadItem is made when it is looked at, so a batch that hands its results on holds
    only these strings for the files not yet sent. A name that ends its path (a file found in a
    folder: `sub/report.pdf` of `folder/sub/report.pdf`) is kept as where it starts in the path,
    not as a second string."""

    def __init__(self, entries: Iterable[tuple[str, str | None]] = ()) -> None:
        self._paths: list[str] = []
        self._names: list[str | int | None] = []  # None: the path's basename; int: the path from there
        for path, name in entries:
            self._paths.append(path)
            self._names.append(_name_start(path, name))

    def __len__(self) -> int:
        return len(self._paths)

    @overload
    def __getitem__(self, index: int) -> UploadItem: ...

    @overload
    def __getitem__(self, index: slice) -> list[UploadItem]: ...

    def __getitem__(self, index: int | slice) -> UploadItem | list[UploadItem]:
        if isinstance(index, slice):
            return list(map(_stored_item, self._paths[index], self._names[index]))
        return _stored_item(self._paths[index], self._names[index])

    def __iter__(self) -> Iterator[UploadItem]:
        return map(_stored_item, self._paths, self._names)


def _name_start(path: str, name: str | None) -> str | int | None:
    """`name` as kept by UploadItems: where it starts in `path` when it ends the path."""
    if name and path.endswith(name):
        return len(path) - len(name)
    return name


def _stored_item(path: str, name: str | int | None) -> UploadItem:
    """The UploadItem of a path and its name as UploadItems keeps them (see `_name_start`)."""
    from xai_files_cli.core.records import UploadItem

    return UploadItem(path=Path(path), name=path[name:] if isinstance(name, int) else name)


class Collected:
    """The files to upload, and how many paths were left out for each reason."""

    def __init__(self) -> None:
        self.items = UploadItems()
        self.left_out: Counter[str] = Counter()
        self.unreadable: list[XaiError] = []  # folders that could not be listed: failures of the run

    def left_out_line(self) -> str | None:
        """`skipped 3 hidden paths (--hidden includes them), 1 path matching --exclude and ...`."""
        parts = []
        for reason, (noun, why) in _LEFT_OUT.items():
            count = self.left_out[reason]
            if count:
                them = "it" if count == 1 else "them"
                parts.append(f"{count} {noun}{'' if count == 1 else 's'}{why.format(them=them)}")
        if self.left_out["manifest"]:
            parts.append("the --manifest file")
        if not parts:
            return None
        return "skipped " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])


# Each reason a folder walk leaves a path out: (the noun it is counted with, why), in the line's order.
_LEFT_OUT = {
    "hidden": ("hidden path", " (--hidden includes {them})"),
    "excluded": ("path", " matching --exclude"),
    "special": ("path", " not a regular file (FIFO, socket or device)"),
    "linked folder": ("symbolic link", " to a folder (not followed)"),
    "broken": ("broken symbolic link", ""),
}


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    """A pattern with a `/` matches the whole relative name; one without, any single component."""
    parts = name.split("/")
    for pattern in patterns:
        pattern = pattern.strip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(name, pattern):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def collect_upload_items(
    args: list[str], *, hidden: bool = False, excludes: tuple[str, ...] = (), manifest: str | None = None
) -> Collected:
    """Expand files, directories (recursively) and glob patterns into upload items, in a stable order.

    A file found under a directory is named by its path relative to that directory (`/`-separated);
    a file named directly, or matched by a glob, keeps its basename. Inside directories, hidden
    entries (a name starting with `.`) are left out unless `hidden`; `excludes` leave out matching
    files and whole directories anywhere. A missing path, a pattern matching nothing, or a
    non-regular file named explicitly is a usage error (exit 2) reported before anything is uploaded.
    Inside directories, FIFOs, sockets, devices and broken links are left out (and counted), a
    subfolder that cannot be listed is a failure of the run (`Collected.unreadable`), and the
    `manifest` file being written is never uploaded.

    What the walk builds besides the items (a key per file to drop duplicates) is freed on return:
    no closure refers to itself, so nothing waits for the garbage collector, which a long batch
    would otherwise run only after holding all of it through the uploads.
    """
    collected = Collected()
    walk = _Walk(collected, hidden=hidden, excludes=excludes, manifest=manifest)
    for arg in args:
        literal = Path(arg)
        if _GLOB_CHARS.search(arg) and not literal.exists():
            import glob

            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                raise UsageError(f"no files match {arg!r}", path=arg)
            for match in matches:
                walk.add(Path(match), explicit=False)
        else:
            walk.add(literal, explicit=True)
    collected.items = UploadItems(walk.found.values())
    return collected


class _Walk:
    """The files found so far, by real path (the first path and name of each), and what was left out."""

    def __init__(
        self, collected: Collected, *, hidden: bool, excludes: tuple[str, ...], manifest: str | None
    ) -> None:
        self.found: dict[str, tuple[str, str | None]] = {}
        self._left_out = collected.left_out
        self._unreadable = collected.unreadable
        self._hidden = hidden
        self._excludes = excludes
        self._manifest = os.path.realpath(manifest) if manifest else None

    def add(self, path: Path, explicit: bool) -> None:
        """A path given on the command line (or matched by a glob): a folder is walked."""
        from xai_files_cli.core.transfer import check_regular_file

        try:
            mode = path.stat().st_mode
        except OSError:
            raise UsageError(f"cannot upload {path}: no such file", path=str(path)) from None
        if path.is_dir():
            self._folders(str(path), os.path.realpath(path))
            return
        if explicit:
            check_regular_file(path, mode)
            if not os.access(path, os.R_OK):
                raise UsageError(f"cannot upload {path}: permission denied", path=str(path))
        if not path.is_file():
            return
        if self._excludes and _excluded(path.name, self._excludes):
            self._left_out["excluded"] += 1
        else:
            self._found(os.path.realpath(path), str(path), None)

    def _found(self, key: str, path: str, name: str | None) -> None:
        """A file to upload (by real path: the first path and name seen), unless it is the manifest."""
        if key == self._manifest:
            self._left_out["manifest"] += 1
        else:
            self.found.setdefault(key, (path, name))

    def _folders(self, top: str, real: str) -> None:
        """Each folder's files (sorted), then its subfolders, depth first; symlinked folders are not
        followed."""
        pending = [(top, "", real)]
        while pending:
            folder, base, real = pending.pop()
            subfolders = self._files_of(folder, base, real)
            pending.extend(reversed(subfolders))

    def _files_of(self, folder: str, base: str, real: str) -> list[tuple[str, str, str]]:
        """Add the files of one folder; its subfolders (path, relative name, real path), in order."""
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=_entry_name)
        except OSError as error:
            reason = "permission denied" if error.errno in (errno.EACCES, errno.EPERM) else error.strerror
            self._unreadable.append(UsageError(f"cannot read folder {folder}: {reason}", path=folder))
            return []
        subfolders = []
        for entry in entries:
            relative = base + entry.name
            reason = self._leave_out(entry.name, relative)
            if reason:
                self._left_out[reason] += 1
            elif entry.is_dir(follow_symlinks=False):
                subfolders.append((entry.path, f"{relative}/", os.path.join(real, entry.name)))
            elif entry.is_file():  # follows a symlink to a file
                key = os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(real, entry.name)
                self._found(key, entry.path, relative)
            else:
                self._left_out[_not_a_file(entry)] += 1
        return subfolders

    def _leave_out(self, entry: str, relative: str) -> str | None:
        if not self._hidden and entry.startswith("."):
            return "hidden"
        return "excluded" if self._excludes and _excluded(relative, self._excludes) else None


def _not_a_file(entry: os.DirEntry[str]) -> str:
    """Why a folder entry that is neither a file nor a folder is left out."""
    if not entry.is_symlink():
        return "special"  # FIFO, socket, device
    if entry.is_dir():
        return "linked folder"  # not followed: it could lead out of the tree or round in a loop
    return "special" if os.path.exists(entry.path) else "broken"


def _entry_name(entry: os.DirEntry[str]) -> str:
    return entry.name


# -- what every run shares ---------------------------------------------------------------------------
class UploadRun:
    """One invocation's upload machinery: the index, the manifest, the CI log and the results."""

    def __init__(self, app_ctx: AppContext, options: RunOptions, command: str) -> None:
        from xai_files_cli.output.ci_log import CiLog, wants_github

        self.app_ctx = app_ctx
        self.options = options
        self.command = command
        self.ci: CiLog = CiLog(app_ctx.io.stderr, enabled=wants_github(options.log_format))
        # A dry run finishes no item: it leaves the manifest alone.
        manifest = options.manifest if not options.dry_run else None
        self.manifest: Manifest | None = None
        if manifest:
            from xai_files_cli.output.manifest import Manifest

            self.manifest = Manifest(Path(manifest))
        self.index = open_index(app_ctx)
        self.failures: list[XaiError] = []
        self._journal: UploadJournal | None = None

    def journal(self) -> UploadJournal:
        """Writes the index around each upload (closed, so flushed, with the run)."""
        from xai_files_cli.core.upload_plan import UploadJournal

        if self._journal is None:
            self._journal = UploadJournal(self.index)
        return self._journal

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
        if self.manifest is not None:
            self.manifest.close()
        self.index.close()

    def plan(self, items: list[UploadItem], client: FilesClient) -> list[PlanEntry]:
        """The decision for each item (all `upload` without --skip-existing)."""
        planner = make_planner(self.app_ctx, self.index, client, dry_run=self.options.dry_run)
        return planner.plan_all(items, skip_existing=self.options.skip_existing)

    def show_plan(self, plan: list[PlanEntry]) -> None:
        """`--dry-run`: a JSON array when piped or with --json, else a table and a total."""
        from xai_files_cli.output import machine
        from xai_files_cli.output.uploads import print_plan

        io = self.app_ctx.io
        if self.options.json_output or not io.stdout_is_tty:
            machine.write_json(io, [entry.to_json() for entry in plan])
        else:
            print_plan(io, plan)

    def finished(self, result: UploadResult, size: int | None) -> None:
        """Bookkeeping of one finished item: manifest line, CI annotation, failure count."""
        if self.manifest is not None:
            self.manifest.write(result, size)
        if result.error is not None:
            self.failures.append(result.error)
            self.annotate(result.item.filename, result.error)

    def annotate(self, name: str, error: XaiError) -> None:
        message = error.message + (f" ({error.status})" if error.status else "")
        self.ci.error(f"xai {self.command} failed: {name}", message)


def skipped_result(entry: PlanEntry) -> UploadResult:
    from xai_files_cli.core.records import UploadResult

    return UploadResult(
        item=entry.item, file=entry.existing, sha256=entry.sha256, seconds=entry.seconds, skipped=True
    )


# -- upload ------------------------------------------------------------------------------------------
def upload_path(app_ctx: AppContext, path: str, name: str | None, options: RunOptions) -> None:
    """`xai files upload PATH|-`: plan, skip or upload, record, report."""
    from xai_files_cli.core.content_hash import HashingSource, NoHasher
    from xai_files_cli.core.records import UploadItem

    io = app_ctx.io
    if path == "-":
        if not name:
            raise UsageError("reading from stdin (-) needs --name NAME")
        if options.skip_existing:
            raise UsageError("--skip-existing needs a file: stdin cannot be compared before it is sent")
        # On a terminal, read the unbuffered stream: Ctrl-D ends the input at once, where a buffered
        # read would return what was typed and then wait for a second Ctrl-D.
        stdin = getattr(io.stdin, "raw", io.stdin) if io.stdin_is_tty else io.stdin
        source = HashingSource.from_stream(stdin, label="stdin")
        assert isinstance(source, HashingSource)
        if options.manifest is None:  # hashed in the sending thread: only when the manifest wants it
            source.hasher = NoHasher()
        item = UploadItem(path=Path("-"), name=name)
    else:
        # A large file is hashed only when something needs the digest (the manifest, or a
        # --skip-existing check that hashed it already); otherwise the index records its stat,
        # and a later --skip-existing run that cannot trust the stat compares the stored content.
        source = HashingSource.open_path(Path(path), digest=options.manifest is not None)
        item = UploadItem(path=Path(path), name=name or Path(path).name)
    run = UploadRun(app_ctx, options, "upload")
    try:
        with source:
            _upload_one(run, source, item, from_stdin=path == "-")
    finally:
        run.close()


def _upload_one(run: UploadRun, source: UploadSource, item: UploadItem, *, from_stdin: bool) -> None:
    from xai_files_cli.core.content_hash import HashingSource
    from xai_files_cli.core.records import UploadResult
    from xai_files_cli.core.upload import check_name
    from xai_files_cli.core.upload_plan import SKIP, UPLOAD, PlanEntry
    from xai_files_cli.output.progress import make_progress

    app_ctx, options = run.app_ctx, run.options
    assert isinstance(source, HashingSource)
    if from_stdin and options.dry_run:
        run.show_plan([PlanEntry(item, UPLOAD, "stdin is read only when it is sent", None)])
        return
    client = app_ctx.files()
    if options.dry_run or options.skip_existing:
        (entry,) = run.plan([item], client)
        if options.dry_run:
            run.show_plan([entry])
            return
        if entry.action == SKIP:
            result = skipped_result(entry)
            run.finished(result, entry.size)
            _print_upload_result(app_ctx, result, entry.reason, options.json_output)
            return
        if entry.sha256 is not None:  # compared with an earlier upload: remember this one's digest
            source.want_digest()
    check_name(item.filename)  # before the index is written: a name that cannot be sent is exit 2
    journal = run.journal()
    progress = make_progress(app_ctx.io, quiet=app_ctx.options.quiet, verb="upload")
    ticket = journal.start(item, source, stream=from_stdin)
    started = time.perf_counter()
    try:
        info = client.upload(
            source,
            name=item.filename,
            expires_after=options.expires_after,
            progress=progress,
            on_notice=app_ctx.say.info,
        )
    except BaseException as error:
        journal.failed(ticket, source, error)
        if isinstance(error, KeyboardInterrupt):
            client.cancel.set()
        if isinstance(error, XaiError):
            seconds = time.perf_counter() - started
            run.finished(UploadResult(item=item, error=error, seconds=seconds), source.size)
        raise
    seconds = time.perf_counter() - started
    sha = journal.stored(ticket, source, info) or None  # None: sent without a hash
    result = UploadResult(item=item, file=info, sha256=sha, seconds=seconds)
    run.finished(result, info.size)
    _print_upload_result(
        app_ctx, result, None, options.json_output, source=None if from_stdin else str(item.path)
    )


def _print_upload_result(
    app_ctx: AppContext,
    result: UploadResult,
    reason: str | None,
    json_output: bool,
    source: str | None = None,
) -> None:
    """The stored (or already stored) file: JSON, a terminal line, or the id alone when piped."""
    from xai_files_cli.output import files as file_views
    from xai_files_cli.output import machine
    from xai_files_cli.output.uploads import skipped_line

    io = app_ctx.io
    info = result.file
    assert info is not None
    if json_output:
        machine.write_json(io, {**info.to_json(), "status": result.status})
    elif not io.stdout_is_tty:
        machine.write_lines(io, [info.id])
    elif result.skipped:
        io.write_out(skipped_line(info, reason or "unchanged") + "\n")
    else:
        io.write_out(file_views.uploaded_line(info, source) + "\n")


# -- batch-upload ------------------------------------------------------------------------------------
def batch_upload_paths(
    app_ctx: AppContext,
    paths: list[str],
    options: RunOptions,
    *,
    concurrency: int,
    hidden: bool,
    excludes: tuple[str, ...],
) -> tuple[int, list[XaiError]]:
    """`xai files batch-upload`: collect, plan, skip or upload each file; (items, failures)."""
    from xai_files_cli.cli.reporting import report_error

    collected = collect_upload_items(paths, hidden=hidden, excludes=excludes, manifest=options.manifest)
    line = collected.left_out_line()
    if line:
        app_ctx.say.info(line)
    for error in collected.unreadable:  # reported first: the run goes on with what could be read
        report_error(app_ctx, error)
    items = collected.items
    if not items:
        if options.dry_run:
            UploadRun(app_ctx, options, "batch-upload").show_plan([])
        elif not collected.unreadable:
            app_ctx.say.info("no files to upload")
        return len(collected.unreadable), collected.unreadable
    run = UploadRun(app_ctx, options, "batch-upload")
    for error in collected.unreadable:
        run.annotate(error.path or "", error)
    try:
        _batch(run, items, concurrency)
    finally:
        run.close()
    return len(items) + len(collected.unreadable), [*collected.unreadable, *run.failures]


def _batch(run: UploadRun, items: UploadItems, concurrency: int) -> None:
    from xai_files_cli.core.upload_plan import SKIP
    from xai_files_cli.output.files import human_size

    app_ctx, options = run.app_ctx, run.options
    client = app_ctx.files()
    report = _BatchReport(run)
    skipped: list[PlanEntry] = []
    to_send: Sequence[UploadItem] = items
    if options.skip_existing or options.dry_run:
        plan = run.plan(list(items), client)
        if options.dry_run:
            run.show_plan(plan)
            return
        skipped = [entry for entry in plan if entry.action == SKIP]
        sending = [entry for entry in plan if entry.action != SKIP]
        del plan
        to_send = [entry.item for entry in sending]
    with run.ci.group(f"xai files batch-upload: {len(items)} files"):
        report.all_skipped(skipped)
        if to_send:
            from xai_files_cli.output.progress import make_progress

            progress = make_progress(app_ctx.io, quiet=app_ctx.options.quiet, verb="batch upload")
            report.progress = progress
            journal = run.journal()
            batch: Iterable[UploadItem] = to_send
            if options.skip_existing:  # the planner's sizes and digests go into the pending rows
                journal.prepare(sending)
            else:  # pending rows a group at a time, as the batch takes the files
                batch = journal.prepared(to_send)
            try:
                client.batch_upload(
                    batch,
                    concurrency=concurrency,
                    expires_after=options.expires_after,
                    on_result=report,
                    progress=progress,
                    on_notice=app_ctx.say.info,
                    journal=journal,
                )
            except KeyboardInterrupt:
                client.cancel.set()
                raise
            finally:
                report.flush()
    if not run.failures:
        uploaded = f"uploaded {_files(report.uploaded)} ({human_size(report.uploaded_bytes)})"
        if report.skipped:
            uploaded += f", skipped {report.skipped} unchanged ({human_size(report.skipped_bytes)})"
        app_ctx.say.info(uploaded)


def _size_of(item: UploadItem) -> int | None:
    """The size of a file that failed to upload, for the manifest (None when it cannot be read)."""
    try:
        return os.stat(item.path).st_size
    except OSError:
        return None


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


class _BatchReport:
    """Shows each finished item (terminal line, `id<TAB>path`, or a JSON line) and counts them.

    Off a terminal, the lines are written a few at a time (`flush` writes what is held): up to
    HELD_LINES of them, or those of HELD_SECONDS. With an unbuffered stdout (PYTHONUNBUFFERED) a
    write per line was the largest part of what a batch of small files spends per file.
    """

    HELD_LINES = 128
    HELD_SECONDS = 0.1

    def __init__(self, run: UploadRun) -> None:
        self.run = run
        self.progress: object = None
        self.uploaded = self.uploaded_bytes = self.skipped = self.skipped_bytes = 0
        self._held: list[str] = []
        self._held_since = 0.0

    def __call__(self, result: UploadResult) -> None:
        text = self._text(result)
        if text is None:
            return
        if self.run.app_ctx.io.stdout_is_tty:
            self.run.app_ctx.io.write_out(text)
            return
        held = self._held
        if not held:
            self._held_since = time.monotonic()
        held.append(text)
        if len(held) >= self.HELD_LINES or time.monotonic() - self._held_since >= self.HELD_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the lines held back."""
        if self._held:
            text = "".join(self._held)
            self._held.clear()
            self.run.app_ctx.io.write_out(text)

    def all_skipped(self, skipped: Sequence[PlanEntry]) -> None:
        """The skipped files of a batch, before any upload starts: their lines in one write. Piped
        without --json or --manifest, each is the `ID<TAB>PATH` line of `_text`, made straight from
        its plan entry."""
        if not skipped:
            return
        run, io = self.run, self.run.app_ctx.io
        if run.manifest is not None or run.options.json_output or io.stdout_is_tty:
            texts = [self._text(skipped_result(entry)) for entry in skipped]
            io.write_out("".join(text for text in texts if text is not None))
            return
        found = [(entry.existing, entry.item.path) for entry in skipped if entry.existing is not None]
        self.skipped += len(found)
        self.skipped_bytes += sum(info.size for info, _ in found)
        io.write_out("".join(_id_and_path(info.id, path) for info, path in found))

    def _text(self, result: UploadResult) -> str | None:
        """Count and record `result`; the text to show for it (None when shown already)."""
        app_ctx = self.run.app_ctx
        io = app_ctx.io
        self._count(result)
        self.run.finished(result, result.file.size if result.file is not None else _size_of(result.item))
        if self.run.options.json_output:
            from xai_files_cli.output.machine import to_json_text

            return to_json_text(result.to_json(), indent=None) + "\n"
        if io.stdout_is_tty:
            from xai_files_cli.output import files as file_views
            from xai_files_cli.output.progress import RichProgress
            from xai_files_cli.output.uploads import batch_skipped_line

            if result.skipped:
                line = batch_skipped_line(result)
            else:  # fitted to the terminal: the path gives way, the id stays whole
                line = file_views.batch_result_line(result, width=io.out_console().width)
            shown = isinstance(self.progress, RichProgress) and self.progress.print_above(line)
            return None if shown else line + "\n"
        if result.file is not None:
            return _id_and_path(result.file.id, result.item.path)
        from xai_files_cli.cli.reporting import report_error

        self.flush()  # the lines of the files before it come first
        report_error(app_ctx, result.error)  # type: ignore[arg-type]
        return None

    def _count(self, result: UploadResult) -> None:
        if result.file is None:
            return
        if result.skipped:
            self.skipped += 1
            self.skipped_bytes += result.file.size
        else:
            self.uploaded += 1
            self.uploaded_bytes += result.file.size


def _id_and_path(file_id: str, path: Path) -> str:
    """A finished item's line on a pipe: `ID<TAB>PATH`, as `upload` prints the id alone."""
    from xai_files_cli.output.sanitize import escape_terminal  # imported once: a no-op from then on

    return f"{escape_terminal(file_id)}\t{escape_terminal(str(path))}\n"


# -- chat --file -------------------------------------------------------------------------------------
class UploadReuse:
    """For `chat --file`: find a live upload of a local file's exact content (name, size, SHA-256,
    confirmed with the server) instead of sending it again, and remember what chat keeps."""

    MIN_LIFE = 300  # seconds a reused file must still live: a chat must not lose it mid-answer

    def __init__(self, app_ctx: AppContext) -> None:
        self._app_ctx = app_ctx
        self._index: UploadIndex | None = None

    def _open(self) -> UploadIndex:
        if self._index is None:
            self._index = open_index(self._app_ctx)
        return self._index

    def find_live(self, path: Path, name: str, *, forever: bool = False) -> FileInfo | None:
        """The live file this profile uploaded with this name and content, or None; with `forever`,
        only one that never expires; otherwise one with at least MIN_LIFE seconds left."""
        import time

        from xai_files_cli.core.records import UploadItem, epoch_seconds
        from xai_files_cli.core.upload_plan import SKIP

        planner = make_planner(self._app_ctx, self._open(), self._app_ctx.files(), dry_run=False)
        entry = planner.plan(UploadItem(path=path, name=name), skip_existing=True)
        info = entry.existing if entry.action == SKIP else None
        if info is None or info.expires_at is None:
            return info
        if forever or epoch_seconds(info.expires_at) < time.time() + self.MIN_LIFE:
            return None
        return info

    def remember(self, source: UploadSource, path: Path, info: FileInfo) -> None:
        """Record a file chat uploaded and keeps, when its whole content was hashed on the way."""
        from xai_files_cli.core.content_hash import HashingSource
        from xai_files_cli.core.upload_index import record_op

        if isinstance(source, HashingSource) and source.read_to_end:
            record = record_op(
                info,
                source.hexdigest(),
                path=Path(os.path.abspath(path)),
                stat=source.opened_stat,
                read_at_ns=source.read_started_ns,
            )
            self._open().apply([record])

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
