"""Options and parameter types that several commands share, each defined once.

Commands declare parameters in the `Annotated` style, so the annotation states the value the
function really receives (`str | None` for an option without a default, `int | None` for a
duration in seconds). Annotations are evaluated when defined (no `from __future__ import
annotations`): Typer reads the signatures of option callbacks on every run, and would otherwise
`eval` each annotation's text.
"""

import math
import re
from typing import Annotated, Any

import typer

from xai_files_cli.cli.complete_ids import complete_file_id, complete_profile
from xai_files_cli.cli.context import AppContext
from xai_files_cli.cli.typer_compat import FloatRange, ParamType
from xai_files_cli.errors import UsageError

# gRPC turns a deadline it cannot represent (past ~2**31 s) into an immediate DEADLINE_EXCEEDED.
MAX_TIMEOUT = 365 * 86400.0
MAX_DURATION = 100 * 365 * 86400  # the wire fields are int64; nothing sensible is this long anyway

# Patterns are compiled (and cached by `re`) when a duration or size is first read, not at start-up.
_DURATION_PART = r"(\d+)\s*([smhd]?)"
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


# -- --json -----------------------------------------------------------------------------------------
def _errors_as_json(ctx: typer.Context, value: bool) -> bool:
    """A command asked for JSON: its error report on stderr is one JSON object too."""
    if value and isinstance(ctx.obj, AppContext):
        ctx.obj.json_errors = True
    return value


def json_flag(help: str, name: str = "--json") -> Any:
    """A `--json`-style flag (`--json`, `--jsonl`) with its own help, which also makes errors JSON.

    Eager, so errors found while the other parameters are read are JSON as well.
    """
    return typer.Option(name, help=help, callback=_errors_as_json, is_eager=True)


# -- file ids -------------------------------------------------------------------------------------
def file_id_argument(help: str) -> Any:
    """The `ID` argument of a command on one file, completed from the server."""
    return typer.Argument(metavar="ID", help=help, autocompletion=complete_file_id)


def file_ids_argument(help: str) -> Any:
    """The `ID...` argument of a command on one or more files, completed from the server."""
    return typer.Argument(metavar="ID...", help=help, autocompletion=complete_file_id)


# -- --profile --------------------------------------------------------------------------------------
PROFILE_HELP = "Profile to act on [default: the selected profile: -p, XAI_PROFILE, default_profile]."

# The global `xai --profile NAME`: selects the profile of the whole invocation.
GlobalProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        metavar="NAME",
        envvar="XAI_PROFILE",
        help="Config profile ('local': embedded server).",
        autocompletion=complete_profile,
    ),
]

# A command's own `--profile NAME` (auth, config): the profile it reads or changes.
ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", metavar="NAME", help=PROFILE_HELP, autocompletion=complete_profile),
]


# -- values ---------------------------------------------------------------------------------------
def check_api_host(value: str) -> None:
    """An endpoint a key may be stored for (`auth login --api-host`, `config set api_host`): a valid
    HOST:PORT, and never plaintext to a non-loopback host (UsageError, exit 2)."""
    from xai_files_cli.core.channel import parse_target
    from xai_files_cli.security import check_key_transport

    endpoint = parse_target(value)
    check_key_transport(endpoint.host, plaintext=endpoint.scheme == "http")


# -- durations --------------------------------------------------------------------------------------
def parse_duration(text: str, flag: str) -> int:
    """`3600`, `90m`, `1h`, `2d`, `1d12h` -> seconds; UsageError (exit 2) naming `flag` otherwise."""
    compact = text.strip().replace(" ", "")
    matches = list(re.finditer(_DURATION_PART, compact, re.IGNORECASE))
    if not compact or not matches or "".join(m.group(0) for m in matches) != compact:
        raise UsageError(f"invalid {flag} {text!r}: use SECONDS or a duration such as 1h, 12h, 2d")
    if len(matches) > 1 and any(not m.group(2) for m in matches):
        raise UsageError(f"invalid {flag} {text!r}: every part of a compound duration needs a unit")
    seconds = sum(int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()] for m in matches)
    if seconds > MAX_DURATION:
        raise UsageError(f"invalid {flag} {text!r}: longer than 100 years")
    return seconds


