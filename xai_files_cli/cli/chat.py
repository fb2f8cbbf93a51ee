"""Command: `xai chat`, ask a model about files from the terminal or a script.

    xai chat "Summarise the risks" --file ./report.pdf
    git diff | xai chat "Review this" -
    xai chat "Compare them" -f file_abc -f ./b.csv --json | jq .usage

Every `--file` value is checked before anything is sent: an existing local path is uploaded
(progress on stderr), attached by id and deleted afterwards unless `--keep` (also when the chat
fails or is interrupted; auto-uploaded files carry a one-hour expiry in case even that fails); any
other value must look like a file id. The answer streams to stdout as it is generated; usage goes
to a terminal stderr; `--json` prints one object instead. `-i` holds a conversation, Ctrl-D leaves.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xai_files_cli.cli.options import json_flag
from xai_files_cli.errors import Interrupted, Terminated, UsageError, XaiError

if TYPE_CHECKING:
    from xai_files_cli.cli.context import AppContext
    from xai_files_cli.cli.messages import Messages
    from xai_files_cli.core.chat import ChatClient, ChatOptions, ChatReply, Message
    from xai_files_cli.core.files import FilesClient
    from xai_files_cli.core.transfer import UploadSource

AUTO_UPLOAD_TTL = 3600  # seconds: an auto-uploaded file expires even if the cleanup never runs
EFFORT_CHOICES = ("low", "medium", "high")
_FILE_ID = re.compile(r"file[-_][A-Za-z0-9][A-Za-z0-9_-]*")
_TURN_PROMPT = "> "


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name too long to be a path: then it is not one
        return False


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
            help="Attach a file id, or a local file (uploaded, deleted after).",
        ),
    ] = None,
    images: Annotated[
        list[str] | None,
        typer.Option("--image", metavar="PATH|URL", help="Attach an image (PNG, JPEG, WebP)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", metavar="MODEL", help="Model name [default: the profile's model, grok-4]."
        ),
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", "-s", metavar="TEXT", help="System prompt.")
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
    json_output: Annotated[bool, json_flag("Print one JSON object (one per turn with -i).")] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep auto-uploaded files on the server (ids on stderr).")
    ] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Hold a conversation; Ctrl-D leaves.")
    ] = False,
) -> None:
    """Ask a model about your files: PROMPT and answer, or a conversation with -i."""
    app_ctx: AppContext = ctx.obj
    if temperature is not None and math.isnan(temperature):  # passes Typer's 0..2 range check
        raise UsageError("--temperature must be a number from 0 to 2, got nan")
    if reasoning_effort is not None and reasoning_effort not in EFFORT_CHOICES:
        raise UsageError(
            f"--reasoning-effort must be one of {', '.join(EFFORT_CHOICES)}, got {reasoning_effort!r}"
        )
    from xai_files_cli.core.chat import ChatOptions, image_source

    # Everything local is checked before the first byte is sent: no upload happens for a bad call.
    question = read_prompt(app_ctx, prompt or [], interactive=interactive)
    attachments = _Attachments.check(files or [], keep=keep)
    image_urls = tuple(image_source(value) for value in images or [])
    options = ChatOptions(
        model=model or app_ctx.settings().model,
        temperature=temperature,
        max_tokens=max_tokens,
        reasoning_effort=reasoning_effort,
    )
    session = _Session(app_ctx, options, stream=not no_stream, json_output=json_output)
    from xai_files_cli.core.chat import AnswerCutOff

    try:
        try:
            file_ids = attachments.upload(app_ctx)
            if interactive:
                session.converse(question, system, file_ids, image_urls, attachments)
                return
            reply = session.ask_once(question or "", system, file_ids, image_urls)
        finally:
            attachments.cleanup(app_ctx)
    except AnswerCutOff as cut:
        if json_output and not interactive:  # keep what arrived, marked with the error
            session.write_json(cut.partial, attachments, error=cut)
        raise
    if json_output:  # written after the cleanup, so "deleted" in "files" is the truth
        session.write_json(reply, attachments)


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "path": self.value if self.source is not None else None,
            "uploaded": self.uploaded,
            "deleted": self.deleted,
        }


@dataclass
class _Attachments:
    """The `--file` values: checked together, uploaded together, cleaned up in any case."""

    items: list[_Attachment]
    keep: bool
    _files: FilesClient | None = field(default=None, repr=False)

    @classmethod
    def check(cls, values: list[str], *, keep: bool) -> _Attachments:
        """Classify every value before any upload: UsageError (exit 2) or RejectedError (exit 5)."""
        from xai_files_cli.core.transfer import MAX_UPLOAD_BYTES, UploadSource, too_large

        items: list[_Attachment] = []
        try:
            for value in values:
                if _exists(Path(value)):
                    source = UploadSource.open_path(Path(value))
                    items.append(_Attachment(value, source=source))
                    if source.size is not None and source.size > MAX_UPLOAD_BYTES:
                        raise too_large(value, source.size)
                elif _FILE_ID.fullmatch(value):
                    items.append(_Attachment(value, file_id=value))
                else:
                    raise UsageError(
                        f"no such file: {value} (neither a local path nor a file id)", path=value
                    )
        except BaseException:
            cls(items, keep).close()
            raise
        return cls(items, keep)

    def upload(self, app_ctx: AppContext) -> tuple[str, ...]:
        """Upload the local files (progress on stderr); returns every attachment's id, in order."""
        if any(item.source is not None for item in self.items):
            from xai_files_cli.output.progress import make_progress

            self._files = app_ctx.files()
            progress = make_progress(app_ctx.io, quiet=app_ctx.options.quiet, verb="upload")
            for item in self.items:
                if item.source is None:
                    continue
                with item.source:
                    try:
                        info = self._files.upload(
                            item.source,
                            name=Path(item.value).name,
                            expires_after=None if self.keep else AUTO_UPLOAD_TTL,
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
        return tuple(item.file_id for item in self.items if item.file_id)

    def names(self) -> list[str]:
        return [Path(item.value).name if item.source is not None else item.value for item in self.items]

    def cleanup(self, app_ctx: AppContext) -> None:
        """Delete what this run uploaded (unless --keep); a failure is a warning, never a new error."""
        self.close()
        say = app_ctx.say
        for item in self.items:
            if not item.uploaded or item.file_id is None:
                continue
            if self.keep:
                say.info(f"kept {item.value} as {item.file_id}")
                continue
            assert self._files is not None
            try:
                self._files.delete(item.file_id)
                item.deleted = True
            except XaiError as error:
                say.warn(f"could not delete {item.file_id} ({error.message}); it expires within an hour")
            except (KeyboardInterrupt, Terminated):
                self._name_leftovers(say)  # interrupted while cleaning up: say what stays behind
                raise

    def _name_leftovers(self, say: Messages) -> None:
        """One warning per auto-uploaded file not known to be deleted, with the command that removes it."""
        for item in self.items:
            if item.uploaded and not item.deleted and item.file_id is not None:
                say.warn(
                    f"{item.value} may remain uploaded as {item.file_id}; it expires within an hour, "
                    f"or remove it with `xai files rm {item.file_id}`"
                )

    def close(self) -> None:
        for item in self.items:
            if item.source is not None:
                item.source.close()

    def to_json(self) -> list[dict[str, Any]]:
        return [item.to_json() for item in self.items]


# -- asking -----------------------------------------------------------------------------------------


@dataclass
class _Session:
    """Sends turns and shows answers: live text, a usage line on a terminal, or JSON."""

    app_ctx: AppContext
    options: ChatOptions
    stream: bool
    json_output: bool
    _client: ChatClient | None = None

    def ask_once(
        self, question: str, system: str | None, file_ids: tuple[str, ...], images: tuple[str, ...]
    ) -> ChatReply:
        """One question, one answer (shown live unless --json; the caller writes the JSON)."""
        from xai_files_cli.core.chat import Message

        messages = [Message("system", system)] if system else []
        messages.append(Message("user", question, file_ids, images))
        return self._answer(messages)

    def converse(
        self,
        question: str | None,
        system: str | None,
        file_ids: tuple[str, ...],
        images: tuple[str, ...],
        attachments: _Attachments,
    ) -> None:
        """Turn after turn until EOF; the history is kept here and sent in full every turn."""
        from xai_files_cli.core.chat import Message

        io = self.app_ctx.io
        history = [Message("system", system)] if system else []
        if io.stdin_is_tty and io.stderr_is_tty:
            about = f" about {', '.join(attachments.names())}" if attachments.items else ""
            self.app_ctx.say.plain(f"Chatting with {self.options.model}{about}. Ctrl-D leaves.")
        first = True
        while True:
            if question is None:
                question = self.app_ctx.prompter.read_line(_TURN_PROMPT)
                if question is None:
                    return
                if not question.strip():
                    question = None
                    continue
            message = Message("user", question, file_ids if first else (), images if first else ())
            reply = self._answer([*history, message])
            if self.json_output:
                self.write_json(reply, attachments, lines=True)
            history += [message, Message("assistant", reply.content)]
            first, question = False, None

    def _answer(self, messages: list[Message]) -> ChatReply:
        from xai_files_cli.output.chat import AnswerPrinter, usage_line

        io = self.app_ctx.io
        if self._client is None:
            self._client = self.app_ctx.chat()
        if self.json_output:
            return self._call(messages, lambda content, reasoning: None)
        printer = AnswerPrinter(io, show_reasoning=not self.app_ctx.options.quiet)
        try:
            reply = self._call(messages, printer)
        finally:
            printer.finish()  # the partial text stays; the error (or "interrupted") follows on its own line
        if io.stderr_is_tty:
            self.app_ctx.say.plain(usage_line(reply))
        return reply

    def _call(self, messages: list[Message], on_text: Any) -> ChatReply:
        assert self._client is not None
        if self.stream:
            return self._client.stream(messages, self.options, on_text)
        reply = self._client.complete(messages, self.options)
        on_text(reply.content, reply.reasoning_content)
        return reply

    def write_json(
        self,
        reply: ChatReply,
        attachments: _Attachments,
        *,
        lines: bool = False,
        error: XaiError | None = None,
    ) -> None:
        """The reply as one JSON document (or one line per turn with -i), with the attachments."""
        from xai_files_cli.output import machine

        data = reply.to_json()
        data["files"] = attachments.to_json()
        if error is not None:
            data["error"] = error.to_json()
        io = self.app_ctx.io
        if lines:
            machine.write_jsonl(io, [data])
        else:
            machine.write_json(io, data)
        io.flush_out()
