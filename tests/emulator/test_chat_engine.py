"""The retrieval engine on its own: ranking, answer shapes, limits, determinism (no server)."""

from __future__ import annotations

import pytest

from tests.support.samples import NOTES, RISKS_ANSWER
from xai_files_cli.emulator import chat_engine as engine
from xai_files_cli.emulator.chat_engine import Attachment, Turn


def ask(question: str, *docs: tuple[str, str], **kwargs) -> engine.Answer:  # type: ignore[no-untyped-def]
    attachments = [Attachment(engine.index_document(name, text)) for name, text in docs]
    return engine.answer([Turn("user", question)], attachments, **kwargs)


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("risks", "risk"),
        ("risk", "risk"),
        ("notes", "note"),
        ("deadlines", "deadlin"),
        ("deadline", "deadlin"),
        ("policies", "policy"),
        ("policy", "policy"),
        ("boxes", "box"),
        ("class", "class"),
        ("classes", "class"),
    ],
)
def test_stem_makes_word_forms_meet(word: str, stem: str) -> None:
    assert engine.stem(word) == stem


def test_query_terms_drop_stop_words_and_keep_the_written_form() -> None:
    assert engine.query_terms("What are the main RISKS of the deadline?") == {
        "main": "main",
        "risk": "risks",
        "deadlin": "deadline",
    }
    assert engine.query_terms("Summarise this file, please") == {}


def test_answer_quotes_the_relevant_passages_from_the_file() -> None:
    answer = ask("What are the risks?", ("notes.txt", NOTES))
    assert answer.content == RISKS_ANSWER
    assert "Budget" not in answer.content
    assert answer.searched and answer.terms == ["risks"]
    assert [hit.passage for hit in answer.hits] == [1, 3]


def test_answer_is_deterministic() -> None:
    first = ask("risks and budget", ("notes.txt", NOTES))
    second = ask("risks and budget", ("notes.txt", NOTES))
    assert first == second


def test_several_files_are_quoted_file_by_file_in_attachment_order() -> None:
    csv = "name,role,city\nAda,engineer,London\nGrace,admiral,Arlington\n"
    answer = ask("budget and admiral", ("notes.txt", NOTES), ("people.csv", csv))
    assert answer.content.index("From notes.txt:") < answer.content.index("From people.csv:")
    # A table row is quoted under its header, so the columns stay readable.
    assert "> name,role,city\n> Ada,engineer,London\n> Grace,admiral,Arlington" in answer.content


def test_no_match_says_so_plainly() -> None:
    answer = ask("zebra migration", ("notes.txt", NOTES))
    assert answer.hits == []
    assert answer.content.startswith('Nothing in notes.txt matches "zebra", "migration".')
    assert "not a language model" in answer.content


def test_a_question_without_files_gets_the_engine_rules() -> None:
    answer = ask("What is the capital of France?")
    assert not answer.searched
    assert "answer only by quoting files attached to the question" in answer.content
    assert "--file" in answer.content


def test_a_question_without_search_words_shows_how_each_file_begins() -> None:
    answer = ask("Summarise this", ("notes.txt", NOTES), ("b.md", "# Title\n\nBody text."))
    assert "here is how each file begins" in answer.content
    assert "From notes.txt:\n> Project Falcon status notes." in answer.content
    assert "From b.md:\n> # Title" in answer.content


def test_an_empty_file_has_nothing_to_quote() -> None:
    answer = ask("risks?", ("empty.txt", ""))
    assert answer.content.startswith("empty.txt contains no text to quote")


def test_max_tokens_cuts_the_answer_and_marks_it() -> None:
    full = ask("risks", ("notes.txt", NOTES))
    cut = ask("risks", ("notes.txt", NOTES), max_tokens=10)
    assert cut.truncated and not full.truncated
    assert full.content.startswith(cut.content)
    assert cut.completion_tokens <= 10 < full.completion_tokens


def test_stop_strings_end_the_answer_before_them() -> None:
    answer = ask("risks", ("notes.txt", NOTES), stop=["A second", "not in the answer"])
    assert answer.content == (
        "From notes.txt:\n"
        "> The main risk is that the vendor misses the March deadline for the sensor firmware.\n\n> "
    )
    assert not answer.truncated


def test_usage_counts_the_file_text_and_cached_files() -> None:
    index = engine.index_document("notes.txt", NOTES)
    fresh = engine.answer([Turn("user", "risks")], [Attachment(index)])
    again = engine.answer([Turn("user", "risks")], [Attachment(index, cached=True)])
    assert fresh.prompt_tokens == again.prompt_tokens > engine.count_tokens(NOTES)
    assert fresh.cached_prompt_tokens == 0
    assert again.cached_prompt_tokens == engine.count_tokens(NOTES)
    assert fresh.completion_tokens == engine.count_tokens(fresh.content) > 0


def test_images_are_counted_not_read() -> None:
    answer = engine.answer([Turn("user", "what is in the picture?", images=2)], [])
    assert answer.image_tokens == 2 * engine.IMAGE_TOKENS
    assert answer.prompt_tokens > answer.image_tokens


def test_reasoning_describes_the_search_only_when_asked() -> None:
    plain = ask("risks", ("notes.txt", NOTES))
    reasoned = ask("risks", ("notes.txt", NOTES), reasoning=True)
    assert plain.reasoning == "" and plain.reasoning_tokens == 0
    assert reasoned.reasoning.startswith(
        "Split notes.txt into 5 passages and ranked them with BM25 for: risks."
    )
    assert reasoned.reasoning_tokens == engine.count_tokens(reasoned.reasoning)
    assert reasoned.content == plain.content


def test_a_follow_up_without_search_words_continues_the_earlier_question() -> None:
    text = "\n\n".join(f"Risk number {n}: item {n} may fail." for n in range(1, 9))
    index = engine.index_document("risks.txt", text)
    first = engine.answer([Turn("user", "risks?")], [Attachment(index)])
    turns = [Turn("user", "risks?"), Turn("assistant", first.content), Turn("user", "Tell me more")]
    more = engine.answer(turns, [Attachment(index)])
    quoted_first = {hit.text for hit in first.hits}
    assert more.hits and not quoted_first & {hit.text for hit in more.hits}
    assert more.prompt_tokens > first.prompt_tokens  # the history is part of the prompt


def test_long_lines_and_long_paragraphs_are_split_into_passages() -> None:
    sentence = "Filler words about nothing in particular go here. "
    text = sentence * 60 + "The needle is here. " + sentence * 60 + "\n\n" + "short line\n" * 200
    index = engine.index_document("big.txt", text)
    assert all(p.end - p.start <= engine.MAX_LINE_CHARS for p in index.passages)
    answer = engine.answer([Turn("user", "needle")], [Attachment(index)])
    assert "The needle is here." in answer.content
    assert len(answer.hits[0].text) <= engine.MAX_LINE_CHARS


def test_offsets_stay_right_when_lower_casing_changes_length() -> None:
    text = "\u0130stanbul office.\n\nThe deadline is in May."
    answer = ask("deadline", ("t.txt", text))
    assert "> The deadline is in May." in answer.content


def test_streaming_pieces_join_back_to_the_answer() -> None:
    answer = ask("risks", ("notes.txt", NOTES))
    assert len(answer.content_pieces) > 3
    assert "".join(answer.content_pieces) == answer.content
    long_line = "A sentence that goes on. " * 30
    assert "".join(engine.split_for_streaming(long_line)) == long_line
