"""Commands: `xai files upload|batch-upload|ls|get|cat|rm|share|unshare`.

Each verb parses and checks its flags (local mistakes exit 2 before any RPC), makes one core call
and hands the result to `output/`. Heavy modules (grpc, rich, core) are imported inside the
functions so `xai --help` stays fast. Data goes to stdout, everything else to stderr.

Annotations are evaluated when defined (no `from __future__ import annotations`): Typer reads the
signature of the command being run on every run, and would otherwise `eval` each parameter's
annotation text (about a millisecond per command). Names imported only for type checking are
written as strings.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from xai_files_cli.cli import uploads
from xai_files_cli.cli.complete_ids import complete_file_id
from xai_files_cli.cli.housekeeping import finish_items as _finish_items
from xai_files_cli.cli.options import (
    FileTtlOption,
    LargerThanOption,
    NameGlobOption,
    NewerThanOption,
    OlderThanOption,
    SmallerThanOption,
    expires_after_option,
    file_id_argument,
    file_ids_argument,
    json_flag,
)
from xai_files_cli.cli.reporting import report_error
from xai_files_cli.cli.uploads import RunOptions
from xai_files_cli.errors import UsageError, XaiError

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext
    from xai_files_cli.core.records import FileInfo
    from xai_files_cli.output.io import IOStreams

files_app = typer.Typer(
    name="files",
    help="Upload, list, download and delete files.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(files_app, name="files")


# -- shared helpers -------------------------------------------------------------------------------
def _ttl(seconds: int | None) -> int | None:
    """The file TTL, checked against the service's range (exit 2 outside 1h..30d)."""
    if seconds is not None:
        from xai_files_cli.core.files import check_ttl

        check_ttl(seconds)
    return seconds


def _one_output_flag(**flags: bool) -> None:
    chosen = [name for name, on in flags.items() if on]
    if len(chosen) > 1:
        names = ", ".join(f"--{name}" for name in flags)
        raise UsageError(f"choose one of {names}; got {', '.join('--' + name for name in chosen)}")


# -- upload ---------------------------------------------------------------------------------------
SkipExistingOption = Annotated[
    bool,
    typer.Option(
        "--skip-existing",
        help="Do not send a file whose name and content (SHA-256) match a live file this profile "
        "uploaded (checked with the server); it is reported as skipped with that file's id.",
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Print the plan (upload or skip, and why) and change nothing on the server; "
        "a JSON array when piped.",
    ),
]
ManifestOption = Annotated[
    str | None,
    typer.Option(
        "--manifest",
        metavar="FILE",
        help="Append one JSON line per file to FILE as it finishes: path, name, size, sha256, "
        "status, id, error, seconds.",
    ),
]
LogFormatOption = Annotated[
    str,
    typer.Option(
        "--log-format",
        metavar="FORMAT",
        help="auto, plain or github (::group:: and ::error annotations); auto means github when "
        "GITHUB_ACTIONS=true.",
    ),
]


def _run_options(
    expires_after: int | None,
    json_output: bool,
    skip_existing: bool,
    dry_run: bool,
    manifest: str | None,
    log_format: str,
) -> RunOptions:
    """The options upload and batch-upload share, checked (exit 2) before anything is read or sent."""
    from xai_files_cli.output.ci_log import LOG_FORMATS

    if log_format not in LOG_FORMATS:
        raise UsageError(f"invalid --log-format {log_format!r}; choose one of: {', '.join(LOG_FORMATS)}")
    if manifest is not None and not manifest:
        raise UsageError("--manifest must not be empty")
    return RunOptions(
        expires_after=_ttl(expires_after),
        json_output=json_output,
        skip_existing=skip_existing,
        dry_run=dry_run,
        manifest=manifest,
        log_format=log_format,
    )


