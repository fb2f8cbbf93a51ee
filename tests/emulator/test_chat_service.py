"""Chat and Models services of the emulator over real gRPC with raw stubs (no CLI code)."""

from __future__ import annotations

import errno
import sqlite3

import grpc
import pytest
from google.protobuf import empty_pb2

from tests.support.raw_grpc import Files, request, user
from tests.support.samples import NOTES, make_pdf
from xai_files_cli._pb import chat_pb2, chat_pb2_grpc, models_pb2, models_pb2_grpc, sample_pb2, usage_pb2
from xai_files_cli.core.chat import ChunkAccumulator
from xai_files_cli.emulator.chat_engine import ENGINE_NAME


class Chat:
    def __init__(self, files: Files) -> None:
        self.stub = chat_pb2_grpc.ChatStub(files.channel)
        self.models = models_pb2_grpc.ModelsStub(files.channel)
        self.metadata = files.metadata

    def complete(self, req: chat_pb2.GetCompletionsRequest) -> chat_pb2.GetChatCompletionResponse:
        return self.stub.GetCompletion(req, metadata=self.metadata, timeout=30)

    def stream(self, req: chat_pb2.GetCompletionsRequest) -> list[chat_pb2.GetChatCompletionChunk]:
        return list(self.stub.GetCompletionChunk(req, metadata=self.metadata, timeout=30))


@pytest.fixture
def chat(files: Files) -> Chat:
    return Chat(files)


def status_of(call) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def test_file_chat_has_the_attachment_search_shape_and_answers_from_the_file(
    files: Files, chat: Chat
) -> None:
    stored = files.upload("notes.txt", NOTES.encode())
    reply = chat.complete(request(user("What are the risks?", stored.id)))
    roles = [o.message.role for o in reply.outputs]
    assert roles == [chat_pb2.ROLE_ASSISTANT, chat_pb2.ROLE_TOOL, chat_pb2.ROLE_ASSISTANT]
    assert [o.index for o in reply.outputs] == [0, 1, 2]
    call = reply.outputs[0].message.tool_calls[0]
    assert call.type == chat_pb2.TOOL_CALL_TYPE_ATTACHMENT_SEARCH_TOOL
    assert reply.outputs[0].finish_reason == sample_pb2.REASON_TOOL_CALLS
    assert reply.outputs[1].message.tool_calls[0].id == call.id  # the tool result names its call
    assert reply.outputs[1].message.content == ""  # tool output only when asked for
    answer = reply.outputs[2]
    assert answer.finish_reason == sample_pb2.REASON_STOP
    assert "> The main risk is that the vendor misses the March deadline" in answer.message.content
    assert reply.model == "grok-4" and reply.system_fingerprint == ENGINE_NAME
    usage = reply.usage
    assert usage.prompt_tokens > len(NOTES) // 4 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert list(usage.server_side_tools_used) == [usage_pb2.SERVER_SIDE_TOOL_ATTACHMENT_SEARCH]
    assert usage.HasField("cost_in_usd_ticks") and usage.cost_in_usd_ticks > 0


def test_stream_accumulates_to_the_unary_answer_in_several_chunks(files: Files, chat: Chat) -> None:
    stored = files.upload("notes.txt", NOTES.encode())
    req = request(user("What are the risks?", stored.id))
    unary = chat.complete(req)
    chunks = chat.stream(req)
    assert len(chunks) >= 5
    assert len({c.id for c in chunks}) == 1
    for chunk in chunks:
        for output in chunk.outputs:
            assert output.delta.role != chat_pb2.INVALID_ROLE  # every delta carries its role
    accumulated = ChunkAccumulator()
    for chunk in chunks:
        accumulated.add(chunk)
    streamed = accumulated.reply()
    assert streamed.content == unary.outputs[-1].message.content
    assert streamed.finish_reason == "stop"
    # usage is cumulative and final in the last chunk; the file is cached by then
    completions = [c.usage.completion_tokens for c in chunks]
    assert completions == sorted(completions) and completions[-1] == unary.usage.completion_tokens
    assert chunks[-1].usage.cached_prompt_text_tokens > 0
    assert unary.usage.cached_prompt_text_tokens == 0


