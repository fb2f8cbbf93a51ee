"""Drawing chat answers: live answer text and the usage line.

The answer is untrusted server text: on a terminal it is escaped (control, C1 and bidi characters
shown as `\\x1b`, newlines and tabs kept); on a pipe it is written as is, with no ANSI ever added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xai_files_cli.output.sanitize import escape_terminal

if TYPE_CHECKING:
    from xai_files_cli.core.chat import ChatReply
    from xai_files_cli.output.io import IOStreams


class AnswerPrinter:
    """Writes answer text to stdout as it arrives; reasoning goes to a terminal stderr, dimmed."""

    def __init__(self, io: IOStreams, *, show_reasoning: bool) -> None:
        self._io = io
        self._show_reasoning = show_reasoning and io.stderr_is_tty
        self._ends_with_newline = True
        self._reasoning_open = False
        self.wrote = False

    def __call__(self, content: str, reasoning: str) -> None:
        """Print one piece of content and/or reasoning (the ChatClient.stream callback)."""
        if reasoning and self._show_reasoning:
            text = escape_terminal(reasoning, keep_newlines=True)
            self._io.write_err(f"\x1b[2m{text}\x1b[0m" if self._io.color else text)
            self._io.stderr.flush()
            self._reasoning_open = True
        if content:
            if self._reasoning_open:
                self._io.write_err("\n")
                self._reasoning_open = False
            self._io.write_out(
                escape_terminal(content, keep_newlines=True) if self._io.stdout_is_tty else content
            )
            self._io.flush_out()  # shown as it is generated, on a terminal and through `| tee` alike
            self._ends_with_newline = content.endswith("\n")
            self.wrote = True

    def finish(self) -> None:
        """End the answer on a fresh line (also after an interrupted or broken stream)."""
        if self._reasoning_open:
            self._io.write_err("\n")
            self._reasoning_open = False
        if self.wrote and not self._ends_with_newline:
            self._io.write_out("\n")
            self._ends_with_newline = True
        self._io.flush_out()


def usage_line(reply: ChatReply) -> str:
    """`grok-4 · 1,234 prompt (1,000 cached) + 56 completion tokens · $0.0012` for stderr."""
    usage = reply.usage
    prompt = f"{usage.prompt_tokens:,} prompt"
    extras = []
    if usage.cached_prompt_text_tokens:
        extras.append(f"{usage.cached_prompt_text_tokens:,} cached")
    if extras:
        prompt += f" ({', '.join(extras)})"
    parts = [escape_terminal(reply.model or "?"), f"{prompt} + {usage.completion_tokens:,} completion tokens"]
    if usage.reasoning_tokens:
        parts.append(f"{usage.reasoning_tokens:,} reasoning")
    if usage.cost_usd is not None:
        parts.append(f"${usage.cost_usd:.6f}".rstrip("0").rstrip(".") if usage.cost_usd else "$0")
    if reply.finish_reason == "max_len":
        parts.append("cut at --max-tokens")
    elif isinstance(reply.finish_reason, int):  # a reason newer than this client's protos
        parts.append(f"finish reason unknown({reply.finish_reason})")
    return " · ".join(parts)
