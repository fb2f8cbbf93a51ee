"""The local server's Chat service: completions over the retrieval engine, and stored completions.

A request is checked, its attachments are read and indexed (`text_extract`, `chat_engine`), the
engine answers, and the answer is shaped like the real API's file chat:

    output 0  ROLE_ASSISTANT  the attachment_search tool call        finish REASON_TOOL_CALLS
    output 1  ROLE_TOOL       its result (text only with INCLUDE_OPTION_ATTACHMENT_SEARCH_CALL_OUTPUT)
    output 2  ROLE_ASSISTANT  the answer, the LAST assistant output  finish REASON_STOP / MAX_LEN

Without attachments there is only the answer, as output 0. Streaming sends the same outputs as
deltas (every delta carries its role; the answer comes line by line) with cumulative usage in every
chunk, so that accumulating the chunks as the official client does (per output, by index: role and
finish reason overwritten, text, tool calls and citations appended; usage overwritten) gives
exactly the unary response.

Citations: the answer's `citations` name every file a quoted passage came from (always, as the
real API lists its sources); with INCLUDE_OPTION_INLINE_CITATIONS each quote also ends with a
`[[N]](URL)` marker and the answer carries an InlineCitation per marker (streamed in the delta that
completes it) with a `collections_citation`: file id, chunk id (`page-P/passage-N` for PDFs), the
passage's text and its score (chat_engine describes the URLs).

A `response_format` of JSON_SCHEMA or JSON_OBJECT makes the answer one JSON value, filled by
extraction from the files (structured.py); its reasoning content says it is extractive.

Stored completions (stored_chats.py): with `store_messages` the conversation and the response are
kept under the response id for the calling key; `previous_response_id` continues from one (its
files stay attached); GetStoredCompletion and DeleteStoredCompletion read and remove them.

Errors: empty messages, bad parameters, an unusable schema, unreadable files, URLs ->
INVALID_ARGUMENT; an unknown attached file id, or a stored response this key does not have ->
NOT_FOUND; storage failures as in files_service (UNAVAILABLE, INTERNAL ...).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import sqlite3
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from xai_files_cli._pb import chat_pb2, chat_pb2_grpc, models_pb2_grpc, sample_pb2, usage_pb2
from xai_files_cli.emulator import auth_service, chat_engine, structured
from xai_files_cli.emulator.auth_service import key_owner, presented_key
from xai_files_cli.emulator.content import SNIFF_BYTES
from xai_files_cli.emulator.files_service import abort_for_storage_error
from xai_files_cli.emulator.models_service import MAX_PROMPT_TOKENS, ModelsServicer, cost_in_ticks
from xai_files_cli.emulator.pdf_text import PdfLimits
from xai_files_cli.emulator.storage import BlobLostError, Storage
from xai_files_cli.emulator.stored_chats import StoredCompletions, answer_message
from xai_files_cli.emulator.text_extract import (
    ExtractionCancelled,
    TextTooLong,
    UnreadableFileError,
    effective_type,
    extract_document,
    min_chars,
)
from xai_files_cli.emulator.validation import describe_id

log = logging.getLogger("xai.emulator")

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


def register(server: grpc.Server, storage: Storage, pdf_limits: PdfLimits | None = None) -> None:
    """Add the Chat, Models and Auth services to `server`; attachments are read from `storage`."""
    chat_pb2_grpc.add_ChatServicer_to_server(ChatServicer(storage, pdf_limits), server)
    models_pb2_grpc.add_ModelsServicer_to_server(ModelsServicer(), server)
    auth_service.register(server)


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
    def finish(self) -> sample_pb2.FinishReason:
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
                    citations=[_inline_citation(c) for c in self.answer.citations],
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
            citations=self.answer.sources,
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
        pending = list(self.answer.citations)
        sent = ""
        for number, piece in enumerate(pieces, start=1):
            sent += piece
            last = number == len(pieces)
            complete = [c for c in pending if c.end <= len(sent)]  # its marker has been sent whole
            pending = pending[len(complete) :]
            yield self._chunk(
                chat_pb2.CompletionOutputChunk(
                    index=answer_index,
                    finish_reason=self.finish if last else sample_pb2.REASON_INVALID,
                    delta=chat_pb2.Delta(
                        role=chat_pb2.ROLE_ASSISTANT,
                        content=piece,
                        citations=[_inline_citation(c) for c in complete],
                    ),
                ),
                self.usage(None if last else sent),
                citations=self.answer.sources if last else (),
            )

    def _chunk(
        self,
        output: chat_pb2.CompletionOutputChunk,
        usage: usage_pb2.SamplingUsage,
        citations: Sequence[str] = (),
    ) -> chat_pb2.GetChatCompletionChunk:
        return chat_pb2.GetChatCompletionChunk(
            id=self.id,
            outputs=[output],
            created=self.created,
            model=self.request.model,
            system_fingerprint=chat_engine.ENGINE_NAME,
            usage=usage,
            citations=citations,
        )


def _inline_citation(citation: chat_engine.Citation) -> chat_pb2.InlineCitation:
    """The wire form of one cited passage: a collections citation of the file's chunk."""
    return chat_pb2.InlineCitation(
        id=str(citation.number),
        start_index=citation.start,
        end_index=citation.end,
        collections_citation=chat_pb2.CollectionsCitation(
            file_id=citation.file_id,
            chunk_id=citation.chunk_id,
            chunk_content=citation.hit.text,
            score=citation.hit.score,
        ),
    )


