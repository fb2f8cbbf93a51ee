"""Stored completions over real gRPC: `store_messages`, `previous_response_id` (continuing and
branching), GetStoredCompletion/DeleteStoredCompletion, restarts and per-key isolation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.emulator.conversation_helpers import (
    BUDGET_LINE,
    REVENUE_LINE,
    ChatClient,
    accumulate,
    answer_of,
    report_pdf,
)
from tests.support.constants import TEST_KEY
from tests.support.emulator import Emulators, FakeClock
from tests.support.raw_grpc import Files, error_of
from tests.support.samples import NOTES
from xai_files_cli._pb import chat_pb2
from xai_files_cli.emulator.server import RunningServer

OTHER_KEY = "xai-otherkey9876543210zyxwvutsrqponmlkjih"


@pytest.fixture
def launch(emulators: Emulators) -> Callable[..., RunningServer]:
    """Start emulators on chosen data dirs (and keys); all are stopped at the end."""

    def start(data_dir: Path, api_key: str | None = TEST_KEY) -> RunningServer:
        return emulators.start(point_cli=False, data_dir=data_dir, api_key=api_key, faults=None)

    return start


def _first_turn(chat: ChatClient, file_id: str, **fields: Any) -> Any:
    return chat.ask("How did revenue grow?", file_id, store_messages=True, **fields)


def test_a_follow_up_without_the_file_is_answered_from_the_stored_pdf(
    chat: ChatClient, report_id: str
) -> None:
    first = _first_turn(chat, report_id)
    assert f"> {REVENUE_LINE}" in answer_of(first).content
    assert first.settings.store_messages

    second = chat.ask("What is the budget reserve?", previous_response_id=first.id)
    answer = answer_of(second).content
    assert f"> {BUDGET_LINE}" in answer and "From report.pdf:" in answer
    # the PDF of turn 1 is in the prompt again (read from the server's cache) and was searched
    assert second.usage.cached_prompt_text_tokens > 0 and second.usage.server_side_tools_used
    assert second.settings.previous_response_id == first.id
    assert second.outputs[0].message.tool_calls[0].function.arguments.endswith('"files": ["report.pdf"]}')


def test_two_follow_ups_branch_from_one_stored_response(chat: ChatClient, report_id: str) -> None:
    first = _first_turn(chat, report_id)
    budget = chat.ask("What is the budget reserve?", previous_response_id=first.id, store_messages=True)
    risk = chat.ask("What is the main risk?", previous_response_id=first.id, store_messages=True)
    assert f"> {BUDGET_LINE}" in answer_of(budget).content
    assert "> The main risk is the late sensor firmware." in answer_of(risk).content

    # "Tell me more" searches the earlier questions of its own branch only
    more_budget = answer_of(chat.ask("Tell me more", previous_response_id=budget.id)).content
    more_risk = answer_of(chat.ask("Tell me more", previous_response_id=risk.id)).content
    assert '"budget"' in more_budget and '"risk"' not in more_budget
    assert '"risk"' in more_risk and '"budget"' not in more_risk


def stored_form(response: chat_pb2.GetChatCompletionResponse) -> chat_pb2.GetChatCompletionResponse:
    """What GetStoredCompletion gives back for `response`: the same, with the answer as output 0 only."""
    stored = chat_pb2.GetChatCompletionResponse()
    stored.CopyFrom(response)
    del stored.outputs[:]
    stored.outputs.append(response.outputs[-1])
    stored.outputs[0].index = 0
    return stored


def test_get_returns_the_stored_response_and_delete_removes_it(chat: ChatClient, report_id: str) -> None:
    first = _first_turn(chat, report_id)
    assert len(first.outputs) == 3  # tool call, tool result, answer
    assert chat.get(first.id) == stored_form(first)

    assert chat.delete(first.id).response_id == first.id
    for call in (
        lambda: chat.get(first.id),
        lambda: chat.delete(first.id),
        lambda: chat.ask("What is the budget reserve?", previous_response_id=first.id),
    ):
        error = error_of(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert first.id in error.details()


def test_only_responses_asked_to_be_stored_are_kept(chat: ChatClient, report_id: str) -> None:
    unstored = chat.ask("How did revenue grow?", report_id)
    assert not unstored.settings.store_messages
    assert error_of(lambda: chat.get(unstored.id)).code() == grpc.StatusCode.NOT_FOUND
    error = error_of(lambda: chat.ask("And the budget?", previous_response_id=unstored.id))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_of(lambda: chat.get("")).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_streamed_stored_completion_is_kept_as_its_unary_response(chat: ChatClient, report_id: str) -> None:
    chunks = chat.ask_streamed("How did revenue grow?", report_id, store_messages=True)
    content, _, _ = accumulate(chunks)
    stored = chat.get(chunks[0].id)
    assert answer_of(stored).content == content and stored.id == chunks[0].id
    assert stored.usage == chunks[-1].usage
    follow_up = chat.ask("What is the budget reserve?", previous_response_id=stored.id)
    assert f"> {BUDGET_LINE}" in answer_of(follow_up).content


def test_deleting_an_earlier_turn_leaves_later_turns_whole(chat: ChatClient, report_id: str) -> None:
    first = _first_turn(chat, report_id)
    second = chat.ask("What is the budget reserve?", previous_response_id=first.id, store_messages=True)
    chat.delete(first.id)
    third = chat.ask("What is the main risk?", previous_response_id=second.id)
    assert "> The main risk is the late sensor firmware." in answer_of(third).content


def test_a_stored_conversation_survives_a_restart(
    launch: Callable[..., RunningServer], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    running = launch(data_dir)
    files = Files(running.target, TEST_KEY)
    chat = ChatClient(running.target, TEST_KEY)
    try:
        file_id = files.upload("report.pdf", report_pdf()).id
        first = _first_turn(chat, file_id)
    finally:
        files.close()
        chat.close()
    running.stop(grace=0)

    again = launch(data_dir)
    chat = ChatClient(again.target, TEST_KEY)
    try:
        assert chat.get(first.id) == stored_form(first)
        second = chat.ask("What is the budget reserve?", previous_response_id=first.id)
        assert f"> {BUDGET_LINE}" in answer_of(second).content
    finally:
        chat.close()


def test_stored_completions_belong_to_the_key_that_stored_them(
    launch: Callable[..., RunningServer], tmp_path: Path
) -> None:
    running = launch(tmp_path / "open", api_key=None)  # --no-auth: any key is accepted
    mine, theirs = ChatClient(running.target, TEST_KEY), ChatClient(running.target, OTHER_KEY)
    try:
        first = _stored_question_about_inline_notes(mine)
        for call in (
            lambda: theirs.get(first.id),
            lambda: theirs.delete(first.id),
            lambda: theirs.ask("And the budget?", previous_response_id=first.id),
        ):
            assert error_of(call).code() == grpc.StatusCode.NOT_FOUND
        assert mine.get(first.id) == stored_form(first)  # still there for its owner
    finally:
        mine.close()
        theirs.close()


def test_a_server_restarted_with_another_key_does_not_show_the_old_keys_completions(
    launch: Callable[..., RunningServer], tmp_path: Path
) -> None:
    running = launch(tmp_path / "data")
    chat = ChatClient(running.target, TEST_KEY)
    try:
        first = _stored_question_about_inline_notes(chat)
    finally:
        chat.close()
    running.stop(grace=0)
    again = launch(tmp_path / "data", api_key=OTHER_KEY)
    chat = ChatClient(again.target, OTHER_KEY)
    try:
        assert error_of(lambda: chat.get(first.id)).code() == grpc.StatusCode.NOT_FOUND
    finally:
        chat.close()


def test_a_continuation_whose_file_was_deleted_names_the_missing_file(
    chat: ChatClient, files: Files, report_id: str
) -> None:
    first = _first_turn(chat, report_id)
    files.delete(report_id)
    error = error_of(lambda: chat.ask("What is the budget reserve?", previous_response_id=first.id))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert report_id in error.details()


def test_stored_completions_are_kept_for_thirty_days(emulators: Emulators) -> None:
    clock = FakeClock()
    running = emulators.start(point_cli=False, clock=clock, faults=None)
    chat = ChatClient(running.target, TEST_KEY)
    try:
        old = _stored_question_about_inline_notes(chat)
        clock.advance(29 * 86400)
        assert chat.get(old.id).id == old.id
        clock.advance(2 * 86400)
        for call in (lambda: chat.get(old.id), lambda: chat.delete(old.id)):
            assert error_of(call).code() == grpc.StatusCode.NOT_FOUND
        _stored_question_about_inline_notes(chat)  # a save also removes the expired row
        rows = running.storage.read_connection().execute("SELECT id FROM stored_completions").fetchall()
        assert len(rows) == 1 and rows[0][0] != old.id
    finally:
        chat.close()


def _stored_question_about_inline_notes(chat: ChatClient) -> chat_pb2.GetChatCompletionResponse:
    """A stored completion of a question about the project notes, sent inline (no stored file)."""
    return chat.ask("What are the risks?", data=NOTES.encode(), filename="notes.txt", store_messages=True)