def test_tool_output_is_returned_when_included(files: Files, chat: Chat) -> None:
    stored = files.upload("notes.txt", NOTES.encode())
    reply = chat.complete(
        request(user("budget", stored.id), include=[chat_pb2.INCLUDE_OPTION_ATTACHMENT_SEARCH_CALL_OUTPUT])
    )
    assert reply.outputs[1].message.content.startswith("searched 1 file(s) for: budget\nnotes.txt passage 3")


def test_chat_without_files_is_one_plain_answer(chat: Chat) -> None:
    reply = chat.complete(request(user("What is the capital of France?"), model="any-model-name"))
    assert len(reply.outputs) == 1 and reply.outputs[0].index == 0
    assert "answer only by quoting files attached" in reply.outputs[0].message.content
    assert reply.model == "any-model-name"
    assert list(reply.usage.server_side_tools_used) == []


def test_pdf_attachment_is_answered_from_its_text(files: Files, chat: Chat) -> None:
    pdf = make_pdf(["Quarterly report.", "Revenue grew by 12 percent in Q3.", "Costs stayed flat."])
    stored = files.upload("report.pdf", pdf)
    reply = chat.complete(request(user("How did revenue change?", stored.id)))
    assert "> Revenue grew by 12 percent in Q3." in reply.outputs[-1].message.content


def test_inline_file_data_is_read_like_an_uploaded_file(chat: Chat) -> None:
    reply = chat.complete(request(user("budget", data=NOTES.encode(), filename="inline.md")))
    assert "From inline.md:\n> Budget: spending is on plan" in reply.outputs[-1].message.content


