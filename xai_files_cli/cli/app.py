"""Root of the command tree: global options, sub-command registration, and `run`/`main`.

`run(argv, io)` is the whole program minus process exit, so tests drive it with injected streams.
Whatever ends the invocation is reported once, by `cli.reporting`: one line on stderr and a
documented exit code.

Annotations are evaluated when defined (no `from __future__ import annotations`): Typer reads the
root callback's signature up to four times a run, and would otherwise `eval` each annotation's text.
"""

# ruff: noqa: E402 (the garbage collector's threshold is raised before the imports)
from xai_files_cli.cli.gc_tuning import collect_garbage_less_often

# The `xai` console script imports this module first: the threshold is raised before its imports
# (Typer's and the command tree's), as `python -m xai_files_cli` does.
collect_garbage_less_often()

import contextlib
import copy
import functools
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Annotated, NoReturn

import typer

from xai_files_cli import __version__
from xai_files_cli.cli import examples
from xai_files_cli.cli.context import AppContext, GlobalOptions
from xai_files_cli.cli.messages import Messages
from xai_files_cli.cli.options import MAX_TIMEOUT, GlobalProfileOption, Seconds
from xai_files_cli.cli.reporting import error_format_in, exit_code_for, report_error, silence_stdout
from xai_files_cli.cli.typer_compat import Command, ParameterSource
from xai_files_cli.errors import ExitCode, Interrupted, Terminated
from xai_files_cli.output.io import IOStreams
from xai_files_cli.redact import RedactingFilter

EXIT_CODES_HELP = """\
Exit codes: 0 ok (an empty list too) · 1 other/internal error · 2 usage or local input error ·
3 no key / UNAUTHENTICATED / PERMISSION_DENIED · 4 NOT_FOUND · 5 rejected by the server
(INVALID_ARGUMENT, RESOURCE_EXHAUSTED …) · 6 unreachable or too slow (UNAVAILABLE,
DEADLINE_EXCEEDED) · 7 partial failure in a batch · 130 interrupted (143 SIGTERM).
"""

_root = typer.Typer(
    name="xai",
    help="xAI Files API and chat with files, from the terminal.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"xai {__version__}")
        raise typer.Exit()


@_root.callback()
def root(
    ctx: typer.Context,
    api_host: Annotated[
        str | None,
        typer.Option(
            "--api-host",
            metavar="HOST:PORT",
            envvar="XAI_API_HOST",
            help="API endpoint HOST:PORT [default: api.x.ai:443].",
        ),
    ] = None,
    profile: GlobalProfileOption = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run against the embedded local server (no account, no network).")
    ] = False,
    ca_cert: Annotated[
        str | None,
        typer.Option(
            "--ca-cert",
            envvar="XAI_CA_CERT",
            metavar="PATH",
            help="PEM CA bundle to trust instead of the system roots (forces TLS, even on localhost).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            click_type=Seconds(min=0.1, max=MAX_TIMEOUT),
            help="Deadline in seconds for each call (uploads: the whole transfer).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summaries on stderr.")] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Log calls to stderr (-vv: more).")
    ] = 0,
    color: Annotated[
        str, typer.Option("--color", metavar="WHEN", help="Colour: auto, always or never.")
    ] = "auto",
    error_format: Annotated[
        str, typer.Option("--error-format", metavar="FORMAT", help="Errors on stderr as text or json.")
    ] = "text",
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """xai: files and file-backed chat."""
    if color not in ("auto", "always", "never"):
        raise typer.BadParameter("must be auto, always or never", param_hint="--color")
    if error_format not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--error-format")
    app_ctx: AppContext = ctx.obj
    # Values Typer took from XAI_API_HOST / XAI_PROFILE are left to settings.resolution, which reads
    # the environment itself, so `xai config list` / `auth status` name the right source.
    if ctx.get_parameter_source("api_host") is ParameterSource.ENVIRONMENT:
        api_host = None
    if ctx.get_parameter_source("profile") is ParameterSource.ENVIRONMENT:
        profile = None
    if ctx.get_parameter_source("ca_cert") is ParameterSource.ENVIRONMENT:
        ca_cert = None
    app_ctx.options = GlobalOptions(
        api_host=api_host,
        profile=profile,
        local=local,
        ca_cert=ca_cert,
        timeout=timeout,
        quiet=quiet,
        verbose=verbose,
        color=color,
        error_format=error_format,
    )
    if color != "auto":
        from xai_files_cli.output.io import decide_color

        app_ctx.io.color = decide_color(color, app_ctx.io.stdout_is_tty)
        app_ctx.io._consoles.clear()
    _setup_logging(verbose, app_ctx.io)


