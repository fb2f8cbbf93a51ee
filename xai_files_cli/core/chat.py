"""ChatClient: the Chat service as plain Python calls (a conversation in, a ChatReply out).

Streaming (`GetCompletionChunk`) accumulates chunks by the official client's rules (outputs
addressed by index, role and finish_reason overwritten, text appended, usage replaced)
and hands every piece of answer text to a callback as it arrives. With file attachments the server
adds attachment-search outputs; the answer is the LAST assistant output.

Conversations: `ChatOptions.store` asks the server to keep the response (`store_messages`) and
`previous_response_id` continues a stored one; otherwise the caller sends the whole history.
`inline_citations` asks for an InlineCitation per quoted passage: the reply's `citations` name the
file, and the page of a PDF, each one came from. `schema` (JSON Schema text) makes the answer one
JSON value (`response_format`).

A stream that breaks after the first chunk is never retried (gRPC commits the call at the first
response); the error raised carries what had arrived (`error.partial`), so nothing shown is lost.
Ctrl-C cancels the call before the KeyboardInterrupt propagates.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import grpc

from xai_files_cli._pb import chat_pb2, chat_pb2_grpc, image_pb2, sample_pb2
from xai_files_cli.core import rpc
from xai_files_cli.core.channel import target_of
from xai_files_cli.core.records import enum_label
from xai_files_cli.errors import UsageError, XaiError

DEFAULT_TIMEOUT = 900.0  # seconds for one answer when --timeout is not given (reasoning can be slow)
USD_TICKS = 10_000_000_000  # 1 USD in cost_in_usd_ticks
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
EFFORTS = {"low": chat_pb2.EFFORT_LOW, "medium": chat_pb2.EFFORT_MEDIUM, "high": chat_pb2.EFFORT_HIGH}

_ROLE = {"user": chat_pb2.ROLE_USER, "assistant": chat_pb2.ROLE_ASSISTANT, "system": chat_pb2.ROLE_SYSTEM}


# -- what goes in -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One conversation turn: text, plus attached file ids and images (URL or data: URI)."""

    role: str  # "user", "assistant" or "system"
    text: str
    file_ids: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatOptions:
    """Sampling settings of a request; None leaves the server's default."""

    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None  # low, medium or high
    schema: str | None = None  # JSON Schema text: the answer is one JSON value
    inline_citations: bool = False
    store: bool = False  # the server keeps the response (store_messages)
    previous_response_id: str | None = None  # continue a stored response


_IMAGE_URL_PREFIXES = ("https://", "http://", "data:")  # an image sent as it is, not read from a path


def image_reference(value: str) -> str:
    """How an attached image is logged, to be sent again with the history: a URL as is, a local
    path made absolute (a later `xai chat -c` may run in another directory)."""
    if value.startswith(_IMAGE_URL_PREFIXES):
        return value
    return os.path.abspath(value)


def image_source(value: str) -> str:
    """An image for a message: an http(s)/data: URL as is, or a local PNG/JPEG/WebP as a data: URI.

    Raises:
        UsageError: a missing or unreadable path, an unsupported type, or over 10 MiB (no RPC sent).
    """
    if value.startswith(_IMAGE_URL_PREFIXES):
        return value
    path = Path(value)
    kind = IMAGE_TYPES.get(path.suffix.lower())
    if not path.is_file():
        raise UsageError(f"no such image: {value}", path=value)
    if kind is None:
        raise UsageError(f"cannot attach {value}: images must be PNG, JPEG or WebP", path=value)
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise UsageError(f"cannot attach {value}: {size} bytes; images are limited to 10 MiB", path=value)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {value}: {error.strerror or error}", path=value) from None
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def build_request(messages: Sequence[Message], options: ChatOptions) -> chat_pb2.GetCompletionsRequest:
    """The GetCompletionsRequest for a conversation (files and images ride in their user turns)."""
    request = chat_pb2.GetCompletionsRequest(model=options.model, n=1)
    for message in messages:
        content = [chat_pb2.Content(text=message.text)] if message.text else []
        content += [chat_pb2.Content(file=chat_pb2.FileContent(file_id=fid)) for fid in message.file_ids]
        content += [
            chat_pb2.Content(image_url=image_pb2.ImageUrlContent(image_url=url, detail=image_pb2.DETAIL_AUTO))
            for url in message.images
        ]
        request.messages.append(chat_pb2.Message(role=_ROLE[message.role], content=content))
    if options.temperature is not None:
        request.temperature = options.temperature
    if options.max_tokens is not None:
        request.max_tokens = options.max_tokens
    if options.reasoning_effort is not None:
        request.reasoning_effort = EFFORTS[options.reasoning_effort]
    if options.schema is not None:
        request.response_format.CopyFrom(
            chat_pb2.ResponseFormat(format_type=chat_pb2.FORMAT_TYPE_JSON_SCHEMA, schema=options.schema)
        )
    if options.inline_citations:
        request.include.append(chat_pb2.INCLUDE_OPTION_INLINE_CITATIONS)
    if options.store:
        request.store_messages = True
    if options.previous_response_id is not None:
        request.previous_response_id = options.previous_response_id
    return request


