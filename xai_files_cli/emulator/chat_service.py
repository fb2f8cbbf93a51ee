"""The local server's Chat service: GetCompletion and GetCompletionChunk over the retrieval engine.

A request is checked, its attachments are read and indexed (`text_extract`, `chat_engine`), the
engine answers, and the answer is shaped like the real API's file chat (wire-contract §3.10):

    output 0  ROLE_ASSISTANT  the attachment_search tool call        finish REASON_TOOL_CALLS
    output 1  ROLE_TOOL       its result (text only with INCLUDE_OPTION_ATTACHMENT_SEARCH_CALL_OUTPUT)
    output 2  ROLE_ASSISTANT  the answer, the LAST assistant output  finish REASON_STOP / MAX_LEN

Without attachments there is only the answer, as output 0. Streaming sends the same outputs as
deltas (every delta carries its role; the answer comes line by line) with cumulative usage in every
chunk, so that accumulating the chunks by §3.8 gives exactly the unary response.

Errors: empty messages, bad parameters, unreadable files, URLs -> INVALID_ARGUMENT; an unknown
attached file id -> NOT_FOUND; storage failures as in files_service (UNAVAILABLE, INTERNAL ...).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from xai_files_cli._pb import chat_pb2, chat_pb2_grpc, models_pb2_grpc, sample_pb2, usage_pb2
from xai_files_cli.emulator import chat_engine
from xai_files_cli.emulator.files_service import abort_for_storage_error
from xai_files_cli.emulator.models_service import MAX_PROMPT_TOKENS, ModelsServicer, cost_in_ticks
from xai_files_cli.emulator.text_extract import UnreadableFileError, extract_text
from xai_files_cli.emulator.validation import describe_id

MAX_ATTACHMENT_BYTES = 48_000_000  # per file, as xAI documented for chat attachments
MAX_STOP_STRINGS = 8
CACHE_CHARS = 64_000_000  # extracted text kept between requests, all files together
SEARCH_TOOL = "attachment_search"

_ROLES = {
    chat_pb2.ROLE_USER: "user",
    chat_pb2.ROLE_ASSISTANT: "assistant",
    chat_pb2.ROLE_SYSTEM: "system",
    chat_pb2.ROLE_DEVELOPER: "system",
    chat_pb2.ROLE_TOOL: "tool",
    chat_pb2.ROLE_FUNCTION: "tool",
}


def register(server: grpc.Server, storage) -> None:  # type: ignore[no-untyped-def]
    """Add the Chat and Models services to `server`; attachments are read from `storage`."""
    chat_pb2_grpc.add_ChatServicer_to_server(ChatServicer(storage), server)
    models_pb2_grpc.add_ModelsServicer_to_server(ModelsServicer(), server)


class _Reject(Exception):
    """A request the service refuses; carries the status to abort with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _IndexCache:
    """Indexed attachments from earlier requests (files are immutable), least recently used out."""

    def __init__(self, max_chars: int = CACHE_CHARS) -> None:
        self._entries: OrderedDict[str, chat_engine.DocumentIndex] = OrderedDict()
        self._chars = 0
        self._max = max_chars
        self._lock = threading.Lock()

    def get(self, key: str) -> chat_engine.DocumentIndex | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, index: chat_engine.DocumentIndex) -> None:
        with self._lock:
            if key in self._entries or len(index.text) > self._max:
                return
            self._entries[key] = index
            self._chars += len(index.text)
            while self._chars > self._max:
                _, old = self._entries.popitem(last=False)
                self._chars -= len(old.text)


