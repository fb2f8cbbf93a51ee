"""Command: `xai chat`, ask a model about files from the terminal or a script, and carry on later.

    xai chat "Summarise the risks" --file ./report.pdf
    xai chat -c "And the budget?"                    # report.pdf is still attached
    git diff | xai chat "Review this" -
    xai chat "Invoice" -f inv.pdf --schema 'vendor, total float, due date'
    xai chat "Compare them" -f file_abc -f ./b.csv --json | jq .usage

Every `--file` value is checked before anything is sent: an existing local path is uploaded
(progress on stderr) with an expiry (`--expires-after`, 1 h by default; none with `--keep`), any
other value must look like a file id. Each turn is recorded in the conversation log (see
core/conversation_log.py; `--no-log` records nothing): `-c` goes on with the latest conversation,
`--conversation ID` with another, the earlier files still attached by id. An upload no recorded
turn refers to (`--no-log`, a failed or interrupted answer) is deleted before the command ends.

The answer streams to stdout: Markdown rendered on a terminal (`--raw`: the text as is), plain
text on a pipe. A terminal stderr gets the sources (file and page of each `[N]`) and the usage
line; `--json` prints one object instead (`citations` included); `--schema` prints one JSON value
that fits the schema. `-i` holds a conversation with line editing; `/file PATH`, `/quit`.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xai_files_cli.cli.complete_ids import complete_file_or_path
from xai_files_cli.cli.conversations import complete_conversation
from xai_files_cli.cli.options import Duration, json_flag
from xai_files_cli.cli.uploads import UploadReuse
from xai_files_cli.errors import Interrupted, NotFoundError, Terminated, UsageError, XaiError

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext
    from xai_files_cli.cli.messages import Messages
    from xai_files_cli.core.answer_schema import AnswerSchema
    from xai_files_cli.core.chat import ChatClient, ChatOptions, ChatReply, Message
    from xai_files_cli.core.conversation import Thread
    from xai_files_cli.core.conversation_log import AttachedFile, ConversationLog
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.transfer import UploadSource

AUTO_UPLOAD_TTL = 3600  # seconds: how long an auto-uploaded file lives on the server by default
EFFORT_CHOICES = ("low", "medium", "high")
HISTORY_FILE = "chat_history"
STATE_DIR_ENV = "XAI_STATE_DIR"
_FILE_ID = re.compile(r"file[-_][A-Za-z0-9][A-Za-z0-9_-]*")
_TURN_PROMPT = "> "
_SESSION_COMMAND = re.compile(r"/(?P<name>[A-Za-z]+)(?:\s+(?P<arg>.*))?")
SESSION_HELP = "/file PATH|ID attaches a file · /quit (or Ctrl-D) leaves · /help"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name too long to be a path: then it is not one
        return False


def history_path() -> Path:
    """The `-i` line history: `chat_history` in $XAI_STATE_DIR, else in the user state dir."""
    override = os.environ.get(STATE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser() / HISTORY_FILE
    import platformdirs

    return Path(platformdirs.user_state_dir("xai", appauthor=False)) / HISTORY_FILE


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("chat")(chat)


def chat(
    ctx: typer.Context,
    prompt: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PROMPT|-",
            help="The question (words are joined). '-' adds stdin; no PROMPT: piped stdin is the prompt.",
            show_default=False,
        ),
    ] = None,
    files: Annotated[
        list[str] | None,
        typer.Option(
            "--file",
            "-f",
            metavar="ID|PATH",
            help="Attach a file id, or a local file (uploaded; it expires, see --expires-after).",
            autocompletion=complete_file_or_path,
        ),
    ] = None,
    images: Annotated[
        list[str] | None,
        typer.Option("--image", metavar="PATH|URL", help="Attach an image (PNG, JPEG, WebP)."),
    ] = None,
    continue_: Annotated[
        bool,
        typer.Option(
            "--continue", "-c", help="Go on with the latest conversation (its files stay attached)."
        ),
    ] = False,
    conversation: Annotated[
        str | None,
        typer.Option(
            "--conversation",
            metavar="CONVERSATION",
            help="Go on with this conversation: its id or a unique prefix (`xai conversations ls`).",
            autocompletion=complete_conversation,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            metavar="MODEL",
            help="Model name [default: the conversation's, else the profile's model, grok-4].",
        ),
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", "-s", metavar="TEXT", help="System prompt (new conversations).")
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option(
            "--schema",
            metavar="SCHEMA",
            help="Answer with one JSON value fitting SCHEMA: JSON Schema text, @FILE, or fields such as "
            "'name, total float, due date' (types: string, int, float, bool, date; 'x[]' a list; "
            "'x?' may be null).",
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option("--temperature", metavar="T", min=0.0, max=2.0, help="Sampling temperature 0-2."),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", metavar="N", min=1, max=2**31 - 1, help="Cap on answer tokens."),
    ] = None,
    reasoning_effort: Annotated[
        str | None,
        typer.Option(
            "--reasoning-effort", metavar="low|medium|high", help="Reasoning budget of reasoning models."
        ),
    ] = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Wait for the whole answer (unary call).")
    ] = False,
    raw: Annotated[
        bool,
        typer.Option("--raw", help="Print the answer's text as is (no Markdown rendering on a terminal)."),
    ] = False,
    json_output: Annotated[bool, json_flag("Print one JSON object (one per turn with -i).")] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="Auto-uploaded files never expire (ids on stderr).")
    ] = False,
    expires_after: Annotated[
        int | None,
        typer.Option(
            "--expires-after",
            metavar="DURATION",
            click_type=Duration(),
            help="Lifetime of auto-uploaded files, 1h..30d (e.g. 2h) [default: 1h].",
        ),
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store", help="The server keeps the conversation; later turns send only the new prompt."
        ),
    ] = False,
    no_log: Annotated[
        bool,
        typer.Option("--no-log", help="Record nothing in the conversation log (uploads are deleted after)."),
    ] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Hold a conversation; /quit or Ctrl-D leaves.")
    ] = False,
) -> None:
    """Ask a model about your files: PROMPT and answer, later turns with -c, or a conversation with -i."""
    app_ctx: AppContext = ctx.obj
    _check_flags(temperature, reasoning_effort, expires_after, keep=keep)
    if continue_ and conversation is not None:
        raise UsageError("use either --continue or --conversation ID, not both")
    answer_schema = _load_schema(schema, interactive=interactive)
    from xai_files_cli.core.chat import ChatOptions, image_reference, image_source

    # Everything local is checked before the first byte is sent: no upload happens for a bad call.
    question = read_prompt(app_ctx, prompt or [], interactive=interactive)
    ttl = None if keep else (expires_after or AUTO_UPLOAD_TTL)
    thread = _open_thread(app_ctx, continue_, conversation, system=system, store=store, no_log=no_log)
    try:
        attachments = _Attachments.check(files or [], keep=keep, ttl=ttl)
        try:
            image_urls = tuple(image_source(value) for value in images or [])
            renewals = attachments.renewals(thread)
        except BaseException:
            attachments.close()
            raise
    except BaseException:
        _close_log(thread)
        raise
    options = ChatOptions(
        model=model or thread.model or app_ctx.settings().model,
        temperature=temperature,
        max_tokens=max_tokens,
        reasoning_effort=reasoning_effort,
        schema=answer_schema.text if answer_schema is not None else None,
        inline_citations=json_output or (app_ctx.io.stderr_is_tty and not app_ctx.options.quiet),
        store=thread.store,
    )
    session = _Session(
        app_ctx,
        options,
        thread,
        attachments,
        stream=not no_stream,
        json_output=json_output,
        raw=raw,
        schema=answer_schema,
    )
    image_names = [image_reference(value) for value in images or []]
    _run(session, question, image_urls, image_names, renewals, interactive=interactive)


def _check_flags(
    temperature: float | None, reasoning_effort: str | None, expires_after: int | None, *, keep: bool
) -> None:
    if temperature is not None and math.isnan(temperature):  # passes Typer's 0..2 range check
        raise UsageError("--temperature must be a number from 0 to 2, got nan")
    if reasoning_effort is not None and reasoning_effort not in EFFORT_CHOICES:
        raise UsageError(
            f"--reasoning-effort must be one of {', '.join(EFFORT_CHOICES)}, got {reasoning_effort!r}"
        )
    if expires_after is not None:
        if keep:
            raise UsageError("use either --keep or --expires-after, not both")
        from xai_files_cli.core.files import check_ttl

        check_ttl(expires_after)


def _load_schema(schema: str | None, *, interactive: bool) -> AnswerSchema | None:
    if schema is None:
        return None
    if interactive:
        raise UsageError("--schema answers one question; it cannot be used with -i")
    from xai_files_cli.core.answer_schema import load_schema

    return load_schema(schema)


def _run(
    session: _Session,
    question: str | None,
    image_urls: tuple[str, ...],
    image_names: list[str],
    renewals: list[tuple[str, _Attachment]],
    *,
    interactive: bool,
) -> None:
    """Upload, ask (once, or turn after turn), clean up; the JSON document is written last."""
    from xai_files_cli.core.chat import AnswerCutOff

    app_ctx, attachments = session.app_ctx, session.attachments
    reply = None
    try:
        try:
            attachments.upload(app_ctx)
            session.renew(renewals)
            if interactive:
                session.converse(question, image_urls, tuple(image_names))
                return
            reply = session.ask(question or "", attachments.new_ids(), image_urls, tuple(image_names))
        finally:
            attachments.cleanup(app_ctx)
            _close_log(session.thread)
    except AnswerCutOff as cut:
        if session.json_output and not interactive:  # keep what arrived, marked with the error
            session.write_json(cut.partial, error=cut)
        raise
    session.finish(reply)


def _close_log(thread: Thread) -> None:
    if thread.log is not None:
        thread.log.close()


def _log_or_none(app_ctx: AppContext) -> ConversationLog | None:
    """The log for a new conversation; one that cannot be opened is a warning, not a failed chat."""
    from xai_files_cli.core.conversation_log import ConversationLog

    try:
        return ConversationLog.open()
    except XaiError as error:
        app_ctx.say.warn(f"{error.message}; this conversation is not recorded")
        return None


def _open_thread(
    app_ctx: AppContext,
    continue_: bool,
    conversation: str | None,
    *,
    system: str | None,
    store: bool,
    no_log: bool,
) -> Thread:
    """The conversation this invocation adds to: a logged one (-c, --conversation) or a new one."""
    from xai_files_cli.core.conversation import Thread

    settings = app_ctx.settings()
    host = "embedded server" if settings.local else settings.api_host
    if not continue_ and conversation is None:
        return Thread(log=None if no_log else _log_or_none(app_ctx), system=system, store=store, host=host)
    if system is not None:
        raise UsageError("--system starts a new conversation; it cannot be given with -c or --conversation")
    from xai_files_cli.core.conversation_log import ConversationLog

    log = ConversationLog.open()
    try:
        found = log.find(conversation) if conversation is not None else log.latest()
    except BaseException:
        log.close()
        raise
    if found is None:
        log.close()
        raise NotFoundError("no conversation to continue yet", hint='start one with `xai chat "PROMPT"`')
    return Thread.resume(log, found, store=store, record=not no_log)


# -- the prompt -------------------------------------------------------------------------------------


def read_prompt(app_ctx: AppContext, words: list[str], *, interactive: bool) -> str | None:
    """The question from the arguments and/or stdin; None when -i will ask for it.

    `-` among the arguments adds stdin to the words (`git diff | xai chat "Review this" -`);
    no words at all means the prompt is stdin when it is not a terminal.
    """
    io = app_ctx.io
    dashes = words.count("-")
    text = " ".join(word for word in words if word != "-").strip()
    if dashes > 1:
        raise UsageError("'-' (read stdin) may be given once")
    if interactive and dashes:
        raise UsageError(
            "--interactive reads your turns from stdin; give the first question as PROMPT, not -"
        )
    use_stdin = bool(dashes)
    if not text and not use_stdin:
        if interactive:
            return None
        if io.stdin_is_tty:
            raise UsageError("no prompt: give PROMPT, pipe it on stdin, or use -i for a conversation")
        use_stdin = True
    if use_stdin:
        piped = io.stdin.read().decode("utf-8", errors="replace").strip("\n")
        text = f"{text}\n\n{piped}" if text and piped.strip() else (text or piped)
    if not text.strip():
        raise UsageError("the prompt is empty" + (" (nothing on stdin)" if use_stdin else ""))
    return text


# -- attachments ------------------------------------------------------------------------------------


@dataclass
class _Attachment:
    value: str  # as given on the command line
    source: UploadSource | None = None  # a local file to upload; None for an id
    file_id: str | None = None
    uploaded: bool = False
    deleted: bool = False
    recorded: bool = False  # a logged turn refers to it: it stays until it expires
    sent: bool = False  # attached to a turn already
    expires_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "name": Path(self.value).name if self.source is not None else None,
            "path": str(Path(self.value).absolute()) if self.source is not None else None,  # as logged
            "uploaded": self.uploaded,
            "deleted": self.deleted,
            "expires_at": _iso(self.expires_at),
        }

    def attached(self, keep: bool) -> AttachedFile:
        """As the conversation log keeps it (the absolute path, to send it again once expired)."""
        from xai_files_cli.core.conversation_log import AttachedFile

        assert self.file_id is not None
        is_path = self.source is not None
        return AttachedFile(
            self.file_id,
            name=Path(self.value).name if is_path else None,
            path=str(Path(self.value).absolute()) if is_path else None,
            uploaded=self.uploaded,
            kept=keep and self.uploaded,
            expires_at=self.expires_at,
        )


def _iso(seconds: float | None) -> str | None:
    from xai_files_cli.core.conversation_log import iso_time

    return iso_time(seconds)


@dataclass
class _Attachments:
    """The `--file` values (and `/file` ones): checked together, uploaded together, and deleted at
    the end unless a recorded turn refers to them or --keep."""

    items: list[_Attachment]
    keep: bool
    ttl: int | None = AUTO_UPLOAD_TTL
    _files: FilesClient | None = field(default=None, repr=False)

    @classmethod
    def check(cls, values: list[str], *, keep: bool, ttl: int | None = AUTO_UPLOAD_TTL) -> _Attachments:
        """Classify every value before any upload: UsageError (exit 2) or RejectedError (exit 5)."""
        attachments = cls([], keep, ttl)
        try:
            for value in values:
                attachments.items.append(_classify(value))
        except BaseException:
            attachments.close()
            raise
        return attachments

    def renewals(self, thread: Thread) -> list[tuple[str, _Attachment]]:
        """Expired uploads of the conversation, each to be uploaded again from its path (checked now).

        Raises:
            NotFoundError: an expired file's path is gone (exit 4, before anything is sent).
        """
        pending: list[tuple[str, _Attachment]] = []
        for expired in thread.expired_uploads():
            if expired.path is None or not _exists(Path(expired.path)):
                raise NotFoundError(
                    f"{expired.label()} ({expired.file_id}) expired on the server and "
                    f"{expired.path or 'its path'} is gone",
                    hint="attach the file again with --file, or start a new conversation",
                    file_id=expired.file_id,
                )
            item = _classify(expired.path)
            self.items.append(item)
            pending.append((expired.file_id, item))
        return pending

    def add(self, app_ctx: AppContext, value: str) -> _Attachment:
        """Check and upload one more file (`/file` in a session)."""
        item = _classify(value)
        self.items.append(item)
        self.upload(app_ctx)
        return item

    def upload(self, app_ctx: AppContext) -> tuple[str, ...]:
        """Upload the local files not uploaded yet (progress on stderr); returns every attachment's id."""
        if any(item.source is not None and item.file_id is None for item in self.items):
            from xai_files_cli.output.progress import make_progress

            self._files = self._files or app_ctx.files()
            progress = make_progress(app_ctx.io, quiet=app_ctx.options.quiet, verb="upload")
            reuse = UploadReuse(app_ctx)
            for item in self.items:
                if item.source is None or item.file_id is not None:
                    continue
                # Upload index: a live upload of this very content is attached instead (never deleted).
                live = reuse.find_live(Path(item.value), Path(item.value).name, forever=self.keep)
                if live is not None:
                    item.source.close()
                    item.file_id, item.expires_at = live.id, _expiry(live.expires_at, None)
                    continue
                with item.source:
                    try:
                        info = self._files.upload(
                            item.source,
                            name=Path(item.value).name,
                            expires_after=None if self.keep else self.ttl,
                            progress=progress,
                        )
                    except Interrupted:
                        raise  # the upload already deleted what it stored, or named it with `rm`
                    except XaiError as error:
                        if error.file_id:  # stored although the upload failed (e.g. a size mismatch)
                            item.file_id, item.uploaded = error.file_id, True
                        raise
                    except KeyboardInterrupt:
                        self._files.cancel.set()
                        raise
                item.file_id, item.uploaded = info.id, True
                item.expires_at = _expiry(info.expires_at, None if self.keep else self.ttl)
                if self.keep:  # upload index: a kept upload can be reused later
                    reuse.remember(item.source, Path(item.value), info)
            reuse.close()
        return tuple(item.file_id for item in self.items if item.file_id)

    def new_ids(self) -> tuple[str, ...]:
        """Ids of the attachments not sent with a turn yet (and not replacing an expired file)."""
        return tuple(item.file_id for item in self.items if item.file_id and not item.sent)

    def take(self, file_ids: tuple[str, ...]) -> list[_Attachment]:
        """The attachments of `file_ids`, now marked as sent with a turn."""
        taken = [item for item in self.items if item.file_id in file_ids]
        for item in taken:
            item.sent = True
        return taken

    def names(self) -> list[str]:
        return [Path(item.value).name if item.source is not None else item.value for item in self.items]

    def cleanup(self, app_ctx: AppContext) -> None:
        """Delete what this run uploaded that no recorded turn refers to (unless --keep); a failure is
        a warning, never a new error."""
        self.close()
        say = app_ctx.say
        for item in self.items:
            if not item.uploaded or item.file_id is None:
                continue
            if self.keep:
                say.info(f"kept {item.value} as {item.file_id}")
                continue
            if item.recorded:
                continue
            assert self._files is not None
            try:
                self._files.delete(item.file_id)
                item.deleted = True
            except XaiError as error:
                within = _ttl_text(self.ttl)
                say.warn(f"could not delete {item.file_id} ({error.message}); it expires within {within}")
            except (KeyboardInterrupt, Terminated):
                self._name_leftovers(say)  # interrupted while cleaning up: say what stays behind
                raise

    def _name_leftovers(self, say: Messages) -> None:
        """One warning per auto-uploaded file not known to be deleted, with the command that removes it."""
        for item in self.items:
            if item.uploaded and not item.deleted and not item.recorded and item.file_id is not None:
                say.warn(
                    f"{item.value} may remain uploaded as {item.file_id}; it expires within "
                    f"{_ttl_text(self.ttl)}, or remove it with `xai files rm {item.file_id}`"
                )

    def close(self) -> None:
        for item in self.items:
            if item.source is not None:
                item.source.close()

    def to_json(self) -> list[dict[str, Any]]:
        return [item.to_json() for item in self.items]