examples.attach(_root)  # the root's epilog; each command gets its examples when registered

# Each top-level command and the module that registers it, in the order help lists them. A module
# is imported only when its command runs (or the whole tree is needed): `xai files ls` does not
# load chat, completion or config.
COMMAND_MODULES = {
    "files": "files",
    "chat": "chat",
    "conversations": "conversations",
    "models": "models",
    "serve": "serve",
    "auth": "auth",
    "config": "config_cmd",
    "completion": "completion",
}


@functools.cache
def _registered(name: str) -> tuple[list[typer.models.TyperInfo], list[typer.models.CommandInfo]]:
    """The groups and commands module `COMMAND_MODULES[name]` registers, with their examples
    (once per process: the partial and the whole tree share them)."""
    module = importlib.import_module(f"xai_files_cli.cli.{COMMAND_MODULES[name]}")
    holder = typer.Typer()
    module.register(holder)
    examples.attach(holder)  # every command's --help ends with real examples
    return holder.registered_groups, holder.registered_commands


def _tree(names: Sequence[str]) -> typer.Typer:
    """The root with the top-level commands `names` registered."""
    root = copy.copy(_root)
    root.registered_groups, root.registered_commands = [], []
    for name in names:
        groups, commands = _registered(name)
        root.registered_groups += groups
        root.registered_commands += commands
    return root


@functools.cache
def whole_app() -> typer.Typer:
    """The root with every command registered (root help, completion, tests)."""
    return _tree(list(COMMAND_MODULES))