@dataclass
class _Reply:
    """One answered request, ready to be sent whole or as chunks."""

    request: chat_pb2.GetCompletionsRequest
    answer: chat_engine.Answer
    id: str
    created: Timestamp
    tool_call: chat_pb2.ToolCall | None

    def _include(self, option: int) -> bool:
        return option in self.request.include

    @property
    def finish(self) -> int:
        return sample_pb2.REASON_MAX_LEN if self.answer.truncated else sample_pb2.REASON_STOP

    def usage(self, text_so_far: str | None = None, *, reasoning: bool = True) -> usage_pb2.SamplingUsage:
        """Cumulative usage: of the whole answer when `text_so_far` is None, else of that much of it."""
        a = self.answer
        completion = a.completion_tokens if text_so_far is None else chat_engine.count_tokens(text_so_far)
        reasoning_tokens = a.reasoning_tokens if reasoning else 0
        uncached = a.prompt_tokens - a.cached_prompt_tokens - a.image_tokens
        return usage_pb2.SamplingUsage(
            completion_tokens=completion,
            reasoning_tokens=reasoning_tokens,
            prompt_tokens=a.prompt_tokens,
            total_tokens=a.prompt_tokens + completion,
            prompt_text_tokens=uncached,
            cached_prompt_text_tokens=a.cached_prompt_tokens,
            prompt_image_tokens=a.image_tokens,
            server_side_tools_used=[usage_pb2.SERVER_SIDE_TOOL_ATTACHMENT_SEARCH] if a.searched else [],
            cost_in_usd_ticks=cost_in_ticks(
                prompt_text=uncached,
                cached=a.cached_prompt_tokens,
                images=a.image_tokens,
                completion=completion + reasoning_tokens,
            ),
        )

    def _tool_result(self) -> str:
        return (
            self.answer.search_summary
            if self._include(chat_pb2.INCLUDE_OPTION_ATTACHMENT_SEARCH_CALL_OUTPUT)
            else ""
        )

    def response(self) -> chat_pb2.GetChatCompletionResponse:
        """The unary GetCompletion response."""
        outputs = []
        if self.tool_call is not None:
            outputs.append(
                chat_pb2.CompletionOutput(
                    index=0,
                    finish_reason=sample_pb2.REASON_TOOL_CALLS,
                    message=chat_pb2.CompletionMessage(
                        role=chat_pb2.ROLE_ASSISTANT, tool_calls=[self.tool_call]
                    ),
                )
            )
            outputs.append(
                chat_pb2.CompletionOutput(
                    index=1,
                    finish_reason=sample_pb2.REASON_STOP,
                    message=chat_pb2.CompletionMessage(
                        role=chat_pb2.ROLE_TOOL, content=self._tool_result(), tool_calls=[self.tool_call]
                    ),
                )
            )
        outputs.append(
            chat_pb2.CompletionOutput(
                index=len(outputs),
                finish_reason=self.finish,
                message=chat_pb2.CompletionMessage(
                    role=chat_pb2.ROLE_ASSISTANT,
                    content=self.answer.content,
                    reasoning_content=self.answer.reasoning,
                ),
            )
        )
        return chat_pb2.GetChatCompletionResponse(
            id=self.id,
            outputs=outputs,
            created=self.created,
            model=self.request.model,
            system_fingerprint=chat_engine.ENGINE_NAME,
            usage=self.usage(),
            settings=_settings(self.request),
        )

    def chunks(self) -> Iterator[chat_pb2.GetChatCompletionChunk]:
        """The GetCompletionChunk stream: tool call, tool result, reasoning, then the answer line by line."""
        answer_index = 0
        if self.tool_call is not None:
            yield self._chunk(
                chat_pb2.CompletionOutputChunk(
                    index=0,
                    finish_reason=sample_pb2.REASON_TOOL_CALLS,
                    delta=chat_pb2.Delta(role=chat_pb2.ROLE_ASSISTANT, tool_calls=[self.tool_call]),
                ),
                self.usage("", reasoning=False),
            )
            yield self._chunk(
                chat_pb2.CompletionOutputChunk(
                    index=1,
                    finish_reason=sample_pb2.REASON_STOP,
                    delta=chat_pb2.Delta(
                        role=chat_pb2.ROLE_TOOL, content=self._tool_result(), tool_calls=[self.tool_call]
                    ),
                ),
                self.usage("", reasoning=False),
            )
            answer_index = 2
        if self.answer.reasoning:
            yield self._chunk(
                chat_pb2.CompletionOutputChunk(
                    index=answer_index,
                    delta=chat_pb2.Delta(
                        role=chat_pb2.ROLE_ASSISTANT, reasoning_content=self.answer.reasoning
                    ),
                ),
                self.usage(""),
            )
        pieces = self.answer.content_pieces or [""]
        sent = ""
        for number, piece in enumerate(pieces, start=1):
            sent += piece
            last = number == len(pieces)
            yield self._chunk(
                chat_pb2.CompletionOutputChunk(
                    index=answer_index,
                    finish_reason=self.finish if last else sample_pb2.REASON_INVALID,
                    delta=chat_pb2.Delta(role=chat_pb2.ROLE_ASSISTANT, content=piece),
                ),
                self.usage(None if last else sent),
            )

    def _chunk(
        self, output: chat_pb2.CompletionOutputChunk, usage: usage_pb2.SamplingUsage
    ) -> chat_pb2.GetChatCompletionChunk:
        return chat_pb2.GetChatCompletionChunk(
            id=self.id,
            outputs=[output],
            created=self.created,
            model=self.request.model,
            system_fingerprint=chat_engine.ENGINE_NAME,
            usage=usage,
        )


