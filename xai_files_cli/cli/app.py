"""Root of the command tree: global options, sub-command registration, and `run`/`main`.

`run(argv, io)` is the whole program minus process exit, so tests drive it with injected streams.
Every error is reported here, once: one line on stderr and a documented exit code.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from xai_files_cli import __version__
from xai_files_cli.cli import auth, chat, completion, config_cmd, files, models, serve
from xai_files_cli.cli.complete_ids import complete_profile
from xai_files_cli.cli.context import AppContext, GlobalOptions
from xai_files_cli.errors import ExitCode, InternalError, Interrupted, Terminated, UsageError, XaiError
from xai_files_cli.output.io import IOStreams
from xai_files_cli.redact import RedactingFilter, redact

EXIT_CODES_HELP = """\
Exit codes: 0 ok (an empty list too) · 1 other/internal error · 2 usage or local input error ·
3 no key / UNAUTHENTICATED / PERMISSION_DENIED · 4 NOT_FOUND · 5 rejected by the server
(INVALID_ARGUMENT, RESOURCE_EXHAUSTED …) · 6 unreachable or too slow (UNAVAILABLE,
DEADLINE_EXCEEDED) · 7 partial failure in a batch · 130 interrupted (143 SIGTERM).
"""

app = typer.Typer(
    name="xai",
    help="xAI Files API and chat with files, from the terminal.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# gRPC turns a deadline it cannot represent (past ~2**31 s) into an immediate DEADLINE_EXCEEDED.
MAX_TIMEOUT = 365 * 86400.0


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"xai {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    api_host: str = typer.Option(
        None,
        "--api-host",
        metavar="HOST:PORT",
        envvar="XAI_API_HOST",
        help="API endpoint HOST:PORT [default: api.x.ai:443].",
    ),
    profile: str = typer.Option(
        None,
        "--profile",
        "-p",
        metavar="NAME",
        envvar="XAI_PROFILE",
        help="Config profile ('local': embedded server).",
        autocompletion=complete_profile,
    ),
    local: bool = typer.Option(
        False, "--local", help="Run against the embedded local server (no account, no network)."
    ),
    ca_cert: str = typer.Option(
        None,
        "--ca-cert",
        envvar="XAI_CA_CERT",
        metavar="PATH",
        help="PEM CA bundle to trust instead of the system roots (forces TLS, even on localhost).",
    ),
    timeout: float = typer.Option(
        None,
        "--timeout",
        metavar="SECONDS",
        min=0.1,
        max=MAX_TIMEOUT,
        help="Deadline in seconds for each call (uploads: the whole transfer).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summaries on stderr."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Log calls to stderr (-vv: more)."),
    color: str = typer.Option("auto", "--color", metavar="WHEN", help="Colour: auto, always or never."),
    error_format: str = typer.Option(
        "text", "--error-format", metavar="FORMAT", help="Errors on stderr as text or json."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """xai: files and file-backed chat."""
    if color not in ("auto", "always", "never"):
        raise typer.BadParameter("must be auto, always or never", param_hint="--color")
    if error_format not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--error-format")
    if timeout is not None and math.isnan(timeout):  # passes Typer's range check
        raise typer.BadParameter("must be a number of seconds", param_hint="--timeout")
    app_ctx: AppContext = ctx.obj
    # Values Typer took from XAI_API_HOST / XAI_PROFILE are left to config.resolve, which reads
    # the environment itself, so `xai config list` / `auth status` name the right source.
    from typer._click.core import ParameterSource

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


for module in (files, chat, models, serve, auth, config_cmd, completion):
    module.register(app)


def _setup_logging(verbose: int, io: IOStreams) -> None:
    logger = logging.getLogger("xai")
    logger.handlers.clear()
    logger.propagate = False
    if verbose <= 0:
        logger.setLevel(logging.WARNING)
        return
    handler = logging.StreamHandler(io.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("xai: %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    if os.environ.get("GRPC_TRACE"):
        io.write_err("xai: warning: GRPC_TRACE is set; gRPC may log request headers, API key included\n")


def report_error(ctx: AppContext, error: XaiError) -> None:
    """Write one error line (or one JSON object) to stderr; never a traceback, never a key."""
    from xai_files_cli.output.sanitize import escape_terminal

    if ctx.json_errors or ctx.options.error_format == "json":
        payload = {
            "error": {
                "code": error.status or ExitCode(error.exit_code).name,
                "message": redact(error.message),
                "exit_code": int(error.exit_code),
                "retryable": error.retryable,
                "hint": error.hint,
                "path": error.path,
                "file_id": error.file_id,
            }
        }
        from xai_files_cli.output.machine import to_json_text

        ctx.io.write_err(to_json_text(payload, indent=None) + "\n")  # C1 and bidi escaped too
        return
    line = escape_terminal(redact(error.message))
    if error.status:
        line += f" ({error.status})"
    if error.hint:
        line += f"; {error.hint}"
    ctx.io.write_err(f"xai: {line}\n")


def run(argv: Sequence[str], io: IOStreams, ctx: AppContext | None = None) -> int:
    """Run one `xai` invocation with the given streams and return its exit code."""
    ctx = ctx or AppContext(io=io)
    command = typer.main.get_command(app)
    saved_streams = sys.stdout, sys.stderr  # typer wraps both when it meets EPIPE
    try:
        result = command.main(args=list(argv), prog_name="xai", standalone_mode=False, obj=ctx)
        if result == ExitCode.INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
            report_error(ctx, Interrupted("interrupted"))
        elif not result:
            io.flush_out()  # data still buffered must reach stdout, or the exit code must say it did not
        return result if isinstance(result, int) else 0
    except XaiError as error:
        report_error(ctx, error)
        return int(error.exit_code)
    except NoArgsIsHelpError as error:
        io.write_err(error.format_message() + "\n")  # the help text itself, not an error line
        return error.exit_code
    except ClickException as error:
        return _report_usage(ctx, error)
    except (KeyboardInterrupt, typer.Abort):
        signal.signal(signal.SIGINT, lambda *_: os._exit(130))
        report_error(ctx, Interrupted("interrupted"))
        return int(ExitCode.INTERRUPTED)
    except Terminated:
        report_error(ctx, Interrupted("terminated"))
        return int(ExitCode.TERMINATED)
    except BrokenPipeError:
        # `xai files ls | head`: the reader left; that is not an error (exit 0, like gh).
        _silence_stdout(io)
        return 0
    except SystemExit as stop:
        if not isinstance(stop.__context__, BrokenPipeError):
            raise
        _silence_stdout(io)  # typer met the EPIPE first and turned it into exit 1
        return 0
    except UnicodeEncodeError as error:  # argv bytes that are not UTF-8 (a Linux path may be) meant as text
        shown = error.object if isinstance(error.object, str) else str(error.object)
        report_error(ctx, UsageError(f"{shown!r} is not valid UTF-8 text, which is all the API accepts"))
        return int(ExitCode.USAGE)
    except OSError as error:  # a local failure no command foresaw: still one line, never a traceback
        where = f" ({error.filename})" if error.filename else ""
        report_error(ctx, InternalError(f"I/O error: {error.strerror or error}{where}"))
        return int(ExitCode.ERROR)
    finally:
        sys.stdout, sys.stderr = saved_streams
        with contextlib.suppress(Exception):  # cleanup must never mask the real exit code
            ctx.close()
        try:
            io.flush()
        except BrokenPipeError:
            _silence_stdout(io)


def _report_usage(ctx: AppContext, error: ClickException) -> int:
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


def _silence_stdout(io: IOStreams) -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> None:
    """Console-script entry point."""
    # gRPC's C core would print its own log lines (e.g. one per failed TLS handshake attempt) to
    # stderr, breaking the one-line error contract; the status it ends with is reported instead.
    # Set before grpc is first imported; a user's own GRPC_VERBOSITY wins.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
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