def __getattr__(name: str) -> typer.Typer:
    """`app`: the whole command tree, built when first asked for."""
    if name == "app":
        return whole_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _setup_logging(verbose: int, io: IOStreams) -> None:
    logger = logging.getLogger("xai")
    logger.handlers.clear()
    logger.propagate = False
    if os.environ.get("GRPC_TRACE"):  # gRPC's own tracing, which no redaction of ours reaches
        Messages(io).warn("GRPC_TRACE is set; gRPC may log request headers, API key included")
    if verbose <= 0:
        logger.setLevel(logging.WARNING)
        return
    handler = logging.StreamHandler(io.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("xai: %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


@functools.cache
def click_command(only: str | None = None, sub: str | None = None) -> Command:
    """`app` as a click command, built once per process: building it costs far more than most
    commands take to run, and tests run the CLI in-process thousands of times. With `only`, the
    root holds that one top-level command (its options and behaviour unchanged): building the
    whole tree takes about twice as long as building `files` alone. With `sub` too, that group
    holds only its command `sub` (e.g. `files ls` without the other nine `files` commands)."""
    if only is None:
        return typer.main.get_command(whole_app())
    root = _tree([only])
    root.registered_groups = [_pruned(g, sub) for g in root.registered_groups]
    return typer.main.get_command(root)


def _pruned(group: typer.models.TyperInfo, sub: str | None) -> typer.models.TyperInfo:
    """`group` holding only its command or sub-group `sub` (all of them when `sub` is None)."""
    if sub is None or group.typer_instance is None:
        return group
    instance = copy.copy(group.typer_instance)
    instance.registered_groups = [g for g in instance.registered_groups if _group_name(g) == sub]
    instance.registered_commands = [c for c in instance.registered_commands if _command_name(c) == sub]
    pruned = copy.copy(group)
    pruned.typer_instance = instance
    return pruned


def _group_name(group: typer.models.TyperInfo) -> str | None:
    instance = group.typer_instance
    return group.name or (instance.info.name if instance is not None else None)


def _command_name(command: typer.models.CommandInfo) -> str | None:
    callback = command.callback
    return command.name or (callback.__name__.replace("_", "-") if callback is not None else None)


@functools.cache
def _root_options() -> dict[str, bool]:
    """Each root option (`--timeout`, `-q`, ...) and whether it takes a value."""
    bare = _tree([])
    taking: dict[str, bool] = {}
    for param in typer.main.get_command(bare).params:
        takes_value = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
        for opt in (*param.opts, *param.secondary_opts):
            taking[opt] = takes_value
    return taking


def _command_index(argv: Sequence[str]) -> int | None:
    """Where in `argv` the top-level command it runs is, when nothing before it needs the whole tree
    (root help, the version, an option the root does not know, shell completion); else None."""
    if any(name.endswith("_COMPLETE") for name in os.environ):
        return None
    names = COMMAND_MODULES.keys()
    options = _root_options()
    at = 0
    while at < len(argv):
        arg = argv[at]
        if not arg.startswith("-") or arg == "-":
            return at if arg in names else None
        option = arg.split("=", 1)[0]
        if option in ("-h", "--help", "--version") or option not in options:
            return None
        at += 2 if options[option] and "=" not in arg else 1
    return None


def _subcommand_named(argv: Sequence[str]) -> tuple[str | None, str | None]:
    """The top-level command `argv` runs and, when it is a group and the very next argument names
    one of its commands or sub-groups, that name (help, options or an unknown name: None)."""
    at = _command_index(argv)
    if at is None:
        return None, None
    group = next(iter(_registered(argv[at])[0]), None)
    if group is None or group.typer_instance is None or at + 1 >= len(argv):
        return argv[at], None
    instance, sub = group.typer_instance, argv[at + 1]
    names = {_group_name(g) for g in instance.registered_groups} | {
        _command_name(c) for c in instance.registered_commands
    }
    return argv[at], (sub if sub in names else None)


def run(argv: Sequence[str], io: IOStreams, ctx: AppContext | None = None) -> int:
    """Run one `xai` invocation with the given streams and return its exit code."""
    ctx = ctx or AppContext(io=io)
    if error_format_in(argv) == "json":  # parse errors before the root options apply are JSON too
        ctx.options.error_format = "json"
    command = click_command(*_subcommand_named(argv))
    saved_streams = sys.stdout, sys.stderr  # typer wraps both when it meets EPIPE
    try:
        code = _invoke(command, argv, io, ctx)
    finally:
        sys.stdout, sys.stderr = saved_streams
        signalled = _close_shielded(ctx)
        _flush_traces()
        try:
            io.flush()
        except BrokenPipeError:
            silence_stdout()
    if signalled is not None and code == 0:  # the work was done, but the user asked to stop: say so
        terminated = signalled == signal.SIGTERM
        stop = Interrupted("terminated" if terminated else "interrupted", terminated=terminated)
        report_error(ctx, stop)
        return stop.exit_code
    return code


def _invoke(command: Command, argv: Sequence[str], io: IOStreams, ctx: AppContext) -> int:
    """Run the command; its exit code, every error reported as one line (or re-raised when no
    exit code is documented for it)."""
    try:
        result = command.main(args=list(argv), prog_name="xai", standalone_mode=False, obj=ctx)
        if result == ExitCode.INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
            report_error(ctx, Interrupted("interrupted"))
        elif not result:
            io.flush_out()  # data still buffered must reach stdout, or the exit code must say it did not
        return result if isinstance(result, int) else 0
    except BaseException as error:
        code = exit_code_for(ctx, error)
        if code is None:
            raise
        return code


_STOPS = (signal.SIGINT, signal.SIGTERM)


def _close_shielded(ctx: AppContext) -> int | None:
    """Close the channel and the embedded server; a Ctrl-C or SIGTERM landing meanwhile is held
    until the close is done (no traceback from half-way through it) and returned (None: none came)."""
    shield = threading.current_thread() is threading.main_thread()  # only there can handlers change
    received: list[int] = []
    previous = {}
    if shield:
        previous = {sig: signal.signal(sig, lambda signum, _: received.append(signum)) for sig in _STOPS}
    try:
        with contextlib.suppress(Exception):  # cleanup must never mask the real exit code
            ctx.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return received[0] if received else None


def _flush_traces() -> None:
    """Export the spans still pending (OpenTelemetry, only when a channel turned it on)."""
    tracing = sys.modules.get("xai_files_cli.core.tracing")  # never imported here: it needs grpc
    if tracing is not None:
        with contextlib.suppress(Exception):
            tracing.shutdown()


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> None:
    """Console-script entry point."""
    # gRPC's C core would print its own log lines (e.g. one per failed TLS handshake attempt) to
    # stderr, breaking the one-line error contract; the status it ends with is reported instead.
    # Set before grpc is first imported; a user's own GRPC_VERBOSITY wins.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    # Typer would draw its help and error panels as for a terminal whenever GITHUB_ACTIONS,
    # FORCE_COLOR or PY_COLORS is set, putting box drawing into CI logs; the streams decide instead.
    os.environ.setdefault("_TYPER_FORCE_DISABLE_TERMINAL", "1")
    signal.signal(signal.SIGTERM, _on_sigterm)
    color = "auto"
    io = IOStreams.system(color)
    code = run(sys.argv[1:], io)
    _leave(code)


def _leave(code: int) -> NoReturn:
    """Exit once everything is closed and flushed, skipping the interpreter's own shutdown.

    A gRPC thread can still be blocked reading stdin (Ctrl-C during `upload -` while the input
    stalls); finalizing stdin under it aborts the process ("Fatal Python error:
    _enter_buffered_busy", exit 134) instead of exiting 130.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