@dataclass
class _Source:
    """An attachment before it is read: where its bytes are and what is known without reading them."""

    key: str
    name: str
    content_type: str
    size: int
    file_id: str | None = None
    data: bytes | None = None
    cached: chat_engine.DocumentIndex | None = None

    def min_tokens(self) -> int:
        """The fewest prompt tokens this attachment can cost (exact once it is cached)."""
        if self.cached is not None:
            return chat_engine.count_tokens(self.cached.text)
        return -(-min_chars(self.size, self.content_type) // 4)


class ChatServicer(chat_pb2_grpc.ChatServicer):
    """`xai_api.Chat`: completions (unary and streamed) and stored completions; deferred completions
    and context compaction stay UNIMPLEMENTED.

    Work per request is bounded before it starts: attachment sizes are checked against the prompt
    limit without reading them, text is then read under a character budget (the prompt tokens
    left), PDF extraction runs in a child process with a time budget (`pdf_limits`), and every
    step checks whether the client is still there, so a cancelled request stops working.
    """

    def __init__(self, storage: Storage, pdf_limits: PdfLimits | None = None) -> None:
        self._storage = storage
        self._stored = StoredCompletions(storage)
        self._cache = _IndexCache()
        self._pdf_limits = pdf_limits or PdfLimits()

    def GetCompletion(self, request, context):
        return self._answer(request, context).response()

    def GetCompletionChunk(self, request, context):
        reply = self._answer(request, context)
        for chunk in reply.chunks():
            if not context.is_active():  # the client went away (Ctrl-C): stop producing
                return
            yield chunk

    def GetStoredCompletion(self, request, context):
        response_id = _response_id(request, context)
        try:
            stored = self._stored.response(_owner(context), response_id)
        except (sqlite3.Error, OSError) as error:
            abort_for_storage_error(context, error)
        if stored is None:
            context.abort(grpc.StatusCode.NOT_FOUND, _no_stored_response(response_id))
        return stored

    def DeleteStoredCompletion(self, request, context):
        response_id = _response_id(request, context)
        try:
            deleted = self._stored.delete(_owner(context), response_id)
        except (sqlite3.Error, OSError) as error:
            abort_for_storage_error(context, error)
        if not deleted:
            context.abort(grpc.StatusCode.NOT_FOUND, _no_stored_response(response_id))
        return chat_pb2.DeleteStoredCompletionResponse(response_id=response_id)

    # -- answering ------------------------------------------------------------------------------

    def _answer(self, request: chat_pb2.GetCompletionsRequest, context: grpc.ServicerContext) -> _Reply:
        owner = _owner(context)
        try:
            _check_parameters(request)
            response_format = _response_format(request)
            messages = [*self._history(owner, request), *request.messages]
            turns, sources = self._read_messages(messages)
            budget = MAX_PROMPT_TOKENS - chat_engine.conversation_tokens(turns)
            _check_budget(sum(source.min_tokens() for source in sources), budget)
            attachments = self._load(sources, budget, context)
            answer = self._run_engine(request, turns, attachments, response_format, context)
        except _Reject as reject:
            context.abort(reject.code, reject.message)
        except (ExtractionCancelled, chat_engine.Stopped):
            log.info("chat request stopped: the client went away")
            context.abort(grpc.StatusCode.CANCELLED, "the client cancelled the request")
        except BlobLostError as error:
            context.abort(grpc.StatusCode.DATA_LOSS, f"attached file: {error}")
        except (sqlite3.Error, OSError) as error:  # reading an attached file from storage
            abort_for_storage_error(context, error)
        _check_budget(answer.prompt_tokens, MAX_PROMPT_TOKENS, context)
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
        reply = _Reply(request, answer, f"chatcmpl-{uuid.uuid4()}", created, tool_call)
        if request.store_messages:
            response = reply.response()
            try:
                self._stored.save(owner, [*messages, answer_message(response)], response)
            except (sqlite3.Error, OSError) as error:
                abort_for_storage_error(context, error)
        return reply

    def _history(self, owner: str, request: chat_pb2.GetCompletionsRequest) -> list[chat_pb2.Message]:
        """The stored conversation `previous_response_id` continues (none without one)."""
        if not request.HasField("previous_response_id"):
            return []
        response_id = request.previous_response_id
        if not response_id.strip():
            raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, "previous_response_id is empty")
        history = self._stored.context(owner, response_id)
        if history is None:
            raise _Reject(grpc.StatusCode.NOT_FOUND, _no_stored_response(response_id))
        return history

    def _run_engine(
        self,
        request: chat_pb2.GetCompletionsRequest,
        turns: list[chat_engine.Turn],
        attachments: list[chat_engine.Attachment],
        response_format: structured.JsonFormat | None,
        context: grpc.ServicerContext,
    ) -> chat_engine.Answer:
        effort = request.reasoning_effort if request.HasField("reasoning_effort") else None
        max_tokens = request.max_tokens if request.HasField("max_tokens") else None
        reasoning = effort not in (None, chat_pb2.INVALID_EFFORT, chat_pb2.EFFORT_NONE)
        inline_citations = chat_pb2.INCLUDE_OPTION_INLINE_CITATIONS in request.include
        if response_format is not None:
            return structured.answer_json(
                turns,
                attachments,
                response_format,
                max_tokens=max_tokens,
                reasoning=reasoning,
                stop=list(request.stop),
                should_stop=lambda: not context.is_active(),
                inline_citations=inline_citations,
            )
        return chat_engine.answer(
            turns,
            attachments,
            max_tokens=max_tokens,
            reasoning=reasoning,
            stop=list(request.stop),
            should_stop=lambda: not context.is_active(),
            inline_citations=inline_citations,
        )

    def _read_messages(
        self, messages: Sequence[chat_pb2.Message]
    ) -> tuple[list[chat_engine.Turn], list[_Source]]:
        """The conversation and its attachments (looked up and sized, not read yet)."""
        turns: list[chat_engine.Turn] = []
        sources: dict[str, _Source] = {}
        for number, message in enumerate(messages, start=1):
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
                    source = self._source(part.file)
                    sources.setdefault(source.key, source)
            turns.append(chat_engine.Turn(role=role, text="\n".join(texts), images=images))
        return turns, list(sources.values())

    def _source(self, part: chat_pb2.FileContent) -> _Source:
        """Check one attached file and find out its name, type and size, without reading it."""
        if sum([bool(part.file_id), bool(part.data), bool(part.url)]) != 1:
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
            record = self._storage.get(part.file_id)
            if record is None:
                raise _Reject(
                    grpc.StatusCode.NOT_FOUND, f"attached file {describe_id(part.file_id)} not found"
                )
            source = _Source(
                part.file_id, record.filename, record.content_type, record.size, file_id=part.file_id
            )
        else:
            name = part.filename or "attachment"
            key = "sha256:" + hashlib.sha256(part.data).hexdigest() + ":" + name
            kind = effective_type(part.data[:SNIFF_BYTES], name, part.mime_type)
            source = _Source(key, name, kind, len(part.data), data=part.data)
        source.cached = self._cache.get(source.key)
        if source.cached is None:
            _check_size(source.name, source.size)
        return source

    def _load(
        self, sources: list[_Source], budget: int, context: grpc.ServicerContext
    ) -> list[chat_engine.Attachment]:
        """Read and index the attachments in order, within `budget` prompt tokens in all."""
        attachments: list[chat_engine.Attachment] = []
        used = 0
        for source in sources:
            if not context.is_active():
                raise ExtractionCancelled
            file_id = source.file_id or ""
            if source.cached is not None:
                attachment = chat_engine.Attachment(source.cached, cached=True, file_id=file_id)
            else:
                index = self._index(source, (budget - used) * 4, context)
                attachment = chat_engine.Attachment(index, file_id=file_id)
            used += chat_engine.count_tokens(attachment.index.text)
            _check_budget(used, budget)
            attachments.append(attachment)
        return attachments

    def _index(
        self, source: _Source, max_chars: int, context: grpc.ServicerContext
    ) -> chat_engine.DocumentIndex:
        """Extract (at most `max_chars` characters of) one attachment's text and index it."""
        stream = self._open(source)
        try:
            with stream:
                extracted = extract_document(
                    stream,
                    source.name,
                    source.content_type,
                    max_chars=max(max_chars, 0),
                    pdf_limits=self._pdf_limits,
                    cancelled=lambda: not context.is_active(),
                )
        except UnreadableFileError as error:
            raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        except TextTooLong:
            raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, _too_long_message()) from None
        if not context.is_active():
            raise ExtractionCancelled
        index = chat_engine.index_document(source.name, extracted.text, extracted.page_starts)
        self._cache.put(source.key, index)
        return index

    def _open(self, source: _Source) -> BinaryIO:
        if source.data is not None:
            return io.BytesIO(source.data)
        assert source.file_id is not None
        blob = self._storage.open_blob(source.file_id)
        if blob is None:  # deleted between the lookup and the read
            raise _Reject(grpc.StatusCode.NOT_FOUND, f"attached file {describe_id(source.file_id)} not found")
        return blob