class ChatServicer(chat_pb2_grpc.ChatServicer):
    """`xai_api.Chat` (GetCompletion, GetCompletionChunk); the other methods stay UNIMPLEMENTED."""

    def __init__(self, storage) -> None:  # type: ignore[no-untyped-def]
        self._storage = storage
        self._cache = _IndexCache()

    def GetCompletion(self, request, context):
        return self._answer(request, context).response()

    def GetCompletionChunk(self, request, context):
        reply = self._answer(request, context)
        for chunk in reply.chunks():
            if not context.is_active():  # the client went away (Ctrl-C): stop producing
                return
            yield chunk

    # -- answering ------------------------------------------------------------------------------

    def _answer(self, request: chat_pb2.GetCompletionsRequest, context: grpc.ServicerContext) -> _Reply:
        try:
            _check_parameters(request)
            turns, attachments = self._read_messages(request)
        except _Reject as reject:
            context.abort(reject.code, reject.message)
        except (sqlite3.Error, OSError) as error:  # reading an attached file from storage
            abort_for_storage_error(context, error)
        effort = request.reasoning_effort if request.HasField("reasoning_effort") else None
        answer = chat_engine.answer(
            turns,
            attachments,
            max_tokens=request.max_tokens if request.HasField("max_tokens") else None,
            reasoning=effort not in (None, chat_pb2.INVALID_EFFORT, chat_pb2.EFFORT_NONE),
            stop=list(request.stop),
        )
        if answer.prompt_tokens > MAX_PROMPT_TOKENS:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the prompt is about {answer.prompt_tokens} tokens; this model accepts {MAX_PROMPT_TOKENS}",
            )
        created = Timestamp()
        created.GetCurrentTime()
        tool_call = None
        if attachments:
            question = next((t.text for t in reversed(turns) if t.role == "user"), "")
            tool_call = chat_pb2.ToolCall(
                id=f"call_{uuid.uuid4().hex[:24]}",
                type=chat_pb2.TOOL_CALL_TYPE_ATTACHMENT_SEARCH_TOOL,
                status=chat_pb2.TOOL_CALL_STATUS_COMPLETED,
                function=chat_pb2.FunctionCall(
                    name=SEARCH_TOOL,
                    arguments=json.dumps({"query": question, "files": [a.index.name for a in attachments]}),
                ),
            )
        return _Reply(request, answer, f"chatcmpl-{uuid.uuid4()}", created, tool_call)

    def _read_messages(
        self, request: chat_pb2.GetCompletionsRequest
    ) -> tuple[list[chat_engine.Turn], list[chat_engine.Attachment]]:
        turns: list[chat_engine.Turn] = []
        attachments: dict[str, chat_engine.Attachment] = {}
        for number, message in enumerate(request.messages, start=1):
            role = _ROLES.get(message.role)
            if role is None:
                raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, f"message {number} has no valid role")
            if not message.content and not message.tool_calls and not message.encrypted_content:
                raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, f"message {number} has no content")
            texts: list[str] = []
            images = 0
            for part in message.content:
                kind = part.WhichOneof("content")
                if kind == "text":
                    texts.append(part.text)
                elif kind == "image_url":
                    images += 1
                elif kind == "file":
                    key, attachment = self._attachment(part.file)
                    attachments.setdefault(key, attachment)
            turns.append(chat_engine.Turn(role=role, text="\n".join(texts), images=images))
        return turns, list(attachments.values())

    def _attachment(self, part: chat_pb2.FileContent) -> tuple[str, chat_engine.Attachment]:
        """Read, extract and index one attached file (or take it from the cache)."""
        sources = [bool(part.file_id), bool(part.data), bool(part.url)]
        if sum(sources) != 1:
            raise _Reject(
                grpc.StatusCode.INVALID_ARGUMENT,
                "a file attachment needs exactly one of file_id, data or url",
            )
        if part.url:
            raise _Reject(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the local server does not fetch file URLs; upload the file or send its bytes",
            )
        if part.file_id:
            key = part.file_id
            record = self._storage.get(part.file_id)
            if record is None:
                raise _Reject(
                    grpc.StatusCode.NOT_FOUND, f"attached file {describe_id(part.file_id)} not found"
                )
            name, content_type = record.filename, record.content_type
            cached = self._cache.get(key)
            if cached is not None:
                return key, chat_engine.Attachment(cached, cached=True)
            _check_size(name, record.size)
            blob = self._storage.open_blob(part.file_id)
            if blob is None:  # deleted between the lookup and the read
                raise _Reject(
                    grpc.StatusCode.NOT_FOUND, f"attached file {describe_id(part.file_id)} not found"
                )
            with blob:
                data = blob.read(MAX_ATTACHMENT_BYTES + 1)
        else:
            data = part.data
            name, content_type = part.filename or "attachment", part.mime_type
            key = "sha256:" + hashlib.sha256(data).hexdigest() + ":" + name
            cached = self._cache.get(key)
            if cached is not None:
                return key, chat_engine.Attachment(cached, cached=True)
        _check_size(name, len(data))
        try:
            text = extract_text(data, name, content_type)
        except UnreadableFileError as error:
            raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        index = chat_engine.index_document(name, text)
        self._cache.put(key, index)
        return key, chat_engine.Attachment(index)


