"""The text of an attached file, for the chat engine, with the same rules as DOWNLOAD_FORMAT_TEXT.

Which files have text, and how it is extracted (UTF-8 for text-like types such as plain text,
Markdown, CSV, JSON and source code; pypdf in a bounded child process for PDFs), is decided once,
in `content.py`, so a file that `xai files cat --text` can read is exactly a file that chat can
read. This module adds what chat needs on top: the whole text as one string with `\\n` newlines,
read incrementally under a character budget (the prompt limit), so that an oversized request
stops after at most `max_chars` characters instead of reading every attachment whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from xai_files_cli.emulator import content
from xai_files_cli.emulator.pdf_text import ExtractionCancelled, PdfLimits, PdfTextTooLong

__all__ = [
    "ExtractedText",
    "ExtractionCancelled",
    "TextTooLong",
    "UnreadableFileError",
    "extract_document",
    "min_chars",
]

_READ_BYTES = 1 << 20  # bytes of a text file decoded at a time
_BOM_BYTES = 3


class UnreadableFileError(ValueError):
    """The file has no text form (binary or unknown type) or its PDF cannot be read."""


class TextTooLong(Exception):
    """The text passed the caller's budget; `chars` were extracted (at least) before stopping."""

    def __init__(self, chars: int) -> None:
        super().__init__(f"more than {chars} characters of text")
        self.chars = chars


def _never() -> bool:
    return False


def effective_type(head: bytes, filename: str, content_type: str) -> str:
    """The stored or declared type, or the sniffed one when it is empty or octet-stream."""
    if not content_type or content_type == content.OCTET_STREAM:
        return content.sniff_content_type(head[: content.SNIFF_BYTES], filename)
    return content_type


def min_chars(size: int, content_type: str) -> int:
    """A lower bound on the characters of text in a file of `size` bytes, known before reading it.

    UTF-8 needs at most 4 bytes per character (an invalid byte decodes to one U+FFFD, CRLF to one
    newline), and only a leading BOM disappears; a PDF's text cannot be bounded from its size.
    """
    if not content.is_text_like(content_type):
        return 0
    return max(0, size - _BOM_BYTES) // 4


@dataclass(frozen=True)
class ExtractedText:
    """A file's text and, for a PDF, the offset in it where each page begins (pages joined by `\\n`)."""

    text: str
    page_starts: tuple[int, ...] = ()


def extract_document(
    source: BinaryIO,
    filename: str,
    content_type: str = "",
    *,
    max_chars: int | None = None,
    pdf_limits: PdfLimits | None = None,
    cancelled: Callable[[], bool] = _never,
) -> ExtractedText:
    """Return the text of a seekable binary file, newlines normalised to `\\n`, with its page starts.

    Args:
        source: the file content, read from its current position (0) in pieces.
        filename: the file's name (used in the error, and for the type when the bytes do not tell).
        content_type: the stored or declared type; sniffed when empty or `application/octet-stream`.
        max_chars: stop with TextTooLong as soon as the text is longer than this.
        pdf_limits: the time, page and memory bounds of PDF extraction.
        cancelled: polled between pieces (and while a PDF page is extracted); stops the work.

    Raises:
        UnreadableFileError: "cannot read NAME: not a text or PDF file", or the PDF reader's reason.
        TextTooLong: the text passed `max_chars`.
        ExtractionCancelled: `cancelled()` turned true.
    """
    head = source.read(content.SNIFF_BYTES)
    source.seek(0)
    content_type = effective_type(head, filename, content_type)
    if not content.has_text_form(content_type):
        raise UnreadableFileError(f"cannot read {filename}: not a text or PDF file ({content_type})")
    pieces = content.iter_text_pieces(
        source, content_type, _READ_BYTES, pdf_limits=pdf_limits, max_chars=max_chars, cancelled=cancelled
    )
    page_starts: list[int] | None = [] if content_type == "application/pdf" else None
    try:
        text = _collect(pieces, max_chars, cancelled, page_starts)
    except PdfTextTooLong as error:
        raise TextTooLong(error.chars) from None
    except ValueError as error:
        raise UnreadableFileError(f"{filename}: {error}") from None
    return ExtractedText(text, tuple(page_starts or ()))


def _collect(
    pieces: Iterator[str],
    max_chars: int | None,
    cancelled: Callable[[], bool],
    page_starts: list[int] | None = None,
) -> str:
    """Join normalised pieces, counting characters; a CR at a piece's end waits for the next one.

    With `page_starts`, every piece is a PDF page (after the first, led by the `\\n` that joins
    pages) and the offset where each page's own text begins is appended to it.
    """
    kept: list[str] = []
    count = 0
    pending_cr = False
    for number, piece in enumerate(pieces):
        if cancelled():
            raise ExtractionCancelled
        if page_starts is not None:
            # the joining newline follows, unless a CR carried over from the last page absorbs it
            page_starts.append(count + (1 if number and not pending_cr else 0))
        if number == 0 and piece.startswith("\ufeff"):
            piece = piece[1:]
        if pending_cr:
            piece = "\r" + piece
        pending_cr = piece.endswith("\r")
        if pending_cr:
            piece = piece[:-1]
        piece = piece.replace("\r\n", "\n").replace("\r", "\n")
        count += len(piece) + pending_cr
        if max_chars is not None and count > max_chars:
            raise TextTooLong(count)
        kept.append(piece)
    if pending_cr:
        kept.append("\n")
    return "".join(kept)
