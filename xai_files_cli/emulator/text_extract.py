"""The text of an attached file, for the chat engine, with the same rules as DOWNLOAD_FORMAT_TEXT.

Which files have text, and how it is extracted (UTF-8 for text-like types such as plain text,
Markdown, CSV, JSON and source code; pypdf for PDFs), is decided once, in `content.py`, so a file
that `xai files cat --text` can read is exactly a file that chat can read. This module only adds
what chat needs on top: the whole text as one string with `\\n` newlines, and one clear error.
"""

from __future__ import annotations

import io

from xai_files_cli.emulator import content

_PIECE = 1 << 20  # iter_text's piece size; only bounds the pieces joined below


class UnreadableFileError(ValueError):
    """The file has no text form (binary or unknown type) or its PDF cannot be parsed."""


def extract_text(data: bytes, filename: str, content_type: str = "") -> str:
    """Return the text of a file's bytes, newlines normalised to `\\n`.

    Args:
        data: the whole file content.
        filename: the file's name (used in the error, and for the type when the bytes do not tell).
        content_type: the stored or declared type; sniffed from the bytes and name when empty or
            `application/octet-stream`.

    Raises:
        UnreadableFileError: "cannot read NAME: not a text or PDF file", or the PDF parser's reason.
    """
    if not content_type or content_type == content.OCTET_STREAM:
        content_type = content.sniff_content_type(data[: content.SNIFF_BYTES], filename)
    if not content.has_text_form(content_type):
        raise UnreadableFileError(f"cannot read {filename}: not a text or PDF file ({content_type})")
    try:
        text = b"".join(content.iter_text(io.BytesIO(data), content_type, _PIECE)).decode("utf-8")
    except ValueError as error:
        raise UnreadableFileError(f"{filename}: {error}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")