def _classify(value: str) -> _Attachment:
    """An existing path (opened, size checked) or something that looks like a file id."""
    from xai_files_cli.core.content_hash import HashingSource
    from xai_files_cli.core.transfer import MAX_UPLOAD_BYTES, too_large

    if _exists(Path(value)):
        source = HashingSource.open_path(Path(value))  # hashed while sent, for the upload index
        if source.size is not None and source.size > MAX_UPLOAD_BYTES:
            source.close()
            raise too_large(value, source.size)
        return _Attachment(value, source=source)
    if _FILE_ID.fullmatch(value):
        return _Attachment(value, file_id=value)
    raise UsageError(f"no such file: {value} (neither a local path nor a file id)", path=value)


def _expiry(moment: Any, ttl: int | None) -> float | None:
    """When an upload expires: the server's expires_at, else now + ttl; None for no expiry."""
    from xai_files_cli.core.records import epoch_seconds

    if moment is not None:
        try:
            return epoch_seconds(moment)
        except (TypeError, ValueError, OverflowError):
            pass
    return time.time() + ttl if ttl is not None else None


def _ttl_text(ttl: int | None) -> str:
    if ttl is None or ttl == AUTO_UPLOAD_TTL:
        return "an hour"
    hours, rest = divmod(ttl, 3600)
    return f"{hours} hours" if not rest else f"{ttl} seconds"


