"""Raw-stub chat clients and documents for the conversation tests (stored completions, citations,
structured output, the Auth service): our generated `_pb` over real gRPC, no CLI code in between."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import empty_pb2

from tests.support.raw_grpc import request, user
from tests.support.samples import make_pages_pdf
from xai_files_cli._pb import auth_pb2, auth_pb2_grpc, chat_pb2, chat_pb2_grpc
from xai_files_cli.core.chat import ChunkAccumulator

REPORT_PAGES = [
    [
        "Quarterly report for the Falcon project.",
        "Revenue grew by 12 percent in the third quarter.",
        "Costs stayed flat.",
    ],
    [
        "Budget: a reserve of 40,000 euros is kept for testing.",
        "The main risk is the late sensor firmware.",
    ],
]
REVENUE_LINE = "Revenue grew by 12 percent in the third quarter."
BUDGET_LINE = "Budget: a reserve of 40,000 euros is kept for testing."
INLINE_CITATIONS = chat_pb2.INCLUDE_OPTION_INLINE_CITATIONS


def report_pdf() -> bytes:
    """A two-page PDF: revenue on page 1, budget and risk on page 2."""
    return make_pages_pdf(REPORT_PAGES)


def answer_of(response: chat_pb2.GetChatCompletionResponse) -> chat_pb2.CompletionMessage:
    """The final answer: the last assistant output."""
    return [o for o in response.outputs if o.message.role == chat_pb2.ROLE_ASSISTANT][-1].message


class ChatClient:
    """Chat and Auth calls on one channel, authenticated with `key` (no metadata when None)."""

    def __init__(self, target: str, key: str | None) -> None:
        self.channel = grpc.insecure_channel(target)
        self.stub = chat_pb2_grpc.ChatStub(self.channel)
        self.auth = auth_pb2_grpc.AuthStub(self.channel)
        self.metadata = [("authorization", f"Bearer {key}")] if key else []

    def close(self) -> None:
        self.channel.close()

    def complete(self, req: chat_pb2.GetCompletionsRequest) -> chat_pb2.GetChatCompletionResponse:
        return self.stub.GetCompletion(req, metadata=self.metadata, timeout=30)

    def stream(self, req: chat_pb2.GetCompletionsRequest) -> list[chat_pb2.GetChatCompletionChunk]:
        return list(self.stub.GetCompletionChunk(req, metadata=self.metadata, timeout=30))

    def ask(
        self, text: str, *file_ids: str, data: bytes | None = None, filename: str = "", **fields: Any
    ) -> chat_pb2.GetChatCompletionResponse:
        """`text` about stored files (by id) and, with `data`, one inline file; `fields` of the request."""
        return self.complete(request(user(text, *file_ids, data=data, filename=filename), **fields))

    def ask_streamed(self, text: str, *file_ids: str, **fields: Any) -> list[chat_pb2.GetChatCompletionChunk]:
        """`ask`, answered as a stream of chunks."""
        return self.stream(request(user(text, *file_ids), **fields))

    def get(self, response_id: str) -> chat_pb2.GetChatCompletionResponse:
        req = chat_pb2.GetStoredCompletionRequest(response_id=response_id)
        return self.stub.GetStoredCompletion(req, metadata=self.metadata, timeout=30)

    def delete(self, response_id: str) -> chat_pb2.DeleteStoredCompletionResponse:
        req = chat_pb2.DeleteStoredCompletionRequest(response_id=response_id)
        return self.stub.DeleteStoredCompletion(req, metadata=self.metadata, timeout=30)

    def key_info(self) -> auth_pb2.ApiKey:
        return self.auth.get_api_key_info(empty_pb2.Empty(), metadata=self.metadata, timeout=30)


__all__ = ["ChatClient", "accumulate", "answer_of", "report_pdf"]


def accumulate(
    chunks: list[chat_pb2.GetChatCompletionChunk],
) -> tuple[str, list[chat_pb2.InlineCitation], list[str]]:
    """(answer text, inline citations, response citations) of a stream, accumulated as clients do."""
    accumulated = ChunkAccumulator()
    inline: list[chat_pb2.InlineCitation] = []
    for chunk in chunks:
        accumulated.add(chunk)
        for output in chunk.outputs:
            inline.extend(output.delta.citations)
    reply = accumulated.reply()
    return reply.content, inline, list(reply.sources)