def _too_long_message(tokens: int | None = None) -> str:
    about = f"about {tokens} tokens" if tokens is not None else f"more than {MAX_PROMPT_TOKENS} tokens"
    return f"the prompt is {about}; this model accepts {MAX_PROMPT_TOKENS}"


def _check_budget(tokens: int, budget: int, context: grpc.ServicerContext | None = None) -> None:
    """Refuse (INVALID_ARGUMENT) a prompt that needs more than `budget` tokens."""
    if tokens <= budget:
        return
    message = _too_long_message(tokens if context is not None else None)
    if context is not None:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
    raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, message)


def _check_size(name: str, size: int) -> None:
    if size > MAX_ATTACHMENT_BYTES:
        raise _Reject(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{name} is {size} bytes; chat attachments are limited to {MAX_ATTACHMENT_BYTES} bytes",
        )


def _check_parameters(request: chat_pb2.GetCompletionsRequest) -> None:
    """The parameter ranges that chat.proto documents."""
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


def _response_format(request: chat_pb2.GetCompletionsRequest) -> structured.JsonFormat | None:
    """The JSON format asked for (a checked schema, or any object), or None for text."""
    if not request.HasField("response_format"):
        return None
    kind = request.response_format.format_type
    if kind in (chat_pb2.FORMAT_TYPE_INVALID, chat_pb2.FORMAT_TYPE_TEXT):
        return None
    if kind == chat_pb2.FORMAT_TYPE_JSON_OBJECT:
        return structured.JsonFormat()
    if kind != chat_pb2.FORMAT_TYPE_JSON_SCHEMA:
        raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, f"unknown response format type {kind}")
    if not request.response_format.schema.strip():
        raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, "a JSON_SCHEMA response format needs a schema")
    try:
        return structured.JsonFormat(structured.parse_schema(request.response_format.schema))
    except structured.SchemaError as error:
        raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None


def _owner(context: grpc.ServicerContext) -> str:
    """Whose stored completions a call sees: those of the API key it was made with."""
    return key_owner(presented_key(context.invocation_metadata()))


def _response_id(
    request: chat_pb2.GetStoredCompletionRequest | chat_pb2.DeleteStoredCompletionRequest,
    context: grpc.ServicerContext,
) -> str:
    if not request.response_id.strip():
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "response_id is required")
    return request.response_id


def _no_stored_response(response_id: str) -> str:
    return f"no stored response {describe_id(response_id)} for this API key"


def _settings(request: chat_pb2.GetCompletionsRequest) -> chat_pb2.RequestSettings:
    """The effective settings echoed in the response."""
    settings = chat_pb2.RequestSettings(
        parallel_tool_calls=True, store_messages=request.store_messages, include=list(request.include)
    )
    for name in ("max_tokens", "temperature", "top_p", "reasoning_effort", "previous_response_id"):
        if request.HasField(name):
            setattr(settings, name, getattr(request, name))
    if request.HasField("response_format"):
        settings.response_format.CopyFrom(request.response_format)
    return settings