class Duration(ParamType):
    """A whole number of seconds written as SECONDS or with units (`90m`, `12h`, `1d12h`)."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        flag = param.opts[0] if param is not None and param.opts else "duration"
        return parse_duration(str(value), flag)


# -- sizes ----------------------------------------------------------------------------------------
_SIZE = r"(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgtp])(i)?)?(b)?"
_SIZE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
MAX_SIZE = 2**63 - 1  # the wire's size field is an int64


def parse_size(text: str, flag: str) -> int:
    """`512`, `10kB`, `10MB`, `1.5GiB`, `2G` -> bytes (k/M/G/T decimal, Ki/Mi/Gi/Ti binary, the B
    optional, case-insensitive; a fraction of a unit is rounded to a whole byte); UsageError (exit 2)
    naming `flag` otherwise."""
    from decimal import ROUND_HALF_UP, Decimal

    match = re.fullmatch(_SIZE, text.strip(), re.IGNORECASE)
    if match is None:
        raise UsageError(f"invalid {flag} {text!r}: use BYTES or a size such as 500kB, 10MB, 1.5GiB")
    number, prefix, binary, _ = match.groups()
    if not prefix and "." in number and Decimal(number) != Decimal(number).to_integral_value():
        raise UsageError(f"invalid {flag} {text!r}: not a whole number of bytes")
    base = 1024 if binary else 1000
    exact = Decimal(number) * base ** _SIZE_POWERS[(prefix or "").lower()]
    if exact > MAX_SIZE:  # checked first: rounding a number of more than 28 digits raises
        raise UsageError(f"invalid {flag} {text!r}: too large")
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Size(ParamType):
    """A number of bytes written as BYTES or with a unit (`10MB`, `1.5GiB`)."""

    name = "size"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        flag = param.opts[0] if param is not None and param.opts else "size"
        return parse_size(str(value), flag)


class Seconds(FloatRange):
    """Seconds as a number within a range; NaN, which passes a range check, is refused too."""

    name = "seconds"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        seconds: float = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail("must be a number of seconds", param, ctx)
        return seconds


def expires_after_option(help: str) -> Any:
    """`--expires-after DURATION` / `-e`, read as whole seconds (`int | None`)."""
    return typer.Option("--expires-after", "-e", metavar="DURATION", click_type=Duration(), help=help)


# The file TTL of `upload` and `batch-upload` (checked against the service's range by the command).
FileTtlOption = Annotated[
    int | None, expires_after_option("Delete automatically after 1h..30d (e.g. 2d, 12h, 3600).")
]


# -- housekeeping filters (`ls`, `rm`) ------------------------------------------------------------
NameGlobOption = Annotated[
    str | None,
    typer.Option(
        "--name", metavar="GLOB", help="Only files whose name matches GLOB (*, ?, [abc]; case-sensitive)."
    ),
]
OlderThanOption = Annotated[
    int | None,
    typer.Option(
        "--older-than",
        metavar="DURATION",
        click_type=Duration(),
        help="Only files created more than DURATION ago (e.g. 7d, 12h).",
    ),
]
NewerThanOption = Annotated[
    int | None,
    typer.Option(
        "--newer-than",
        metavar="DURATION",
        click_type=Duration(),
        help="Only files created less than DURATION ago (e.g. 1h).",
    ),
]
LargerThanOption = Annotated[
    int | None,
    typer.Option(
        "--larger-than", metavar="SIZE", click_type=Size(), help="Only files larger than SIZE (e.g. 10MB)."
    ),
]
SmallerThanOption = Annotated[
    int | None,
    typer.Option(
        "--smaller-than",
        metavar="SIZE",
        click_type=Size(),
        help="Only files smaller than SIZE (e.g. 1.5GiB, 512).",
    ),
]
