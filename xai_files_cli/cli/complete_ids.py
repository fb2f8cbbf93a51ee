"""Shell completion of file ids from the server (fast and silent), of local paths, and of profile names.

Attach to any argument that takes a file id:

    file_id: Annotated[str, typer.Argument(autocompletion=complete_file_id)]

With nothing typed it offers the newest files. Otherwise it asks the server for the files whose id
or name starts with what was typed (the ListFiles `filter`, as a range: `file_id >= "file_5" AND
file_id < "file_6"`), so a file older than the newest hundred is found too; an id matches first,
then a name (completing to that file's id). A server that does not take the filter gets the old
question (the newest files, matched here). It uses the invocation's effective settings (global
`--api-host`, `--profile`, env, profiles) under a deadline of about one second, and returns [] on
any problem (no key, `--local`, server down, slow network, corrupt config): a shell must never
block or show an error because of completion. Values and descriptions come from the server, so
both are cut down to a small safe alphabet before they reach a shell that may `eval` them (zsh does).
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Any

from xai_files_cli.cli.context import AppContext, ca_cert_of

if TYPE_CHECKING:
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.records import FileInfo

COMPLETION_TIMEOUT = 1.0
MAX_CANDIDATES = 100
MAX_PATHS = 200
_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_SAFE_PUNCTUATION = frozenset(" _.,+@%=/-")  # no quotes, $, `, :, (), \\ or ;
_PATH_PUNCTUATION = frozenset("_.,+@%=/-~")  # and no space in a path the shell inserts as it is
_LAST_CODE_POINT = 0x10FFFF


def complete_file_id(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """File ids whose id or name starts with `incomplete` (newest first), each with its filename as
    the description."""
    try:
        return _candidates(ctx, incomplete or "")
    except Exception:  # completion must never print a traceback into someone's prompt
        return []


def complete_file_or_path(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """For `chat --file ID|PATH`: local paths starting with `incomplete`, then file ids from the server."""
    paths = local_paths(incomplete or "")
    if incomplete and ("/" in incomplete or incomplete.startswith((".", "~"))):
        return paths  # clearly a path: no need to ask the server
    return paths + complete_file_id(ctx, incomplete)


def complete_profile(incomplete: str) -> list[str]:
    """Profile names from the config files (and the built-in `local`) starting with `incomplete`."""
    try:
        from xai_files_cli.settings import resolution

        store = AppContext.for_completion({}).store()
        names = resolution.profile_names(store.load_config(), store.load_credentials())
    except Exception:
        return []
    return [name for name in names if name.startswith(incomplete or "")]


def local_paths(incomplete: str) -> list[tuple[str, str]]:
    """Files and directories (with a trailing `/`) whose path starts with `incomplete`, sorted.

    Names a shell would take apart (spaces, quotes, `$`...) are left out: the shells insert a
    candidate as it is. Hidden entries only when a dot was typed.
    """
    head, sep, stem = incomplete.rpartition("/")
    shown = head + sep  # "", "docs/", "/" or "~/"
    found: list[tuple[str, str]] = []
    try:
        with os.scandir(os.path.expanduser(shown or ".")) as entries:
            for entry in entries:
                hidden = entry.name.startswith(".") and not stem.startswith(".")
                if hidden or not entry.name.startswith(stem):
                    continue
                candidate = shown + entry.name + ("/" if entry.is_dir() else "")
                if all(c.isalnum() or c in _PATH_PUNCTUATION for c in candidate):
                    found.append((candidate, "directory" if candidate.endswith("/") else "local file"))
                if len(found) >= MAX_PATHS:
                    break
    except OSError:
        return []
    return sorted(found)


def prefix_filter(prefix: str) -> str:
    """A ListFiles filter for the files whose id or name starts with `prefix`, as string ranges."""
    return f"{_starts_with('file_id', prefix)} OR {_starts_with('name', prefix)}"


def _starts_with(field: str, prefix: str) -> str:
    lower = f'{field} >= "{_quoted(prefix)}"'
    upper = _after_prefix(prefix)
    return f'({lower} AND {field} < "{_quoted(upper)}")' if upper else f"({lower})"


def _after_prefix(prefix: str) -> str | None:
    """The smallest string above every string starting with `prefix` (None: there is none)."""
    kept = prefix.rstrip(chr(_LAST_CODE_POINT))
    if not kept:
        return None
    following = ord(kept[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be sent as UTF-8
        following = 0xE000
    return kept[:-1] + chr(following)


def _quoted(text: str) -> str:
    """`text` inside a double-quoted filter string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _candidates(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    app_ctx = AppContext.for_completion(_root_params(ctx))
    settings = app_ctx.settings()
    if settings.local or not settings.api_key:
        return []
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC must not write to the user's terminal
    with app_ctx.files_at(
        settings.api_host,
        settings.api_key,
        timeout=COMPLETION_TIMEOUT,
        ca_cert=ca_cert_of(settings),
        connect_within_deadline=False,
    ) as files:
        found = _matching_files(files, incomplete)
    by_id = [info for info in found if info.id.startswith(incomplete)]
    by_name = [info for info in found if info.filename.startswith(incomplete) and info not in by_id]
    return [(info.id, _safe_help(info.filename)) for info in by_id + by_name if _SAFE_ID.fullmatch(info.id)]


def _matching_files(files: FilesClient, incomplete: str) -> list[FileInfo]:
    """The newest files whose id or name starts with `incomplete`: asked of the server with a filter,
    or, when it refuses the filter and time is left, among the newest files."""
    from xai_files_cli.errors import RejectedError

    def newest(filter_text: str | None = None) -> list[FileInfo]:
        page = files.list_page(
            sort="created_at", descending=True, page_size=MAX_CANDIDATES, filter=filter_text
        )
        return list(page.files)

    if not incomplete:
        return newest()
    started = time.monotonic()
    try:
        return newest(prefix_filter(incomplete))
    except RejectedError:
        if time.monotonic() - started > COMPLETION_TIMEOUT / 2:
            return []
    return newest()


def _root_params(ctx: Any) -> dict[str, Any]:
    """Global options as parsed so far (the root callback does not run while completing)."""
    try:
        return dict(ctx.find_root().params)
    except AttributeError:
        return {}


def _safe_help(text: str) -> str:
    """A description safe for every shell's completion protocol: no quotes, $, `, :, newlines."""
    return "".join(c if c.isalnum() or c in _SAFE_PUNCTUATION else "?" for c in text[:60])