# -- asking -----------------------------------------------------------------------------------------


@dataclass
class _Session:
    """Sends turns and shows answers (Markdown or text, sources and usage on a terminal, or JSON),
    keeping the conversation's thread and log up to date."""

    app_ctx: AppContext
    options: ChatOptions
    thread: Thread
    attachments: _Attachments
    stream: bool
    json_output: bool
    raw: bool = False
    schema: AnswerSchema | None = None
    _client: ChatClient | None = None
    _value: Any = None

    def renew(self, renewals: list[tuple[str, _Attachment]]) -> None:
        """Expired uploads were uploaded again: the conversation refers to the new ids from now on."""
        for old, item in renewals:
            self.thread.replace_file(old, item.attached(self.attachments.keep))
            self.app_ctx.say.info(f"{Path(item.value).name} had expired on the server; uploaded it again")
        self.attachments.take(tuple(item.file_id for _, item in renewals if item.file_id))

    def ask(
        self, question: str, file_ids: tuple[str, ...], images: tuple[str, ...], image_names: tuple[str, ...]
    ) -> ChatReply:
        """One turn: send, show the answer (unless --json; `finish` writes that), record it."""
        from dataclasses import replace

        from xai_files_cli.core.chat import Message

        user = Message("user", question, file_ids, images)
        messages, previous = self.thread.messages_for(user)
        for image in self.thread.unreadable_images:
            self.app_ctx.say.warn(
                f"cannot read {image} (an image of an earlier turn) any more; asking without it"
            )
        self.thread.unreadable_images.clear()
        reply = self._answer(messages, replace(self.options, previous_response_id=previous))
        self._record(user, reply, self.attachments.take(file_ids), image_names)
        self._after_answer(reply)
        return reply

    def _record(
        self, user: Message, reply: ChatReply, taken: list[_Attachment], images: tuple[str, ...]
    ) -> None:
        """Into the thread and the log; a log that fails is a warning (the uploads are then deleted)."""
        new_files = [item.attached(self.attachments.keep) for item in taken if item.file_id]
        try:
            recorded = self.thread.add_turn(user, reply, new_files, images)
        except XaiError as error:
            self.app_ctx.say.warn(f"{error.message}; this conversation is not recorded")
            return
        if recorded:
            for item in self.attachments.items:
                if item.file_id and item.sent:
                    item.recorded = True

    def _after_answer(self, reply: ChatReply) -> None:
        """Sources and the usage line (with the conversation id) for a person at a terminal."""
        from xai_files_cli.output.chat import sources_lines, usage_line

        if not self.app_ctx.io.stderr_is_tty or self.json_output:
            return
        for line in sources_lines(reply.citations):
            self.app_ctx.say.plain(line)
        usage = usage_line(reply)
        if self.thread.conversation_id is not None and self.thread.recording:
            usage += f" · conversation {self.thread.conversation_id}"
        self.app_ctx.say.plain(usage)

    def converse(self, question: str | None, images: tuple[str, ...], image_names: tuple[str, ...]) -> None:
        """Turn after turn until /quit or end of input; each turn is recorded as it is answered."""
        io = self.app_ctx.io
        prompter = self.app_ctx.prompter
        with prompter.line_editing(history_path() if io.stdin_is_tty else None):
            if io.stdin_is_tty and io.stderr_is_tty:
                names = self.attachments.names() + [f.label() for f in self.thread.files]
                about = f" about {', '.join(names)}" if names else ""
                self.app_ctx.say.plain(f"Chatting with {self.options.model}{about}. {SESSION_HELP}.")
            first = True
            while True:
                if question is None:
                    question = self._next_question(prompter)
                    if question is None:
                        return
                    if not question:
                        question = None
                        continue
                reply = self.ask(
                    question,
                    self.attachments.new_ids(),
                    images if first else (),
                    image_names if first else (),
                )
                if self.json_output:
                    self.write_json(reply, lines=True)
                first, question = False, None

    def _next_question(self, prompter: Any) -> str | None:
        """The next line to send: None at the end, "" for a line that was a command (or blank)."""
        line = prompter.read_line(_TURN_PROMPT)
        if line is None:
            return None
        command = _SESSION_COMMAND.fullmatch(line.strip())
        if command is None or "/" in command.group("name"):
            return line if line.strip() else ""
        name, arg = command.group("name").lower(), (command.group("arg") or "").strip()
        say = self.app_ctx.say
        if name in ("quit", "exit", "q"):
            return None
        if name == "file" and arg:
            try:
                item = self.attachments.add(self.app_ctx, arg)
            except (UsageError, NotFoundError) as error:
                say.say(error.message)
                return ""
            say.info(f"attached {Path(item.value).name if item.source else item.value} to the next question")
            return ""
        if name == "help" or name == "file":
            say.plain(SESSION_HELP)
            return ""
        say.say(f"unknown command /{name}; {SESSION_HELP}")
        return ""

    def _answer(self, messages: list[Message], options: ChatOptions) -> ChatReply:
        from xai_files_cli.output.chat import AnswerPrinter, MarkdownPrinter

        io = self.app_ctx.io
        if self._client is None:
            self._client = self.app_ctx.chat()
        if self.json_output or self.schema is not None:
            return self._call(messages, options, lambda content, reasoning: None)
        kind = MarkdownPrinter if io.stdout_is_tty and not self.raw else AnswerPrinter
        printer = kind(io, show_reasoning=not self.app_ctx.options.quiet, markers=options.inline_citations)
        try:
            return self._call(messages, options, printer)
        finally:
            printer.finish()  # the partial text stays; the error (or "interrupted") follows on its own line

    def _call(self, messages: list[Message], options: ChatOptions, on_text: Any) -> ChatReply:
        assert self._client is not None
        if self.stream:
            return self._client.stream(messages, options, on_text)
        reply = self._client.complete(messages, options)
        on_text(reply.content, reply.reasoning_content)
        return reply

    def finish(self, reply: ChatReply | None) -> None:
        """After the cleanup: the JSON document (so "deleted" is the truth), or the schema's value.

        Raises:
            SchemaMismatch: the answer does not fit --schema (exit 1; nothing on stdout but --json's
                document, which carries the error).
        """
        if reply is None:
            return
        if self.schema is not None:
            from xai_files_cli.core.answer_schema import SchemaMismatch

            try:
                self._value = self.schema.parse(reply.content)
            except SchemaMismatch as mismatch:
                if self.thread.conversation_id is not None and self.thread.recording:
                    mismatch.hint = f"the answer is in `xai conversations show {self.thread.conversation_id}`"
                if self.json_output:
                    self.write_json(reply, error=mismatch)
                raise
        if self.json_output:
            self.write_json(reply)
        elif self.schema is not None:
            from xai_files_cli.output import machine

            if self.app_ctx.io.stdout_is_tty:
                machine.write_json(self.app_ctx.io, self._value)
            else:
                machine.write_jsonl(self.app_ctx.io, [self._value])

    def write_json(self, reply: ChatReply, *, lines: bool = False, error: XaiError | None = None) -> None:
        """The reply as one JSON document (or one line per turn with -i), with the conversation's files."""
        from xai_files_cli.core.chat import AnswerCutOff
        from xai_files_cli.output import machine

        data = reply.to_json()
        data["conversation"] = self.thread.conversation_id
        data["turn"] = self.thread.turns + (1 if isinstance(error, AnswerCutOff) else 0)
        if self.schema is not None:
            data["parsed"] = self._value
        own = {item.file_id for item in self.attachments.items}
        names = {f.file_id: f.name for f in self.thread.files}
        data["files"] = [f.to_json() for f in self.thread.files if f.file_id not in own]
        for entry in self.attachments.to_json():  # a file given by id is named once an answer cites it
            data["files"].append(entry | {"name": entry["name"] or names.get(entry["id"])})
        if error is not None:
            data["error"] = error.to_json()
        io = self.app_ctx.io
        if lines:
            machine.write_jsonl(io, [data])
        else:
            machine.write_json(io, data)
        io.flush_out()