@files_app.command("upload")
def upload(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="PATH|-", help="File to upload, or - to read stdin.")],
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", metavar="NAME", help="Filename to store (default: the path's name)."),
    ] = None,
    expires_after: FileTtlOption = None,
    skip_existing: SkipExistingOption = False,
    dry_run: DryRunOption = False,
    manifest: ManifestOption = None,
    log_format: LogFormatOption = "auto",
    json_output: Annotated[bool, json_flag("Print the stored file as JSON.")] = False,
) -> None:
    """Upload one file; prints its id (piped) or a summary line (terminal)."""
    app_ctx: AppContext = ctx.obj
    options = _run_options(expires_after, json_output, skip_existing, dry_run, manifest, log_format)
    if name is not None and not name:
        raise UsageError("--name must not be empty")
    uploads.upload_path(app_ctx, path, name, options)


# -- batch-upload ---------------------------------------------------------------------------------
@files_app.command("batch-upload")
def batch_upload(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(metavar="PATH...", help="Files, directories or globs.")],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", metavar="N", min=1, max=256, help="Uploads in flight.")
    ] = 50,
    expires_after: FileTtlOption = None,
    skip_existing: SkipExistingOption = False,
    dry_run: DryRunOption = False,
    manifest: ManifestOption = None,
    hidden: Annotated[
        bool, typer.Option("--hidden", help="Include hidden files and directories (.git/, .env, ...).")
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            help="Leave out matching files and directories (repeatable); a GLOB with a / matches "
            "the path under the folder, one without matches any single name.",
        ),
    ] = None,
    log_format: LogFormatOption = "auto",
    json_output: Annotated[bool, json_flag("One JSON object per file (JSONL).")] = False,
) -> None:
    """Upload many files concurrently; one result line per file as it finishes.

    A file found under a folder is stored under its path relative to that folder (sub/report.pdf).
    """
    app_ctx: AppContext = ctx.obj
    options = _run_options(expires_after, json_output, skip_existing, dry_run, manifest, log_format)
    total, failures = uploads.batch_upload_paths(
        app_ctx,
        paths,
        options,
        concurrency=concurrency,
        hidden=hidden,
        excludes=tuple(exclude or ()),
    )
    _finish_items(total, failures, "planned" if dry_run else "uploaded")


# -- ls -------------------------------------------------------------------------------------------
@files_app.command("ls")
def list_files(
    ctx: typer.Context,
    sort: Annotated[
        str, typer.Option("--sort", "-s", metavar="KEY", help="Sort key: created_at, filename or size.")
    ] = "created_at",
    descending: Annotated[
        bool | None,
        typer.Option(
            "--desc/--asc",
            help="Sort order [default: newest first, names A to Z, largest first].",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-l", metavar="N", min=1, help="Show at most N files [default: 100]."),
    ] = None,
    all_files: Annotated[
        bool, typer.Option("--all", "-a", help="Follow every page: list all files.")
    ] = False,
    json_output: Annotated[bool, json_flag("A JSON array (the default when piped).")] = False,
    jsonl: Annotated[bool, json_flag("One JSON object per line.", "--jsonl")] = False,
    ids: Annotated[bool, typer.Option("--ids", help="One file id per line.")] = False,
    name: NameGlobOption = None,
    older_than: OlderThanOption = None,
    newer_than: NewerThanOption = None,
    larger_than: LargerThanOption = None,
    smaller_than: SmallerThanOption = None,
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Never page a long table (also: XAI_PAGER=cat).")
    ] = False,
) -> None:
    """List files, newest first: a table on a terminal (paged when long), JSON when piped.

    Output is written as pages arrive. If the server fails part-way, what was written stays
    and the command exits 6; a --json array is then left without its closing ].
    """
    app_ctx: AppContext = ctx.obj
    from xai_files_cli.cli.housekeeping import LsRequest, build_filter, run_ls
    from xai_files_cli.core.records import SORT_KEYS

    if sort not in SORT_KEYS:
        raise UsageError(f"invalid --sort {sort!r}; choose one of: {', '.join(SORT_KEYS)}")
    _one_output_flag(json=json_output, jsonl=jsonl, ids=ids)
    if all_files and limit is not None:
        raise UsageError("use either --all or --limit, not both")
    where = build_filter(
        name=name,
        older_than=older_than,
        newer_than=newer_than,
        larger_than=larger_than,
        smaller_than=smaller_than,
    )
    output = "jsonl" if jsonl else "ids" if ids else "json" if json_output else "table"
    if output == "table" and not app_ctx.io.stdout_is_tty:
        output = "json"
    request = LsRequest(
        sort=sort,
        descending=descending if descending is not None else sort != "filename",
        limit=None if all_files else (limit or 100),
        where=where,
        output=output,
        pager=not no_pager,
    )
    run_ls(app_ctx, request)