def _check_size(name: str, size: int) -> None:
    if size > MAX_ATTACHMENT_BYTES:
        raise _Reject(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{name} is {size} bytes; chat attachments are limited to {MAX_ATTACHMENT_BYTES} bytes",
        )


def _check_parameters(request: chat_pb2.GetCompletionsRequest) -> None:
    """Parameter ranges from chat.proto (wire-contract §3.2)."""
    problem = None
    if not request.model.strip():
        problem = "model is required"
    elif not request.messages:
        problem = "messages must not be empty"
    elif request.HasField("n") and request.n != 1:
        problem = f"n must be 1 here (got {request.n})"
    elif request.HasField("max_tokens") and request.max_tokens <= 0:
        problem = f"max_tokens must be positive (got {request.max_tokens})"
    elif request.HasField("temperature") and not 0 <= request.temperature <= 2:
        problem = f"temperature must be between 0 and 2 (got {request.temperature:g})"
    elif request.HasField("top_p") and not 0 < request.top_p <= 1:
        problem = f"top_p must be in (0, 1] (got {request.top_p:g})"
    elif len(request.stop) > MAX_STOP_STRINGS:
        problem = f"at most {MAX_STOP_STRINGS} stop strings (got {len(request.stop)})"
    if problem:
        raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, problem)
    if request.HasField("previous_response_id"):
        raise _Reject(
            grpc.StatusCode.NOT_FOUND,
            f"no stored response {describe_id(request.previous_response_id)} (this server stores none)",
        )


def _settings(request: chat_pb2.GetCompletionsRequest) -> chat_pb2.RequestSettings:
    """The effective settings echoed in the response."""
    settings = chat_pb2.RequestSettings(
        parallel_tool_calls=True, store_messages=request.store_messages, include=list(request.include)
    )
    for name in ("max_tokens", "temperature", "top_p", "reasoning_effort"):
        if request.HasField(name):
            setattr(settings, name, getattr(request, name))
    return settings
