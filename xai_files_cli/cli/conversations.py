"""Commands: `xai conversations ls|show|rm|path`, the conversations `xai chat` logged.

    xai conversations ls                 # table on a terminal, JSON when piped
    xai conversations show 3f2a          # the latest without an id; any unique id prefix
    xai conversations rm 3f2a 9c1d       # also deletes the files they uploaded
    xai conversations rm --all --yes

`rm` deletes what the conversation left on the server: the files it uploaded (not files attached
by id, nor files uploaded with --keep) and, for a `--store` conversation, its stored responses.
A server failure there is a warning (an upload expires anyway); the conversation leaves the log
all the same, and the exit status is 7.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from xai_files_cli.cli.options import json_flag
from xai_files_cli.errors import AlreadyReported, Interrupted, PartialFailure, UsageError, XaiError

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext
    from xai_files_cli.core.chat import ChatClient
    from xai_files_cli.core.conversation_log import Conversation, ConversationLog
    from xai_files_cli.core.files import FilesClient

conversations_app = typer.Typer(
    name="conversations",
    help="The conversations `xai chat` recorded: list, show, delete (`xai chat -c` goes on with one).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach `xai conversations …` to the root app."""
    app.add_typer(conversations_app, name="conversations")


_SAFE_TITLE = frozenset(" _.,+@%=/-")  # description characters no shell acts on (zsh evals them)


def complete_conversation(ctx: object, incomplete: str) -> list[tuple[str, str]]:
    """Conversation ids starting with `incomplete` (newest first), each with its title, from the
    local log; never an error (and no log file is created)."""
    try:
        from xai_files_cli.core.conversation_log import ConversationLog, default_log_path

        path = default_log_path()
        if not path.is_file():
            return []
        log = ConversationLog.open(path)
        try:
            listed = log.list(200)
        finally:
            log.close()
        return [(c.id, _safe_title(c.title)) for c in listed if c.id.startswith(incomplete or "")]
    except Exception:  # completion must never print a traceback into someone's prompt
        return []


def _safe_title(title: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch in _SAFE_TITLE else " " for ch in title[:40])
    return " ".join(kept.split())


def _open_log() -> ConversationLog:
    from xai_files_cli.core.conversation_log import ConversationLog

    return ConversationLog.open()


@conversations_app.command("ls")
def list_conversations(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", metavar="N", min=1, help="Show the N most recent only.")
    ] = None,
    json_output: Annotated[bool, json_flag("A JSON array (the default when piped).")] = False,
) -> None:
    """List conversations, most recent first: id, last update, turns, model, files, title."""
    app_ctx: AppContext = ctx.obj
    io = app_ctx.io
    log = _open_log()
    try:
        conversations = log.list(limit)
    finally:
        log.close()
    if json_output or not io.stdout_is_tty:
        from xai_files_cli.output import machine

        machine.write_json(io, [c.summary_json() for c in conversations])
        return
    from xai_files_cli.output.conversations import print_conversations

    print_conversations(io, conversations)


@conversations_app.command("show")
def show(
    ctx: typer.Context,
    conversation_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[CONVERSATION]",
            help="A conversation id or unique prefix [default: the latest].",
            autocompletion=complete_conversation,
        ),
    ] = None,
    json_output: Annotated[bool, json_flag("A JSON object (the default when piped).")] = False,
) -> None:
    """Show a conversation: its files, then every prompt and answer with its sources."""
    app_ctx: AppContext = ctx.obj
    io = app_ctx.io
    log = _open_log()
    try:
        found = log.find(conversation_id) if conversation_id is not None else log.latest()
    finally:
        log.close()
    if found is None:
        from xai_files_cli.errors import NotFoundError

        raise NotFoundError("no conversations yet", hint='`xai chat "PROMPT"` starts one')
    if json_output or not io.stdout_is_tty:
        from xai_files_cli.output import machine

        machine.write_json(io, found.to_json())
        return
    from xai_files_cli.output.conversations import print_transcript

    print_transcript(io, found, time.time())