# -- get ------------------------------------------------------------------------------------------
@files_app.command("get")
def get(
    ctx: typer.Context,
    file_ids: Annotated[list[str], file_ids_argument("One or more file ids.")],
    json_output: Annotated[bool, json_flag("JSON (the default when piped).")] = False,
) -> None:
    """Show the metadata of files (a JSON object, or an array for several ids, when piped)."""
    app_ctx: AppContext = ctx.obj
    io = app_ctx.io
    from xai_files_cli.output import files as file_views
    from xai_files_cli.output import machine

    client = app_ctx.files()
    found: list[FileInfo] = []
    failures: list[XaiError] = []
    for file_id in file_ids:
        try:
            found.append(client.get(file_id))
        except XaiError as error:
            if len(file_ids) == 1:
                raise
            report_error(app_ctx, error)
            failures.append(error)
    if json_output or not io.stdout_is_tty:
        if len(file_ids) == 1:
            machine.write_json(io, found[0].to_json())
        else:
            machine.write_json(io, [info.to_json() for info in found])
    elif found:
        file_views.print_file_details(io, found)
    _finish_items(len(file_ids), failures, "found")


# -- cat ------------------------------------------------------------------------------------------
@files_app.command("cat")
def cat(
    ctx: typer.Context,
    file_id: Annotated[str, file_id_argument("The file to download.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="PATH", help="Write to PATH (replaced atomically); - for stdout."
        ),
    ] = None,
    text: Annotated[
        bool, typer.Option("--text", help="The server's extracted text (e.g. of a PDF).")
    ] = False,
) -> None:
    """Download a file's content to stdout or, with -o, atomically to a path."""
    app_ctx: AppContext = ctx.obj
    io = app_ctx.io
    from xai_files_cli.core.transfer import AtomicFileSink, StreamSink, download_sink
    from xai_files_cli.output.progress import make_progress

    if output is None and io.stdout_is_tty and not text:
        raise UsageError(
            "refusing to write file content to a terminal; use -o PATH, -o - to force, or pipe it"
        )
    if output is not None and output != "-":
        sink: AtomicFileSink | StreamSink | _TerminalTextSink = download_sink(Path(output))
        to_terminal = isinstance(sink, StreamSink) and sink.isatty()  # -o /dev/tty
    elif output is None and io.stdout_is_tty:
        sink = _TerminalTextSink(io)  # --text to a terminal: decode and escape control characters
        to_terminal = True
    else:
        io.flush_out()
        sink = StreamSink(io.stdout_bin)
        to_terminal = io.stdout_is_tty  # -o - on a terminal
    # A progress bar on the terminal that shows the content would garble both.
    progress = make_progress(io, quiet=app_ctx.options.quiet or to_terminal, verb="download")
    from xai_files_cli.core.download import share_one_malloc_arena

    share_one_malloc_arena()  # before the channel starts gRPC's threads: flat memory for large files
    with sink:
        info = app_ctx.files().download(file_id, sink, progress, text=text)
    if isinstance(sink, AtomicFileSink) and io.stderr_is_tty:
        from xai_files_cli.output.files import human_size

        assert output is not None  # an AtomicFileSink is made only for -o PATH
        size = info.size if not text else Path(output).stat().st_size
        app_ctx.say.plain(f"Wrote {human_size(size)} to {output}")


class _TerminalTextSink:
    """Extracted text for a terminal: decoded incrementally, control characters escaped."""

    rewindable = False

    def __init__(self, io: "IOStreams") -> None:
        import codecs

        self._io = io
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def _emit(self, text: str) -> None:
        from xai_files_cli.output.sanitize import escape_terminal

        if text:
            self._io.write_out(escape_terminal(text, keep_newlines=True))

    def write(self, data: bytes) -> None:
        self._emit(self._decoder.decode(data))

    def rewind(self) -> None:
        raise XaiError("cannot restart a download already shown")

    def commit(self) -> None:
        self._emit(self._decoder.decode(b"", final=True))
        self._io.flush_out()

    def abort(self) -> None:
        pass

    def __enter__(self) -> "_TerminalTextSink":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


