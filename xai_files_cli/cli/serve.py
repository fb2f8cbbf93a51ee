"""Command: `xai serve`, the local emulator of the xAI Files/Chat/Models gRPC API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from xai_files_cli.cli.context import AppContext
from xai_files_cli.cli.messages import Messages
from xai_files_cli.cli.options import Seconds
from xai_files_cli.errors import AlreadyReported, ExitCode, UsageError

if TYPE_CHECKING:
    from xai_files_cli.emulator.public_http import PublicLinks

NO_KEY_MESSAGE = (
    "serve: no API key for clients to present; pass --api-key KEY or set XAI_API_KEY "
    "(or --no-auth to accept any caller, loopback only)"
)


def register(app: typer.Typer) -> None:
    """Attach `serve` to the root app."""
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option("--host", metavar="ADDRESS", help="Address to bind; loopback unless --allow-remote."),
    ] = ("127.0.0.1"),
    port: Annotated[
        int,
        typer.Option("--port", metavar="PORT", min=0, max=65535, help="Port to bind; 0 picks a free one."),
    ] = 50051,
    public_port: Annotated[
        int | None,
        typer.Option(
            "--public-port",
            metavar="PORT",
            min=0,
            max=65535,
            help=(
                "Loopback HTTP port serving public links (`xai files share`); 0 picks a free one "
                "[default: the data dir's own, kept from its first run]."
            ),
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Database and blobs [default: $XAI_DATA_DIR or the user data dir].",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", metavar="KEY", help="Key clients must send [default: $XAI_API_KEY]; visible in `ps`."
        ),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept calls without a key (loopback binds only).")
    ] = False,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback address (a key is then required).")
    ] = False,
    max_concurrent_rpcs: Annotated[
        int,
        typer.Option(
            "--max-concurrent-rpcs",
            metavar="N",
            min=1,
            max=10_000,
            help=(
                "Calls served at once; more are turned away with RESOURCE_EXHAUSTED, which xai "
                "clients retry after a back-off."
            ),
        ),
    ] = 128,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            metavar="SECONDS",
            click_type=Seconds(min=0.0),
            help="Seconds in-flight calls get on SIGTERM/SIGINT.",
        ),
    ] = 5.0,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert", metavar="PEM", help="PEM certificate (chain): serve TLS instead of plaintext."
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option("--tls-key", metavar="PEM", help="PEM private key of --tls-cert."),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", hidden=True, help="Test-only fault spec (repeatable)."),
    ] = None,
) -> None:
    """Run a local emulator of the xAI gRPC API (point clients at localhost:PORT)."""
    from xai_files_cli.emulator.embedded import default_data_dir
    from xai_files_cli.emulator.faults import FaultPlan, FaultSpecError
    from xai_files_cli.emulator.server import (
        ServerConfig,
        faults_from_env,
        serve_until_signalled,
        start_server,
    )
    from xai_files_cli.redact import register_secret
    from xai_files_cli.security import is_loopback

    app_ctx: AppContext = ctx.obj
    key = server_key(api_key, os.environ.get("XAI_API_KEY"))
    if no_auth:
        if not is_loopback(host):
            raise UsageError("--no-auth is refused for a non-loopback address; give the server a key")
        key = None
    elif key is None:
        raise UsageError(NO_KEY_MESSAGE)
    if not allow_remote and not is_loopback(host):
        raise UsageError(
            f"refusing to bind non-loopback address {host!r} without --allow-remote",
            hint="--allow-remote lets other machines call it (they must send the key)",
        )
    register_secret(key)
    try:
        faults = FaultPlan.parse(fault) if fault else faults_from_env()
    except FaultSpecError as error:
        raise UsageError(str(error)) from None
    cert_pem, key_pem = read_tls_pair(tls_cert, tls_key)
    directory = (data_dir or default_data_dir()).expanduser().resolve()
    config = ServerConfig(
        data_dir=directory,
        api_key=key,
        max_concurrent_rpcs=max_concurrent_rpcs,
        faults=faults,
        allow_non_loopback=allow_remote,
        tls_cert=cert_pem,
        tls_key=key_pem,
        serve_public_links=True,
        public_port=public_port,
    )
    running = start_server(config, host=host, port=port)
    auth_note = ("" if key else ", no auth") + (", TLS" if running.tls else "")

    say = Messages(app_ctx.io, prefix="xai serve")

    def announce() -> None:
        say.say(f"listening on {running.target} (data: {directory}{auth_note})")
        say.say(public_links_line(running.public_links))
        app_ctx.io.flush()

    try:
        code = serve_until_signalled(running, grace=grace, on_ready=announce)
    except BaseException:
        running.stop(grace=0)
        raise
    say.say("stopped")
    if code:
        raise AlreadyReported(ExitCode(code))


def public_links_line(links: PublicLinks | None) -> str:
    """Where `xai serve` serves public links, and whether they moved from a taken port."""
    if links is None:
        return "public links are not served"
    moved = f" (moved from port {links.moved_from}, which is in use)" if links.moved_from else ""
    return f"public links on {links.base_url}{moved}"


def server_key(flag: str | None, env: str | None) -> str | None:
    """The key clients must present: `--api-key`, else $XAI_API_KEY, without surrounding whitespace.

    A blank key is no key: a blank $XAI_API_KEY counts as unset, and a blank `--api-key` is an
    error (exit 2) rather than a key that anyone sending `Bearer ` plus spaces would match.
    """
    if flag is not None:
        if not flag.strip():
            raise UsageError("serve: --api-key is blank; give a non-empty key")
        return flag.strip()
    return (env or "").strip() or None


def read_tls_pair(cert: Path | None, key: Path | None) -> tuple[bytes | None, bytes | None]:
    """The PEM bytes of `--tls-cert` and `--tls-key`, checked to be a matching pair (exit 2 if not)."""
    if cert is None and key is None:
        return None, None
    if cert is None or key is None:
        raise UsageError("serve: --tls-cert and --tls-key must be given together")
    pems: list[bytes] = []
    for path in (cert, key):
        try:
            pems.append(path.read_bytes())
        except OSError as error:
            raise UsageError(f"serve: cannot read {path}: {error.strerror}", path=str(path)) from None
    import ssl

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "reason", None) or str(error)
        raise UsageError(f"serve: unusable TLS certificate or key ({cert}, {key}): {reason}") from None
    return pems[0], pems[1]
