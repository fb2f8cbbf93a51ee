"""How logged conversations look on a terminal: the `conversations ls` table and a `show` transcript.

Everything from the log (prompts, answers, names) is escaped for the terminal; answers render as
Markdown, with citation markers shown as `[N]` and the sources of each turn listed under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from xai_files_cli.output.files import relative_time
from xai_files_cli.output.sanitize import escape_terminal

if TYPE_CHECKING:
    from xai_files_cli.core.conversation_log import AttachedFile, Conversation, Turn
    from xai_files_cli.output.io import IOStreams

TITLE_MIN = 12


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def file_names(files: Sequence[AttachedFile]) -> str:
    """`report.pdf, notes.txt` (ids for files whose name is unknown)."""
    return ", ".join(escape_terminal(f.label()) for f in files) or "-"


def conversations_table(conversations: Sequence[Conversation], width: int | None) -> Any:
    """A rich Table: ID, UPDATED, TURNS, MODEL, FILES, TITLE (the title gives way on a narrow terminal)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", width=width)
    table.add_column("ID", no_wrap=True)
    table.add_column("UPDATED", no_wrap=True)
    table.add_column("TURNS", justify="right", no_wrap=True)
    table.add_column("MODEL", no_wrap=True)
    table.add_column("FILES", no_wrap=True, overflow="ellipsis", max_width=30)
    table.add_column("TITLE", no_wrap=True, overflow="ellipsis", min_width=TITLE_MIN, ratio=1)
    for conversation in conversations:
        table.add_row(
            Text(conversation.id),
            Text(relative_time(_moment(conversation.updated_at))),
            Text(str(conversation.turn_count)),
            Text(escape_terminal(conversation.model)),
            Text(file_names(conversation.files)),
            Text(escape_terminal(conversation.title)),
        )
    return table


def print_conversations(io: IOStreams, conversations: Sequence[Conversation]) -> None:
    """The `ls` table on a terminal, or a friendly line when the log is empty."""
    if not conversations:
        io.write_out('No conversations yet; `xai chat "PROMPT"` starts one.\n')
        return
    console = io.out_console()
    console.print(conversations_table(conversations, console.width))


def file_line(attached: AttachedFile, now: float) -> str:
    """`report.pdf  file_…  uploaded, expires in 52 minutes` for a transcript's header."""
    parts = [escape_terminal(attached.label())]
    if attached.name:
        parts.append(escape_terminal(attached.file_id))
    if attached.uploaded:
        if attached.kept:
            state = "uploaded, kept"
        elif attached.expires_at is None:
            state = "uploaded"
        elif attached.expires_at <= now:
            state = f"uploaded, expired {relative_time(_moment(attached.expires_at))}"
        else:
            state = f"uploaded, expires {relative_time(_moment(attached.expires_at))}"
    else:
        state = "attached by id"
    return "  ".join(parts) + f"  ({state})"


def print_transcript(io: IOStreams, conversation: Conversation, now: float) -> None:
    """A conversation for reading: a header, then each prompt and its answer (Markdown) with sources."""
    from rich.markdown import Markdown

    from xai_files_cli.output.chat import show_markers

    console = io.out_console()
    turns = f"{conversation.turn_count} turn{'s' if conversation.turn_count != 1 else ''}"
    updated = relative_time(_moment(conversation.updated_at))
    mode = " · stored on the server" if conversation.store else ""
    header = f"Conversation {conversation.id} · {escape_terminal(conversation.model)} · {turns}{mode}"
    io.write_out(f"{header} · updated {updated}\n")
    for attached in conversation.files:
        io.write_out(f"  file: {file_line(attached, now)}\n")
    if conversation.system:
        io.write_out(f"  system: {escape_terminal(conversation.system)}\n")
    for turn in conversation.turns:
        io.write_out(f"\n{_prompt_block(turn)}\n\n")
        io.flush_out()
        answer = escape_terminal(show_markers(turn.content), keep_newlines=True)
        console.print(Markdown(answer.strip("\n"), hyperlinks=False))
        for line in _sources(turn):
            io.write_out(line + "\n")
    io.flush_out()


def _prompt_block(turn: Turn) -> str:
    lines = escape_terminal(turn.prompt, keep_newlines=True).splitlines() or [""]
    return "\n".join(f">>> {line}" if i == 0 else f"... {line}" for i, line in enumerate(lines))


def _sources(turn: Turn) -> list[str]:
    """The turn's `Sources:` lines, from its recorded citations."""
    from xai_files_cli.core.chat import Citation
    from xai_files_cli.output.chat import sources_lines

    citations = [
        Citation(c.get("id"), c.get("file_id"), c.get("name"), c.get("page"), c.get("url"))
        for c in turn.citations
        if isinstance(c, dict)
    ]
    return [escape_terminal(line) for line in sources_lines(citations)]