# -- rm -------------------------------------------------------------------------------------------
@files_app.command("rm")
def remove(
    ctx: typer.Context,
    file_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID...|-]",
            help="Files to delete, or - to read ids from stdin.",
            autocompletion=complete_file_id,
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be deleted; delete nothing.")
    ] = False,
    json_output: Annotated[
        bool,
        json_flag(
            "One {id, deleted, already_deleted} JSON line per deleted file; with --dry-run, the plan "
            "as a JSON array (the default when piped)."
        ),
    ] = False,
    name: NameGlobOption = None,
    older_than: OlderThanOption = None,
    newer_than: NewerThanOption = None,
    larger_than: LargerThanOption = None,
    smaller_than: SmallerThanOption = None,
) -> None:
    """Delete files by id, by ids read from stdin (-), or every file a filter selects.

    Ids: asks first on a terminal unless --yes. A filter: asks once on a terminal (count and
    total size); elsewhere it needs --yes (exit 2, nothing deleted, without it).
    """
    app_ctx: AppContext = ctx.obj
    from xai_files_cli.cli.housekeeping import RmRequest, build_filter, check_rm, read_ids, run_rm

    ids = list(file_ids or [])
    where = build_filter(
        name=name,
        older_than=older_than,
        newer_than=newer_than,
        larger_than=larger_than,
        smaller_than=smaller_than,
    )
    check_rm(app_ctx, ids, where, yes, dry_run)
    from_stdin = ids == ["-"]
    request = RmRequest(
        file_ids=read_ids(app_ctx) if from_stdin else tuple(ids),
        from_stdin=from_stdin,
        where=where,
        yes=yes,
        dry_run=dry_run,
        json_output=json_output,
    )
    run_rm(app_ctx, request)


# -- share / unshare ------------------------------------------------------------------------------
@files_app.command("share")
def share(
    ctx: typer.Context,
    file_id: Annotated[str, file_id_argument("The file to share.")],
    expires_after: Annotated[
        int | None, expires_after_option("URL lifetime (e.g. 1h, 2d, SECONDS); default: no expiry.")
    ] = None,
    json_output: Annotated[bool, json_flag("Print the URL and its expiry as JSON.")] = False,
) -> None:
    """Create a public (unauthenticated) URL for a file and print it."""
    app_ctx: AppContext = ctx.obj
    if expires_after is not None and expires_after <= 0:
        raise UsageError("--expires-after must be positive")
    from xai_files_cli.output import files as file_views
    from xai_files_cli.output import machine

    url = app_ctx.files().create_public_url(file_id, expires_after)
    if json_output:
        machine.write_json(app_ctx.io, url.to_json())
    else:
        app_ctx.io.write_out(file_views.share_line(url) + "\n")
    if app_ctx.settings().local:  # the embedded server ends with this command; `xai serve` serves links
        from xai_files_cli.emulator.embedded import default_data_dir

        app_ctx.say.note(f"the link opens while `xai serve` runs on the same data dir ({default_data_dir()})")


@files_app.command("unshare")
def unshare(
    ctx: typer.Context,
    file_id: Annotated[str, file_id_argument("The file whose public URL to revoke.")],
    json_output: Annotated[bool, json_flag("Print the result as JSON.")] = False,
) -> None:
    """Revoke a file's public URL (a no-op when it has none)."""
    app_ctx: AppContext = ctx.obj
    io = app_ctx.io
    from xai_files_cli.output import machine
    from xai_files_cli.output.sanitize import escape_terminal

    result = app_ctx.files().revoke_public_url(file_id)
    if json_output:
        machine.write_json(io, result.to_json())
    elif io.stdout_is_tty:
        what = "Revoked the public URL of" if result.revoked else "No public URL to revoke for"
        io.write_out(f"{what} {escape_terminal(result.file_id)}\n")
    else:
        machine.write_lines(io, [result.file_id])