# -- what comes out ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Token accounting of one answer; `cost_usd` only when the server reports a cost."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_prompt_text_tokens: int = 0
    prompt_image_tokens: int = 0
    total_tokens: int = 0
    server_side_tools_used: int = 0
    cost_usd: float | None = None

    @classmethod
    def from_pb(cls, usage: Any) -> Usage:
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cached_prompt_text_tokens=usage.cached_prompt_text_tokens,
            prompt_image_tokens=usage.prompt_image_tokens,
            total_tokens=usage.total_tokens,
            server_side_tools_used=len(usage.server_side_tools_used),
            cost_usd=usage.cost_in_usd_ticks / USD_TICKS if usage.HasField("cost_in_usd_ticks") else None,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_prompt_text_tokens": self.cached_prompt_text_tokens,
            "prompt_image_tokens": self.prompt_image_tokens,
            "total_tokens": self.total_tokens,
            "server_side_tools_used": self.server_side_tools_used,
        }
        if self.cost_usd is not None:
            data["cost_usd"] = self.cost_usd
        return data


_MARKER = re.compile(r"\[\[[^\]]*\]\]\((?P<url>[^()\s]*)\)")
_PAGE_OF_CHUNK = re.compile(r"(?:^|/)page-(\d+)(?:/|$)")
_PAGE_OF_URL = re.compile(r"(?:^|&)page=(\d+)(?:&|$)")


@dataclass(frozen=True)
class Citation:
    """Where part of an answer came from: a file (id and name) and, for a PDF, the page.

    `number` is the marker's display number ("1" for `[[1]](...)`); None for a source the server
    named without an inline citation. Offsets index the answer's content (the marker, or a value of
    a JSON answer).
    """

    number: str | None
    file_id: str | None = None
    name: str | None = None
    page: int | None = None
    url: str | None = None
    chunk_id: str | None = None
    start_index: int | None = None
    end_index: int | None = None
    score: float | None = None

    def label(self) -> str:
        """`report.pdf, page 2` (the file id when the name is unknown; the URL for a web source)."""
        what = self.name or self.file_id or self.url or "?"
        return f"{what}, page {self.page}" if self.page is not None else what

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.number,
            "file_id": self.file_id,
            "name": self.name,
            "page": self.page,
            "url": self.url,
            "chunk_id": self.chunk_id,
            "start_index": self.start_index,
            "end_index": self.end_index,
            "score": self.score,
        }