def test_unknown_attached_id_is_not_found(chat: Chat) -> None:
    missing = "file_00000000-0000-4000-8000-000000000000"
    error = status_of(lambda: chat.complete(request(user("risks", missing))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert missing in error.details()


def test_unreadable_file_is_a_clear_invalid_argument(files: Files, chat: Chat) -> None:
    stored = files.upload("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    error = status_of(lambda: chat.complete(request(user("what is this?", stored.id))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "cannot read photo.png: not a text or PDF file (image/png)"


def test_damaged_pdf_is_invalid_argument(files: Files, chat: Chat) -> None:
    stored = files.upload("broken.pdf", b"%PDF-1.4\nthis is not really a pdf")
    error = status_of(lambda: chat.stream(request(user("anything", stored.id))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("broken.pdf: cannot read PDF")


def test_pdf_the_parser_chokes_on_is_invalid_argument(files: Files, chat: Chat) -> None:
    from tests.support.samples import PDF_WITH_NUMBER_TRAILER

    stored = files.upload("odd.pdf", PDF_WITH_NUMBER_TRAILER)
    for call in (chat.complete, chat.stream):
        error = status_of(lambda call=call: call(request(user("anything", stored.id))))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        assert error.details().startswith("odd.pdf: cannot read PDF")


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request(), "messages must not be empty"),
        (request(user("hi"), model=""), "model is required"),
        (request(user("hi"), temperature=2.5), "temperature must be between 0 and 2 (got 2.5)"),
        (request(user("hi"), top_p=0.0), "top_p must be in (0, 1] (got 0)"),
        (request(user("hi"), max_tokens=0), "max_tokens must be positive (got 0)"),
        (request(user("hi"), n=2), "n must be 1 here (got 2)"),
        (request(chat_pb2.Message(role=chat_pb2.ROLE_USER)), "message 1 has no content"),
        (request(chat_pb2.Message(content=[chat_pb2.Content(text="x")])), "message 1 has no valid role"),
        (
            request(
                chat_pb2.Message(
                    role=1, content=[chat_pb2.Content(file=chat_pb2.FileContent(url="https://x"))]
                )
            ),
            "the local server does not fetch file URLs; upload the file or send its bytes",
        ),
    ],
)
def test_bad_requests_are_invalid_argument(
    chat: Chat, req: chat_pb2.GetCompletionsRequest, message: str
) -> None:
    error = status_of(lambda: chat.complete(req))
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, message)


def test_max_tokens_ends_with_max_len(files: Files, chat: Chat) -> None:
    stored = files.upload("notes.txt", NOTES.encode())
    chunks = chat.stream(request(user("risks", stored.id), max_tokens=8))
    assert chunks[-1].outputs[0].finish_reason == sample_pb2.REASON_MAX_LEN
    assert chunks[-1].usage.completion_tokens <= 8


def test_reasoning_effort_streams_reasoning_before_the_answer(files: Files, chat: Chat) -> None:
    stored = files.upload("notes.txt", NOTES.encode())
    chunks = chat.stream(request(user("risks", stored.id), reasoning_effort=chat_pb2.EFFORT_LOW))
    accumulated = ChunkAccumulator()
    for chunk in chunks:
        accumulated.add(chunk)
    reply = accumulated.reply()
    assert reply.reasoning_content.startswith("Split notes.txt into 5 passages")
    assert reply.usage.reasoning_tokens > 0


def test_models_lists_the_engine_and_answers_any_name(chat: Chat) -> None:
    listed = chat.models.ListLanguageModels(empty_pb2.Empty(), metadata=chat.metadata, timeout=10)
    assert [m.name for m in listed.models] == ["xai-local-retrieval"]
    model = listed.models[0]
    assert "grok-4" in model.aliases and model.system_fingerprint == ENGINE_NAME
    assert model.prompt_text_token_price > 0 and model.max_prompt_length > 0
    asked = chat.models.GetLanguageModel(
        models_pb2.GetModelRequest(name="grok-code-fast-1"), metadata=chat.metadata, timeout=10
    )
    assert asked.name == "grok-code-fast-1" and "xai-local-retrieval" in asked.aliases
    error = status_of(
        lambda: chat.models.GetLanguageModel(models_pb2.GetModelRequest(name=""), metadata=chat.metadata)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_models_has_no_embedding_or_image_models(chat: Chat) -> None:
    """Embedding and image model lists exist (empty here); an unknown name is NOT_FOUND, not UNIMPLEMENTED."""
    options = {"metadata": chat.metadata, "timeout": 10}
    assert list(chat.models.ListEmbeddingModels(empty_pb2.Empty(), **options).models) == []
    assert list(chat.models.ListImageGenerationModels(empty_pb2.Empty(), **options).models) == []
    for get in (chat.models.GetEmbeddingModel, chat.models.GetImageGenerationModel):
        error = status_of(lambda get=get: get(models_pb2.GetModelRequest(name="grok-2-image"), **options))
        assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("method", "error", "code"),
    [
        ("get", sqlite3.OperationalError("database is locked"), grpc.StatusCode.UNAVAILABLE),
        ("get", sqlite3.DatabaseError("file is not a database"), grpc.StatusCode.INTERNAL),
        ("open_blob", OSError(errno.EIO, "Input/output error"), grpc.StatusCode.INTERNAL),
    ],
)
def test_storage_failures_while_reading_attachments_get_defined_codes(  # type: ignore[no-untyped-def]
    files: Files, chat: Chat, server, monkeypatch, method, error, code
) -> None:
    stored = files.upload("notes.txt", NOTES.encode())

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise error

    monkeypatch.setattr(server.storage, method, broken)
    for call in (chat.complete, chat.stream):
        failure = status_of(lambda call=call: call(request(user("What are the risks?", stored.id))))
        assert failure.code() == code, failure.details()


def test_chat_and_models_require_the_key(files: Files) -> None:
    stub = chat_pb2_grpc.ChatStub(files.channel)
    error = status_of(lambda: stub.GetCompletion(request(user("hi")), timeout=10))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