@conversations_app.command("rm")
def remove(
    ctx: typer.Context,
    conversation_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[CONVERSATION...]",
            help="Conversation ids (or unique prefixes).",
            autocompletion=complete_conversation,
        ),
    ] = None,
    all_conversations: Annotated[bool, typer.Option("--all", help="Delete every conversation.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete conversations from the log, and the files they uploaded from the server."""
    app_ctx: AppContext = ctx.obj
    ids = conversation_ids or []
    if all_conversations == bool(ids):
        raise UsageError("give conversation ids, or --all")
    if all_conversations and not yes and not app_ctx.io.can_prompt:
        raise UsageError("--all deletes every conversation; add --yes to do it without a prompt")
    log = _open_log()
    try:
        targets, failures = _resolve(app_ctx, log, ids, all_conversations)
        if targets and app_ctx.io.can_prompt and not yes and not _confirm(app_ctx, targets):
            raise Interrupted("cancelled; nothing deleted")
        leftovers = _Remover(app_ctx, log).remove_all(targets)
    finally:
        log.close()
    if leftovers:
        raise PartialFailure(
            f"removed {len(targets)} conversation(s) from the log; {leftovers} item(s) on the server "
            "could not be deleted (see above)"
        )
    if failures:
        if targets:
            raise PartialFailure(f"removed {len(targets)} of {len(targets) + len(failures)} conversations")
        raise AlreadyReported(failures[0].exit_code)


def _resolve(
    app_ctx: AppContext, log: ConversationLog, ids: list[str], everything: bool
) -> tuple[list[Conversation], list[XaiError]]:
    """The conversations named (each reported when unknown, unless it is the only one), or all."""
    if everything:
        return [log.find(c.id) for c in log.list()], []
    from xai_files_cli.cli.reporting import report_error

    found: dict[str, Conversation] = {}
    failures: list[XaiError] = []
    for ref in ids:
        try:
            conversation = log.find(ref)
        except XaiError as error:
            if len(ids) == 1:
                raise
            report_error(app_ctx, error)
            failures.append(error)
            continue
        found.setdefault(conversation.id, conversation)
    return list(found.values()), failures


def _confirm(app_ctx: AppContext, targets: list[Conversation]) -> bool:
    from xai_files_cli.output.sanitize import escape_terminal

    uploads = sum(1 for c in targets for f in c.files if f.uploaded and not f.kept)
    files = f" and {uploads} uploaded file{'s' if uploads != 1 else ''}" if uploads else ""
    if len(targets) == 1:
        title = escape_terminal(targets[0].title)
        question = f'Delete conversation {targets[0].id} "{title}"{files}?'
    else:
        question = f"Delete {len(targets)} conversations{files}?"
    return app_ctx.prompter.confirm(question)


class _Remover:
    """Deletes each conversation's server leftovers, then its log entry; counts what could not go."""

    def __init__(self, app_ctx: AppContext, log: ConversationLog) -> None:
        self.app_ctx = app_ctx
        self.log = log
        self.leftovers = 0
        self._files: FilesClient | None = None
        self._chat: ChatClient | None = None

    def remove_all(self, targets: list[Conversation]) -> int:
        for conversation in targets:
            deleted = self._server_leftovers(conversation)
            self.log.delete(conversation.id)
            self._report(conversation, deleted)
        return self.leftovers

    def _server_leftovers(self, conversation: Conversation) -> int:
        """Delete the live files it uploaded and its stored responses; returns the files deleted."""
        now = time.time()
        deleted = 0
        for attached in conversation.files:
            if not attached.uploaded or attached.kept or attached.expired(now):
                continue
            try:
                self._files_client().delete(attached.file_id)
                deleted += 1
            except XaiError as error:
                if error.status == "NOT_FOUND":
                    continue  # already gone (expired early, or removed with `xai files rm`)
                self.leftovers += 1
                self.app_ctx.say.warn(
                    f"could not delete {attached.file_id} ({error.message}); it expires anyway"
                )
        for turn in conversation.turns:
            if not turn.stored:
                continue
            try:
                self._chat_client().delete_stored(turn.response_id)
            except XaiError as error:
                self.leftovers += 1
                self.app_ctx.say.warn(
                    f"could not delete the stored response {turn.response_id} ({error.message})"
                )
        return deleted

    def _files_client(self) -> FilesClient:
        if self._files is None:
            self._files = self.app_ctx.files()
        return self._files

    def _chat_client(self) -> ChatClient:
        if self._chat is None:
            self._chat = self.app_ctx.chat()
        return self._chat

    def _report(self, conversation: Conversation, files_deleted: int) -> None:
        io = self.app_ctx.io
        if io.stdout_is_tty:
            plural = "s" if files_deleted != 1 else ""
            extra = f" and {files_deleted} uploaded file{plural}" if files_deleted else ""
            io.write_out(f"Deleted conversation {conversation.id}{extra}\n")
        else:
            io.write_out(conversation.id + "\n")


@conversations_app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the conversation log is kept ($XAI_LOGS_PATH, else the user data dir)."""
    from xai_files_cli.core.conversation_log import default_log_path

    app_ctx: AppContext = ctx.obj
    app_ctx.io.write_out(f"{default_log_path()}\n")
