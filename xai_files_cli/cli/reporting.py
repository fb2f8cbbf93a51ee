"""How an invocation ends: every error becomes one line (or one JSON object) on stderr and an exit code.

`exit_code_for` is the single ladder from whatever a command raised to the documented exit
code; commands raise XaiError subclasses and never print their own final error. JSON errors
(`--error-format json`, or `--json` on the command) are `XaiError.to_json()`, secrets masked.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

import typer

from xai_files_cli.cli.typer_compat import ClickException, NoArgsIsHelpError
from xai_files_cli.errors import (
    AlreadyReported,
    ExitCode,
    InternalError,
    Interrupted,
    Terminated,
    UsageError,
    XaiError,
)
from xai_files_cli.output.sanitize import escape_terminal
from xai_files_cli.redact import redact

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext


def wants_json(ctx: AppContext) -> bool:
    """Errors go to stderr as JSON with `--error-format json` or a command's `--json`/`--jsonl`."""
    return ctx.json_errors or ctx.options.error_format == "json"


def report_error(ctx: AppContext, error: XaiError) -> None:
    """Write one error line (or one JSON object) to stderr; never a traceback, never a key."""
    if isinstance(error, AlreadyReported):
        return
    if wants_json(ctx):
        from xai_files_cli.output.machine import to_json_text

        ctx.io.write_err(to_json_text({"error": error.to_json()}, indent=None) + "\n")
        return
    line = escape_terminal(redact(error.message))
    if error.status:
        line += f" ({error.status})"
    if error.hint:
        line += f"; {error.hint}"
    ctx.io.write_err(f"xai: {line}\n")


def report_usage(ctx: AppContext, error: ClickException) -> int:
    """A usage error found while parsing: one line, or one JSON object with --error-format json."""
    message = redact(error.format_message())
    err_ctx = getattr(error, "ctx", None)
    help_hint = f"see '{err_ctx.command_path} --help'" if err_ctx is not None else None
    if ctx.options.error_format == "json":
        usage = UsageError(message, hint=help_hint)
        usage.exit_code = ExitCode(error.exit_code)
        report_error(ctx, usage)
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
