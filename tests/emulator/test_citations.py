"""Citations of the local engine over real gRPC: the files an answer quotes (`citations`) and, with
INCLUDE_OPTION_INLINE_CITATIONS, a `[[N]](URL)` marker per quote with its InlineCitation (file id,
chunk id with the PDF page, passage text, score), unary and streamed alike."""

from __future__ import annotations

import pytest

from tests.emulator.conversation_helpers import (
    BUDGET_LINE,
    INLINE_CITATIONS,
    REVENUE_LINE,
    ChatClient,
    accumulate,
    answer_of,
)
from tests.support.samples import NOTES


@pytest.mark.parametrize(
    ("question", "line", "page"),
    [("How did revenue grow?", REVENUE_LINE, 1), ("What is the budget reserve?", BUDGET_LINE, 2)],
)
def test_inline_citations_name_the_file_and_page_of_a_two_page_pdf(
    chat: ChatClient, report_id: str, question: str, line: str, page: int
) -> None:
    file_id = report_id
    response = chat.ask(question, file_id, include=[INLINE_CITATIONS])
    answer = answer_of(response)
    [citation] = answer.citations
    url = f"file://{file_id}/report.pdf#page={page}"
    assert answer.content[citation.start_index : citation.end_index] == f"[[1]]({url})"
    quote = answer.content.split("\n\n")[0]
    assert f"> {line}" in quote and quote.endswith(f" [[1]]({url})")  # the marker ends the quote
    assert citation.id == "1"
    cited = citation.collections_citation
    assert cited.file_id == file_id
    assert cited.chunk_id == f"page-{page}/passage-{page}"  # one passage per page here
    assert line in cited.chunk_content and cited.score > 0
    assert list(response.citations) == [f"file://{file_id}/report.pdf"]


def test_streamed_inline_citations_arrive_with_their_markers(chat: ChatClient, notes_id: str) -> None:
    unary = chat.ask("What are the risks?", notes_id, include=[INLINE_CITATIONS])
    chunks = chat.ask_streamed("What are the risks?", notes_id, include=[INLINE_CITATIONS])
    content, inline, sources = accumulate(chunks)
    assert content == answer_of(unary).content
    assert inline == list(answer_of(unary).citations) and len(inline) == 2
    assert sources == list(unary.citations) == [f"file://{notes_id}/notes.txt"]
    assert [c.collections_citation.chunk_id for c in inline] == ["passage-2", "passage-4"]
    sent = ""
    for chunk in chunks:  # each citation comes in the chunk that completes its marker
        for output in chunk.outputs:
            sent += output.delta.content
            for citation in output.delta.citations:
                assert citation.end_index <= len(sent)
                assert sent[citation.start_index : citation.end_index].startswith(f"[[{citation.id}]](")
    assert [c for c in chunks if c.citations] == [chunks[-1]]  # the sources come in the last chunk


def test_without_inline_citations_the_answer_has_no_markers_but_names_its_files(
    chat: ChatClient, notes_id: str, report_id: str
) -> None:
    response = chat.ask("What are the main risks?", notes_id, report_id)
    answer = answer_of(response)
    assert "[[" not in answer.content and not answer.citations
    assert list(response.citations) == [f"file://{notes_id}/notes.txt", f"file://{report_id}/report.pdf"]


def test_inline_bytes_are_cited_by_file_name(chat: ChatClient) -> None:
    response = chat.ask(
        "What is the budget?", data=NOTES.encode(), filename="status notes.txt", include=[INLINE_CITATIONS]
    )
    [citation] = answer_of(response).citations
    assert citation.collections_citation.file_id == ""
    assert list(response.citations) == ["file://inline/status%20notes.txt"]
    assert answer_of(response).content[citation.start_index : citation.end_index] == (
        "[[1]](file://inline/status%20notes.txt)"
    )


def test_tell_me_more_after_cited_quotes_skips_what_was_quoted(chat: ChatClient, notes_id: str) -> None:
    first = chat.ask("What is the budget?", notes_id, include=[INLINE_CITATIONS], store_messages=True)
    assert "> Budget: spending is on plan" in answer_of(first).content
    more = answer_of(chat.ask("Tell me more", previous_response_id=first.id)).content
    # the earlier quote ends with a citation marker; it is still recognised as already quoted
    assert more.startswith('That is all: nothing else in notes.txt matches "budget".')
