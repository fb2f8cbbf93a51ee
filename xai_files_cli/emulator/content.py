"""What a stored file is (content type sniffed from magic bytes, then the name) and its text form.

Used for `content_type` filters, for CreatePublicUrl (images, videos and PDFs only) and for
DOWNLOAD_FORMAT_TEXT (text-like files as UTF-8, PDFs through pypdf in a bounded child process,
see pdf_text.py; anything else is refused).
"""

from __future__ import annotations

import codecs
import mimetypes
from collections.abc import Callable, Generator, Iterator
from typing import BinaryIO

from xai_files_cli.emulator import pdf_text
from xai_files_cli.emulator.pdf_text import PdfLimits

SNIFF_BYTES = 8192
OCTET_STREAM = "application/octet-stream"

_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x1aE\xdf\xa3", "video/webm"),
    (0, b"\x00\x00\x01\xba", "video/mpeg"),
    (0, b"\x00\x00\x01\xb3", "video/mpeg"),
    (0, b"OggS", "application/ogg"),
]


def _never() -> bool:
    return False


_TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
    "application/x-sh",
    "application/sql",
}


def sniff_content_type(head: bytes, filename: str) -> str:
    """Content type from the first bytes of a file, falling back to its extension, then a text check."""
    for offset, magic, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"AVI "):
        return "image/webp" if head[8:12] == b"WEBP" else "video/x-msvideo"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    guessed, encoding = mimetypes.guess_type(filename, strict=False)
    if guessed and encoding is None:  # "notes.txt.gz" is text only once decompressed: not here
        return guessed
    if _looks_like_text(head):
        return "text/plain"
    return OCTET_STREAM


def is_publishable(content_type: str) -> bool:
    """Only images, videos and PDFs may get a public URL, as on the real API."""
    return content_type.startswith(("image/", "video/")) or content_type == "application/pdf"


def has_text_form(content_type: str) -> bool:
    """Whether DOWNLOAD_FORMAT_TEXT can serve this type."""
    return is_text_like(content_type) or content_type == "application/pdf"


def is_text_like(content_type: str) -> bool:
    """text/* and structured text formats (JSON, XML, YAML ...)."""
    return (
        content_type.startswith("text/")
        or content_type in _TEXT_TYPES
        or content_type.endswith(("+json", "+xml"))
    )


def iter_text(
    blob: BinaryIO,
    content_type: str,
    chunk_size: int,
    *,
    pdf_limits: PdfLimits | None = None,
    cancelled: Callable[[], bool] = _never,
) -> Generator[bytes, None, None]:
    """Yield the UTF-8 text form of a stored file in pieces of at most `chunk_size` bytes.

    Text-like files are decoded as UTF-8 (invalid bytes replaced), incrementally, so memory stays
    O(chunk). PDFs are read page by page in a bounded child process (pdf_text.py). Raises
    ValueError for other types or when a PDF cannot be read within `pdf_limits`, and
    ExtractionCancelled when `cancelled()` turns true during a PDF.
    """
    for piece in iter_text_pieces(
        blob, content_type, chunk_size // 4 or 1, pdf_limits=pdf_limits, cancelled=cancelled
    ):
        data = piece.encode("utf-8", "surrogatepass")
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]


def iter_text_pieces(
    blob: BinaryIO,
    content_type: str,
    read_size: int,
    *,
    pdf_limits: PdfLimits | None = None,
    max_chars: int | None = None,
    cancelled: Callable[[], bool] = _never,
) -> Iterator[str]:
    """The text of a stored file as str pieces: decoded reads of `read_size` bytes, or PDF pages.

    `max_chars` only bounds a PDF's child process (PdfTextTooLong); text files are cut by the
    caller, which sees every piece as it is decoded. Raises like `iter_text`.
    """
    if is_text_like(content_type):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            raw = blob.read(read_size)
            text = decoder.decode(raw, final=not raw)
            if text:
                yield text
            if not raw:
                return
    if content_type == "application/pdf":
        pages = pdf_text.iter_pages(blob, pdf_limits, max_chars=max_chars, cancelled=cancelled)
        for number, page in enumerate(pages):
            yield ("\n" if number else "") + page
        return
    raise ValueError(f"no text extraction for content type {content_type}")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sniffed prefix is still text.
        return error.start >= len(head) - 3 and error.reason == "unexpected end of data"
    return True