def _file_url(url: str) -> tuple[str | None, str | None, int | None]:
    """(file id, name, page) of a `file://FILE_ID/NAME#page=P` citation URL; Nones for other URLs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, None, None
    if parts.scheme != "file":
        return None, None, None
    page = _PAGE_OF_URL.search(parts.fragment)
    name = unquote(parts.path.lstrip("/")) or None
    file_id = parts.netloc if parts.netloc and parts.netloc != "inline" else None
    return file_id, name, int(page.group(1)) if page else None


def citations_from(content: str, inline: Sequence[Any], sources: Sequence[str]) -> tuple[Citation, ...]:
    """The answer's citations: one per InlineCitation (file and page from its marker's URL, its
    chunk id and the named sources), else one per source URL the server listed."""
    names = {}
    for url in sources:
        file_id, name, _ = _file_url(url)
        if file_id and name:
            names[file_id] = name
    if not inline:
        return tuple(_source_citation(url) for url in sources)
    return tuple(_inline_citation(content, citation, names) for citation in inline)


def _source_citation(url: str) -> Citation:
    file_id, name, page = _file_url(url)
    return Citation(None, file_id=file_id, name=name or (None if file_id else url), page=page, url=url)


def _inline_citation(content: str, citation: Any, names: dict[str, str]) -> Citation:
    start, end = citation.start_index, citation.end_index
    marker = _MARKER.fullmatch(content, start, end) if 0 <= start < end <= len(content) else None
    url = marker.group("url") if marker else None
    which = citation.WhichOneof("citation")
    if which in ("web_citation", "x_citation"):
        url = getattr(citation, which).url or url
    file_id, name, page = _file_url(url) if url else (None, None, None)
    chunk_id = score = None
    if which == "collections_citation":
        cited = citation.collections_citation
        file_id = cited.file_id or file_id
        chunk_id, score = cited.chunk_id or None, cited.score
        if page is None and (in_chunk := _PAGE_OF_CHUNK.search(cited.chunk_id)):
            page = int(in_chunk.group(1))
    if which in ("web_citation", "x_citation"):
        name = url
    return Citation(
        citation.id or None,
        file_id=file_id,
        name=name or (names.get(file_id) if file_id else None),
        page=page,
        url=url,
        chunk_id=chunk_id,
        start_index=start,
        end_index=end,
        score=score,
    )


@dataclass(frozen=True)
class ChatReply:
    """The answer: the last assistant output of a completion, with the response's metadata.

    `citations` say where quoted passages came from (see Citation); `sources` are the URLs the
    server listed for the whole response (`file://FILE_ID/NAME` for attached files).
    """

    id: str
    model: str
    content: str
    reasoning_content: str
    # "stop", "max_len", "tool_calls" ...; the number if newer than our protos; None while unfinished
    finish_reason: str | int | None
    usage: Usage
    citations: tuple[Citation, ...] = ()
    sources: tuple[str, ...] = ()
    system_fingerprint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "content": self.content,
            "reasoning_content": self.reasoning_content,
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_json(),
            "citations": [citation.to_json() for citation in self.citations],
            "sources": list(self.sources),
            "system_fingerprint": self.system_fingerprint,
        }


def _finish_name(value: int) -> str | int | None:
    if value == sample_pb2.REASON_INVALID:
        return None
    return enum_label(sample_pb2.FinishReason, value, prefix="REASON_")


def reply_from_response(response: chat_pb2.GetChatCompletionResponse) -> ChatReply:
    """A ChatReply from a unary response: its last assistant output."""
    answers = [o for o in response.outputs if o.message.role == chat_pb2.ROLE_ASSISTANT]
    last = answers[-1] if answers else chat_pb2.CompletionOutput()
    content = last.message.content
    return ChatReply(
        id=response.id,
        model=response.model,
        content=content,
        reasoning_content=last.message.reasoning_content,
        finish_reason=_finish_name(last.finish_reason),
        usage=Usage.from_pb(response.usage),
        citations=citations_from(content, last.message.citations, response.citations),
        sources=tuple(response.citations),
        system_fingerprint=response.system_fingerprint,
    )


@dataclass
class _Output:
    role: int = 0
    finish_reason: int = 0
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    citations: list[Any] = field(default_factory=list)


class ChunkAccumulator:
    """Folds GetChatCompletionChunk messages into one reply, by the official client's rules."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.system_fingerprint = ""
        self.usage: Any = None
        self.citations: list[str] = []
        self.outputs: dict[int, _Output] = {}
        self.chunks = 0

    def add(self, chunk: chat_pb2.GetChatCompletionChunk) -> list[tuple[int, str, str]]:
        """Fold one chunk in; returns the (index, content, reasoning) pieces of assistant outputs."""
        self.chunks += 1
        self.id, self.model, self.system_fingerprint = chunk.id, chunk.model, chunk.system_fingerprint
        if chunk.HasField("usage"):
            self.usage = chunk.usage
        self.citations.extend(chunk.citations)
        pieces = []
        for part in chunk.outputs:
            output = self.outputs.setdefault(part.index, _Output())
            output.role = part.delta.role
            output.finish_reason = part.finish_reason
            if part.delta.content:
                output.content.append(part.delta.content)
            if part.delta.reasoning_content:
                output.reasoning.append(part.delta.reasoning_content)
            output.citations.extend(part.delta.citations)
            if output.role == chat_pb2.ROLE_ASSISTANT and (
                part.delta.content or part.delta.reasoning_content
            ):
                pieces.append((part.index, part.delta.content, part.delta.reasoning_content))
        return pieces

    def reply(self) -> ChatReply:
        """The reply so far (complete once the stream has ended)."""
        answers = [o for _, o in sorted(self.outputs.items()) if o.role == chat_pb2.ROLE_ASSISTANT]
        last = answers[-1] if answers else _Output()
        content = "".join(last.content)
        return ChatReply(
            id=self.id,
            model=self.model,
            content=content,
            reasoning_content="".join(last.reasoning),
            finish_reason=_finish_name(last.finish_reason),
            usage=Usage.from_pb(self.usage) if self.usage is not None else Usage(),
            citations=citations_from(content, last.citations, self.citations),
            sources=tuple(self.citations),
            system_fingerprint=self.system_fingerprint,
        )


