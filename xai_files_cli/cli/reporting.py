"""How an invocation ends: every error becomes one line (or one JSON object) on stderr and an exit code.

`exit_code_for` is the single ladder from whatever a command raised to the documented exit
code; commands raise XaiError subclasses and never print their own final error. JSON errors
(`--error-format json`, or `--json` on the command) are `XaiError.to_json()`, secrets masked.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from xai_files_cli.cli.typer_compat import ClickException, NoArgsIsHelpError
from xai_files_cli.errors import (
    AlreadyReported,
    ExitCode,
    InternalError,
    Interrupted,
    Terminated,
    UnavailableError,
    UsageError,
    XaiError,
)
from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.redact import redact
from xai_files_cli.settings.resolution import SOURCE_DEFAULT

CHECK_THE_ROUTE = "check the host and port, and whether a firewall or proxy drops the traffic"

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext


def wants_json(ctx: AppContext) -> bool:
    """Errors go to stderr as JSON with `--error-format json` or a command's `--json`/`--jsonl`."""
    return ctx.json_errors or ctx.options.error_format == "json"


def report_error(ctx: AppContext, error: XaiError) -> None:
    """Write one error line (or one JSON object) to stderr; never a traceback, never a key."""
    if isinstance(error, AlreadyReported):
        return
    _blame_the_connection(ctx, error)
    _name_host_source(ctx, error)
    if wants_json(ctx):
        _write_json_error(ctx, error)
        return
    line = escape_terminal(redact(error.message))
    if error.status:
        line += f" ({error.status})"
    if error.hint:
        line += f"; {error.hint}"
    ctx.io.write_err(f"xai: {line}\n")


def _write_json_error(ctx: AppContext, error: XaiError) -> None:
    from xai_files_cli.output.machine import to_json_text

    ctx.io.write_err(to_json_text({"error": error.to_json()}, indent=None) + "\n")


def _blame_the_connection(ctx: AppContext, error: XaiError) -> None:
    """A deadline that expired before any connection was made is about reaching the server, not
    its speed: the hint says so, naming the target, instead of "the server was too slow"."""
    if not isinstance(error, UnavailableError) or error.status != "DEADLINE_EXCEEDED" or not error.hint:
        return
    from xai_files_cli.core.rpc import TIMEOUT_HINT

    if TIMEOUT_HINT not in error.hint:
        return
    target = ctx.unreached_target()
    if target is not None:
        unreached = f"{target} accepted no connection in that time: {CHECK_THE_ROUTE}"
        error.hint = error.hint.replace(TIMEOUT_HINT, unreached)


def _name_host_source(ctx: AppContext, error: XaiError) -> None:
    """A server that cannot be reached: say where its address came from (flag, env, profile, default),
    since a stale XAI_API_HOST or profile is the usual cause. Added once, as the error's hint."""
    if not isinstance(error, UnavailableError) or getattr(error, "_host_named", False):
        return
    settings = ctx.resolved_settings()
    if settings is None or settings.local:
        return
    from xai_files_cli.core.channel import parse_target

    try:
        target = parse_target(settings.api_host).target
    except XaiError:
        return
    if target not in error.message and target not in (error.hint or ""):
        return  # about another endpoint (e.g. `auth login --api-host`), or not about connecting
    error._host_named = True  # type: ignore[attr-defined]
    origin = host_origin(settings.host_source, settings.api_host)
    error.hint = f"{origin}; {error.hint}" if error.hint else origin


def host_origin(source: str, host: str) -> str:
    """`the API host comes from env XAI_API_HOST` and the like, for a message about that host."""
    if source == SOURCE_DEFAULT:
        return f"{host} is the default API host; set another with --api-host, XAI_API_HOST or a profile"
    return f"the API host {host} comes from {source}"


def _wants_json_while_parsing(ctx: AppContext, error: ClickException) -> bool:
    """JSON for a parse error when asked, even before the root callback applied the options: the
    root context has already parsed `--error-format json` when the command name is unknown."""
    if wants_json(ctx):
        return True
    err_ctx = getattr(error, "ctx", None)
    root_params = err_ctx.find_root().params if err_ctx is not None else {}
    return root_params.get("error_format") == "json"


def error_format_in(argv: Sequence[str]) -> str | None:
    """The value of a root `--error-format` among the arguments (before any `--`), if one is written."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--error-format="):
            return arg.partition("=")[2]
        if arg == "--error-format" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def report_usage(ctx: AppContext, error: ClickException) -> int:
    """A usage error found while parsing: one line, or one JSON object with --error-format json."""
    message = redact(error.format_message())
    err_ctx = getattr(error, "ctx", None)
    help_hint = f"see '{err_ctx.command_path} --help'" if err_ctx is not None else None
    if _wants_json_while_parsing(ctx, error):
        usage = UsageError(message, hint=help_hint)
        usage.exit_code = ExitCode(error.exit_code)
        _write_json_error(ctx, usage)
    else:
        ctx.io.write_err(f"xai: {message}" + (f" ({help_hint})" if help_hint else "") + "\n")
    return error.exit_code


def exit_code_for(ctx: AppContext, error: BaseException) -> int | None:
    """Report what ended the invocation and return its exit code; None if it is not ours to handle."""
    if isinstance(error, XaiError):
        report_error(ctx, error)
        return int(error.exit_code)
    if isinstance(error, NoArgsIsHelpError):
        ctx.io.write_err(error.format_message() + "\n")  # the help text itself, not an error line
        return error.exit_code
    if isinstance(error, ClickException):
        return report_usage(ctx, error)
    if isinstance(error, (KeyboardInterrupt, typer.Abort)):
        signal.signal(signal.SIGINT, lambda *_: os._exit(130))  # a second Ctrl-C leaves at once
        report_error(ctx, Interrupted("interrupted"))
        return int(ExitCode.INTERRUPTED)
    if isinstance(error, Terminated):
        report_error(ctx, Interrupted("terminated"))
        return int(ExitCode.TERMINATED)
    if isinstance(error, BrokenPipeError) or (
        isinstance(error, SystemExit) and isinstance(error.__context__, BrokenPipeError)
    ):
        # `xai files ls | head`: the reader left; that is not an error (exit 0, like gh). Typer may
        # have met the EPIPE first and turned it into SystemExit(1).
        silence_stdout()
        return 0
    if isinstance(error, UnicodeEncodeError):  # argv bytes that are not UTF-8 (a Linux path may be)
        shown = error.object if isinstance(error.object, str) else str(error.object)
        report_error(ctx, UsageError(f"{shown!r} is not valid UTF-8 text, which is all the API accepts"))
        return int(ExitCode.USAGE)
    if isinstance(error, OSError):  # a local failure no command foresaw: still one line, no traceback
        where = f" ({error.filename})" if error.filename else ""
        report_error(ctx, InternalError(f"I/O error: {error.strerror or error}{where}"))
        return int(ExitCode.ERROR)
    return None


def silence_stdout() -> None:
    """After EPIPE, point the process's stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
