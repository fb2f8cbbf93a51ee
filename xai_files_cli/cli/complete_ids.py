"""Shell completion of file ids from the server (fast and silent), and of profile names.

Attach to any argument that takes a file id:

    file_id: Annotated[str, typer.Argument(autocompletion=complete_file_id)]

It lists the newest files with the invocation's effective settings (global `--api-host`,
`--profile`, env, profiles) under a deadline of about one second, and returns [] on any problem
(no key, `--local`, server down, slow network, corrupt config): a shell must never block or show
an error because of completion. Values and descriptions come from the server, so both are cut
down to a small safe alphabet before they reach a shell that may `eval` them (zsh does).
"""

from __future__ import annotations

import os
import re
from typing import Any

from xai_files_cli.cli.context import AppContext, ca_cert_of

COMPLETION_TIMEOUT = 1.0
MAX_CANDIDATES = 100
_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_SAFE_PUNCTUATION = frozenset(" _.,+@%=/-")  # no quotes, $, `, :, (), \\ or ;


def complete_file_id(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """File ids starting with `incomplete`, newest first, each with its filename as the description."""
    try:
        return _candidates(ctx, incomplete or "")
    except Exception:  # completion must never print a traceback into someone's prompt
        return []


def complete_profile(incomplete: str) -> list[str]:
    """Profile names from the config files (and the built-in `local`) starting with `incomplete`."""
    try:
        from xai_files_cli.settings import resolution

        store = AppContext.for_completion({}).store()
        names = resolution.profile_names(store.load_config(), store.load_credentials())
    except Exception:
        return []
    return [name for name in names if name.startswith(incomplete or "")]


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
        page = files.list_page(sort="created_at", descending=True, page_size=MAX_CANDIDATES)
    results: list[tuple[str, str]] = []
    for info in page.files:
        if _SAFE_ID.fullmatch(info.id) and info.id.startswith(incomplete):
            results.append((info.id, _safe_help(info.filename)))
    return results


def _root_params(ctx: Any) -> dict[str, Any]:
    """Global options as parsed so far (the root callback does not run while completing)."""
    try:
        return dict(ctx.find_root().params)
    except AttributeError:
        return {}


def _safe_help(text: str) -> str:
    """A description safe for every shell's completion protocol: no quotes, $, `, :, newlines."""
    return "".join(c if c.isalnum() or c in _SAFE_PUNCTUATION else "?" for c in text[:60])
