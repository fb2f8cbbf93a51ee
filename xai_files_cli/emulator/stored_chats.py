"""Stored chat completions: `store_messages`, `previous_response_id`, Get/DeleteStoredCompletion.

A completion requested with `store_messages` is kept under its response id in the emulator's
SQLite database (table `stored_completions`, migration m004), so it survives restarts. A row holds:

* `context`: the whole conversation up to and including the answer, as the `messages` of a
  GetCompletionsRequest: the stored conversation the request continued (if any), the request's
  own messages (file attachments as sent: by file id, or inline bytes), then the answer as an
  assistant message;
* `response`: the GetChatCompletionResponse as it was returned (unary form, also for streams),
  with the answer as its only output, index 0: clients read a stored completion's outputs as its
  choices (the official SDK makes one Response per output), so the attachment search's tool-call
  and tool-result outputs are not kept.

Continuing from a stored response (`previous_response_id`) puts its context before the new
request's messages, so files attached earlier stay in the conversation; any number of requests may
continue from (branch off) the same stored response, and deleting one leaves the conversations
stored after it whole. Each row belongs to the API key that stored it (`owner`, a SHA-256 of the
key): for another key it does not exist (NOT_FOUND), like an id that never did.

Like the API's, stored completions are kept for 30 days: an older one is not found, and every save
deletes those past the retention.
"""

from __future__ import annotations

from collections.abc import Sequence

from xai_files_cli._pb import chat_pb2
from xai_files_cli.emulator.storage import Storage

RETENTION_SECONDS = 30 * 24 * 3600


class StoredCompletions:
    """The stored completions of one data dir; every method may raise sqlite3.Error or OSError."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def save(
        self,
        owner: str,
        context: Sequence[chat_pb2.Message],
        response: chat_pb2.GetChatCompletionResponse,
    ) -> None:
        """Keep `response` (under its id) and the conversation that led to it, for `owner`."""
        history = chat_pb2.GetCompletionsRequest(messages=list(context))
        response = as_stored(response)
        with self._storage.write_transaction() as conn:
            conn.execute("DELETE FROM stored_completions WHERE created_at_ns <= ?", (self._oldest_kept(),))
            conn.execute(
                "INSERT INTO stored_completions (id, owner, context, response, created_at_ns) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    response.id,
                    owner,
                    history.SerializeToString(),
                    response.SerializeToString(),
                    self._storage.now_ns(),
                ),
            )

    def context(self, owner: str, response_id: str) -> list[chat_pb2.Message] | None:
        """The conversation up to and including stored response `response_id`, or None."""
        row = self._row("context", owner, response_id)
        if row is None:
            return None
        return list(chat_pb2.GetCompletionsRequest.FromString(row).messages)

    def response(self, owner: str, response_id: str) -> chat_pb2.GetChatCompletionResponse | None:
        """The stored response `response_id` as it was returned, or None."""
        row = self._row("response", owner, response_id)
        return None if row is None else chat_pb2.GetChatCompletionResponse.FromString(row)

    def delete(self, owner: str, response_id: str) -> bool:
        """Forget stored response `response_id`; False when `owner` has none by that id."""
        with self._storage.write_transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM stored_completions WHERE id = ? AND owner = ? AND created_at_ns > ?",
                (response_id, owner, self._oldest_kept()),
            )
            return cursor.rowcount > 0

    def _row(self, column: str, owner: str, response_id: str) -> bytes | None:
        row = (
            self._storage.read_connection()
            .execute(
                f"SELECT {column} FROM stored_completions WHERE id = ? AND owner = ? AND created_at_ns > ?",
                (response_id, owner, self._oldest_kept()),
            )
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def _oldest_kept(self) -> int:
        """Rows created at or before this time (ns) are past the retention."""
        return self._storage.now_ns() - RETENTION_SECONDS * 1_000_000_000


def as_stored(response: chat_pb2.GetChatCompletionResponse) -> chat_pb2.GetChatCompletionResponse:
    """`response` with only its answer (the last assistant output) left, as output 0."""
    stored = chat_pb2.GetChatCompletionResponse()
    stored.CopyFrom(response)
    answers = [o for o in response.outputs if o.message.role == chat_pb2.ROLE_ASSISTANT]
    del stored.outputs[:]
    if answers:
        stored.outputs.append(answers[-1])
        stored.outputs[0].index = 0
    return stored


def answer_message(response: chat_pb2.GetChatCompletionResponse) -> chat_pb2.Message:
    """The response's answer (its last assistant output) as the assistant message of a conversation."""
    answers = [o for o in response.outputs if o.message.role == chat_pb2.ROLE_ASSISTANT]
    message = answers[-1].message if answers else chat_pb2.CompletionMessage()
    turn = chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT, content=[chat_pb2.Content(text=message.content)])
    if message.reasoning_content:
        turn.reasoning_content = message.reasoning_content
    return turn