# -- the client -------------------------------------------------------------------------------------


class AnswerCutOff(XaiError):
    """The stream broke after part of the answer arrived; `partial` holds that part.

    Exit code and status are the underlying failure's (UNAVAILABLE -> 6, INTERNAL -> 1 ...).
    """

    def __init__(self, cause: XaiError, partial: ChatReply) -> None:
        super().__init__(cause.message, status=cause.status, hint=cause.hint)
        self.exit_code = cause.exit_code
        self.retryable = cause.retryable
        self.partial = partial


OnText = Callable[[str, str], None]  # (content piece, reasoning piece) as they arrive


class ChatClient:
    """Blocking client for `xai_api.Chat` over one channel."""

    def __init__(self, channel: grpc.Channel, *, timeout: float | None = None) -> None:
        self._stub = chat_pb2_grpc.ChatStub(channel)
        self._timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self._target = target_of(channel)

    def _error(self, error: grpc.RpcError, operation: str) -> XaiError:
        return rpc.error_from_rpc(error, operation, target=self._target, timeout=self._timeout)

    def complete(self, messages: Sequence[Message], options: ChatOptions) -> ChatReply:
        """One unary GetCompletion call."""
        request = build_request(messages, options)
        try:
            response = self._stub.GetCompletion(request, timeout=self._timeout)
        except grpc.RpcError as error:
            raise self._error(error, "chat") from error
        return reply_from_response(response)

    def stream(self, messages: Sequence[Message], options: ChatOptions, on_text: OnText) -> ChatReply:
        """Stream one answer, calling `on_text` for every piece of assistant text as it arrives.

        Raises:
            AnswerCutOff: the stream broke after the first chunk; `.partial` holds what had arrived.
            XaiError: the call failed before any answer arrived.
        """
        request = build_request(messages, options)
        accumulator = ChunkAccumulator()
        call = self._stub.GetCompletionChunk(request, timeout=self._timeout)
        try:
            for chunk in call:
                for _, content, reasoning in accumulator.add(chunk):
                    on_text(content, reasoning)
        except grpc.RpcError as error:
            if not accumulator.chunks:
                raise self._error(error, "chat") from error
            partial = accumulator.reply()
            cause = self._error(error, f"chat: answer cut off after {len(partial.content)} characters")
            raise AnswerCutOff(cause, partial) from error
        except BaseException:
            call.cancel()  # Ctrl-C or a failing callback: tell the server to stop generating
            raise
        return accumulator.reply()

    def delete_stored(self, response_id: str) -> bool:
        """Delete a stored response (DeleteStoredCompletion); False when the server has none by that id."""
        request = chat_pb2.DeleteStoredCompletionRequest(response_id=response_id)
        try:
            self._stub.DeleteStoredCompletion(request, timeout=self._timeout)
        except grpc.RpcError as error:
            if rpc.is_not_found(error):
                return False
            raise self._error(error, f"delete stored response {response_id}") from error
        return True
