"""Sample documents: project notes the chat engine can answer from (and its answer about the risks),
minimal real PDFs, and a PDF whose trailer is a number (parsers choke on it)."""

from __future__ import annotations

NOTES = (
    "Project Falcon status notes.\n"
    "\n"
    "The main risk is that the vendor misses the March deadline for the sensor firmware.\n"
    "\n"
    "Budget: spending is on plan, with a reserve of 40,000 euros kept for testing.\n"
    "\n"
    "A second risk is the office move in April, which may slip by two weeks.\n"
    "\n"
    "The team grew to twelve engineers; hiring is finished.\n"
)


# What the local engine answers about NOTES to "What are the risks?" (two quoted passages).
RISKS_ANSWER = (
    "From notes.txt:\n"
    "> The main risk is that the vendor misses the March deadline for the sensor firmware.\n"
    "\n"
    "> A second risk is the office move in April, which may slip by two weeks.\n"
    "\n"
    '(Quoted 2 of 5 passages, ranked for "risks" by xai-local-retrieval-v1, '
    "a local retrieval engine, not a language model.)\n"
)


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _text_stream(lines: list[str]) -> str:
    """A page content stream showing `lines` in 12 pt Helvetica, top down."""
    shown = " ".join(f"({_pdf_string(line)}) Tj T*" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td 14 TL {shown} ET"
    return f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"


def _pdf_file(objects: list[str]) -> bytes:
    """A PDF file of `objects` (numbered from 1, the first the catalog) with its xref table."""
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF (Helvetica text) that pypdf can extract `lines` from."""
    return _pdf_file(
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            _text_stream(lines),
        ]
    )


def make_pages_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF with one page per entry of `pages` (Helvetica text lines pypdf can extract)."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * n} 0 R" for n in range(count))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {count} >>"]
    font = 3 + 2 * count
    for number, lines in enumerate(pages):
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * number} 0 R >>"
        )
        objects.append(_text_stream(lines))
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _pdf_file(objects)


# pypdf 7 raises AttributeError ('NumberObject' object has no attribute 'items') for a trailer
# that is a number instead of a dictionary: any parser failure must still be INVALID_ARGUMENT.
PDF_WITH_NUMBER_TRAILER = (
    b"%PDF-1.4\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n2 0 obj\n<</Type/Pages/Kids[]/Count 0>>\n"
    b"endobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000054 00000 n \n"
    b"trailer\n7\nstartxref\n100\n%%EOF\n"
)
