"""Drawing chat answers: live answer text (plain, or Markdown on a terminal), sources, usage.

The answer is untrusted server text: on a terminal it is escaped (control, C1 and bidi characters
shown as `\\x1b`, newlines and tabs kept); on a pipe it is written as is, with no ANSI ever added.
When inline citations were asked for, each `[[N]](URL)` marker is shown as `[N]`, matching the
"Sources:" lines that name the file and page of each N.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xai_files_cli.output.sanitize import escape_terminal

if TYPE_CHECKING:
    from xai_files_cli.core.chat import ChatReply, Citation
    from xai_files_cli.output.io import IOStreams

REFRESH_PER_SECOND = 10  # redraws of the Markdown block being written
_MAX_MARKER_URL = 2048
_URL = rf"[^()\s]{{0,{_MAX_MARKER_URL}}}"
_MARKER = re.compile(rf"\[\[(\d{{1,6}})\]\]\({_URL}\)")
# What a marker looks like before its end has arrived: `[`, `[[1`, `[[1]](file://abc`, ...
_MARKER_START = re.compile(rf"\[(?:\[(?:\d{{1,6}}(?:\](?:\](?:\({_URL})?)?)?)?)?")
_FENCE = re.compile(r"\s{0,3}(```|~~~)")


class CitationMarkers:
    """Turns `[[N]](URL)` citation markers in streamed text into `[N]`, holding back a possible
    marker until it is complete (or cannot be one)."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        """The text that can be shown now."""
        text = _MARKER.sub(r"[\1]", self._held + text)
        keep = len(text)
        start = text.find("[", max(0, len(text) - _MAX_MARKER_URL - 16))
        while start != -1:  # the first `[` from which the rest could still become a marker
            if _MARKER_START.fullmatch(text, start):
                keep = start
                break
            start = text.find("[", start + 1)
        self._held = text[keep:]
        return text[:keep]

    def flush(self) -> str:
        """What is held back, at the end of the answer."""
        held, self._held = self._held, ""
        return held


def show_markers(text: str) -> str:
    """`[[N]](URL)` markers of a whole text as `[N]`."""
    return _MARKER.sub(r"[\1]", text)


class _Reasoning:
    """Reasoning text on a terminal stderr, dimmed; ended with a newline before the answer."""

    def __init__(self, io: IOStreams, show: bool) -> None:
        self._io = io
        self._show = show and io.stderr_is_tty
        self.open = False

    def write(self, text: str) -> None:
        if text and self._show:
            text = escape_terminal(text, keep_newlines=True)
            self._io.write_err(f"\x1b[2m{text}\x1b[0m" if self._io.color else text)
            self._io.stderr.flush()
            self.open = True

    def close(self) -> None:
        if self.open:
            self._io.write_err("\n")
            self.open = False


class AnswerPrinter:
    """Writes answer text to stdout as it arrives; reasoning goes to a terminal stderr, dimmed."""

    def __init__(self, io: IOStreams, *, show_reasoning: bool, markers: bool = False) -> None:
        self._io = io
        self._reasoning = _Reasoning(io, show_reasoning)
        self._markers = CitationMarkers() if markers else None
        self._ends_with_newline = True
        self.wrote = False

    def __call__(self, content: str, reasoning: str) -> None:
        """Print one piece of content and/or reasoning (the ChatClient.stream callback)."""
        self._reasoning.write(reasoning)
        if content and self._markers is not None:
            content = self._markers.feed(content)
        self._write(content)

    def _write(self, content: str) -> None:
        if not content:
            return
        self._reasoning.close()
        self._io.write_out(
            escape_terminal(content, keep_newlines=True) if self._io.stdout_is_tty else content
        )
        self._io.flush_out()  # shown as it is generated, on a terminal and through `| tee` alike
        self._ends_with_newline = content.endswith("\n")
        self.wrote = True

    def finish(self) -> None:
        """End the answer on a fresh line (also after an interrupted or broken stream)."""
        if self._markers is not None:
            self._write(self._markers.flush())
        self._reasoning.close()
        if self.wrote and not self._ends_with_newline:
            self._io.write_out("\n")
            self._ends_with_newline = True
        self._io.flush_out()


class MarkdownPrinter:
    """Renders the answer as Markdown on a terminal while it streams, without flicker.

    Each finished block (the text up to a blank line outside a code fence) is printed once, for
    good; only the block being written is redrawn in place (rich Live, at most REFRESH_PER_SECOND
    times a second), so the screen never repaints more than one paragraph.
    """

    def __init__(self, io: IOStreams, *, show_reasoning: bool, markers: bool = False) -> None:
        self._io = io
        self._console = io.out_console()
        self._reasoning = _Reasoning(io, show_reasoning)
        self._markers = CitationMarkers() if markers else None
        self._pending = ""
        self._blocks = 0
        self._live: Any = None
        self.wrote = False

    def __call__(self, content: str, reasoning: str) -> None:
        """Take one piece of content and/or reasoning (the ChatClient.stream callback)."""
        self._reasoning.write(reasoning)
        if content and self._markers is not None:
            content = self._markers.feed(content)
        if not content:
            return
        self._reasoning.close()
        self.wrote = True
        self._pending += escape_terminal(content, keep_newlines=True)
        finished, self._pending = split_finished_blocks(self._pending)
        if finished.strip():
            self._stop_live()
            self._print_block(finished)
        if self._pending.strip():
            self._show_pending()

    def finish(self) -> None:
        """Print the last block for good (also after an interrupted or broken stream)."""
        if self._markers is not None:
            self._pending += escape_terminal(self._markers.flush(), keep_newlines=True)
        self._stop_live()
        self._reasoning.close()
        if self._pending.strip():
            self._print_block(self._pending)
        self._pending = ""
        self._io.flush_out()

    def _block(self, text: str) -> Any:
        """`text` rendered as Markdown, without blank lines around it, after a blank line unless it is
        the first block: the same lines whether it is shown live or printed for good."""
        from rich.markdown import Markdown
        from rich.segment import Segment, Segments

        console = self._console
        lines = console.render_lines(Markdown(text.strip("\n"), hyperlinks=False), console.options, pad=False)
        while lines and not _has_text(lines[0]):
            lines.pop(0)
        while lines and not _has_text(lines[-1]):
            lines.pop()
        segments: list[Any] = [Segment.line()] if self._blocks else []
        for line in lines:
            segments += [*line, Segment.line()]
        return Segments(segments)

    def _print_block(self, text: str) -> None:
        self._console.print(self._block(text), end="")
        self._blocks += 1

    def _show_pending(self) -> None:
        if self._live is None:
            self._live = _LiveBlock(self._console)
        self._live.show(self._block(self._pending))

    def _stop_live(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()


class _LiveBlock:
    """The block being written, redrawn in place (rich Live, transient): only when it changed, and
    never sooner than 1/REFRESH_PER_SECOND s after the last drawing; a timer draws the last change
    of a quick burst."""

    def __init__(self, console: Any) -> None:
        from rich.live import Live

        self._live = Live(
            console=console, auto_refresh=False, transient=True, redirect_stdout=False, redirect_stderr=False
        )
        self._lock = threading.Lock()
        self._drawn_at = -1.0
        self._changed = False
        self._stopped = False
        self._timer: threading.Timer | None = None
        self._live.start()

    def show(self, renderable: Any) -> None:
        with self._lock:
            self._live.update(renderable)
            self._changed = True
            self._draw_or_wait()

    def _draw_or_wait(self) -> None:
        wait = self._drawn_at + 1 / REFRESH_PER_SECOND - time.monotonic()
        if wait <= 0:
            self._live.refresh()
            self._drawn_at = time.monotonic()
            self._changed = False
        elif self._timer is None:
            self._timer = threading.Timer(wait, self._draw_later)
            self._timer.daemon = True
            self._timer.start()

    def _draw_later(self) -> None:
        with self._lock:
            self._timer = None
            if self._changed and not self._stopped:
                self._draw_or_wait()

    def stop(self) -> None:
        """Erase the block (it is printed for good next) and cancel any pending drawing."""
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._live.stop()


def _has_text(line: list[Any]) -> bool:
    return any(segment.text.strip() for segment in line)


def split_finished_blocks(text: str) -> tuple[str, str]:
    """(finished Markdown blocks, the block still being written): split at the last blank line
    that is outside a code fence; only whole lines count."""
    split = 0
    in_fence = False
    position = 0
    for line in text.splitlines(keepends=True):
        position += len(line)
        if not line.endswith("\n"):
            break
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and not line.strip():
            split = position
    return text[:split], text[split:]


def sources_lines(citations: Sequence[Citation]) -> list[str]:
    """`Sources:` and one line per distinct citation (`  [1] report.pdf, page 2`); none without any."""
    lines: list[str] = []
    for citation in citations:
        number = f"[{citation.number}] " if citation.number else ""
        line = f"  {number}{citation.label()}"
        if line not in lines:
            lines.append(line)
    return ["Sources:", *lines] if lines else []


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
