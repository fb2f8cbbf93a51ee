"""The local server's answer engine: honest, deterministic retrieval over attached files.

It is not a language model and says so. For a question it splits each attached file into passages
(never across a PDF page break), ranks them with BM25 against the question's words (stop-words
removed, light stemming) and answers by quoting the best passages, file by file. The same input
always gives the same answer.

Every quoted passage is a citation: the answer names the cited files (`Answer.sources`, one
`file://` URL each) and, when inline citations are asked for, ends each quote with a Markdown
marker `[[N]](URL)` whose position, passage and page are in `Answer.citations`. Citation URLs are
`file://FILE_ID/NAME` (`file://inline/NAME` for bytes sent inline), with `#page=P` for a PDF page;
chunk ids are `page-P/passage-N` for PDFs and `passage-N` otherwise (N counts passages from 1).

With a JSON response format the answer is one JSON value instead, filled by extraction
(`structured.py`), and the reasoning content says so.

Speed matters (a 2 MB file answers in tens of milliseconds): a file is indexed once (`index_document`,
cached by the servicer), and scoring finds each query stem with `str.find` over the lower-cased
text, so the cost is linear in the file size and only candidate words are looked at in Python.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import quote

ENGINE_NAME = "xai-local-retrieval-v1"

TARGET_PASSAGE_CHARS = 480  # a passage grows line by line up to about this size
MAX_LINE_CHARS = 800  # longer lines are cut into pieces at sentence or word boundaries
MAX_HITS = 4  # passages quoted per answer, all files together
MAX_HITS_PER_FILE = 3
MIN_RELATIVE_SCORE = 0.25  # a passage must score at least this fraction of the best one
IMAGE_TOKENS = 256  # what one image part costs in the prompt (it is counted, never looked at)
MESSAGE_OVERHEAD_TOKENS = 4
_BM25_K1 = 1.2
_BM25_B = 0.75

_WORD = re.compile(r"\w+")
_WORD_TAIL = re.compile(r"\w*")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")

_STOP_TEXT = """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me
more most my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves please tell show give find list explain
describe summarise summarize summary review compare say says said mention mentions mentioned
file files document documents attached attachment text question answer know want need let us
also any anything something thing things much many ok okay hi hello thanks thank
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())  # words that never decide which passage is relevant
_STOP_CHECK_EVERY = 4096  # candidate words scanned between two should_stop() polls


class Stopped(Exception):
    """The caller's `should_stop()` turned true while ranking (the client went away)."""


def _never() -> bool:
    return False


# -- tokens -------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """A rough but consistent token estimate: one token per four characters, at least one."""
    return (len(text) + 3) // 4 if text else 0


def conversation_tokens(turns: list[Turn]) -> int:
    """The prompt tokens of the messages themselves (text, per-message overhead, images)."""
    return sum(count_tokens(t.text) + MESSAGE_OVERHEAD_TOKENS + t.images * IMAGE_TOKENS for t in turns)


def stem(word: str) -> str:
    """Light suffix stripping so that "risks", "risky" and "risk" meet; input must be lower-case."""
    for suffix in ("ingly", "edly", "ing", "ies", "ed", "es", "ly", "s"):
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        if suffix == "ies":
            return word[:-3] + "y"
        if suffix == "es" and not word.endswith(("ses", "xes", "zes", "ches", "shes")):
            continue  # "notes" loses only its s
        if suffix == "s" and word.endswith("ss"):
            break
        word = word[: -len(suffix)]
        break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def query_terms(text: str) -> dict[str, str]:
    """The searchable words of a question: {stem: the word as first written}, in first-seen order."""
    terms: dict[str, str] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) >= 2 and word not in STOP_WORDS:
            terms.setdefault(stem(word), word)
    return terms


# -- documents and their index -------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A span of a document's text; `header` is repeated for table rows (CSV/TSV)."""

    start: int
    end: int
    words: int
    header: str = ""


@dataclass
class DocumentIndex:
    """A document split into passages; `lowered` has the same length as `text` (offsets agree).

    `page_starts` holds the offset in `text` where each page begins (PDFs only; empty otherwise).
    """

    name: str
    text: str
    lowered: str
    passages: list[Passage]
    page_starts: tuple[int, ...] = ()

    def passage_text(self, passage: Passage) -> str:
        body = self.text[passage.start : passage.end].strip()
        return f"{passage.header}\n{body}" if passage.header else body

    def page_of(self, passage: int) -> int | None:
        """The 1-based page the passage numbered `passage` (from 0) is on, or None without pages."""
        if not self.page_starts:
            return None
        return max(bisect.bisect_right(self.page_starts, self.passages[passage].start), 1)

    def chunk_id(self, passage: int) -> str:
        """The passage's id in citations: `page-P/passage-N` for PDFs, else `passage-N`."""
        page = self.page_of(passage)
        return f"passage-{passage + 1}" if page is None else f"page-{page}/passage-{passage + 1}"

    def where(self, passage: int) -> str:
        """How answers and tool output name a passage: "passage N", with "(page P)" for PDFs."""
        page = self.page_of(passage)
        return f"passage {passage + 1}" + (f" (page {page})" if page is not None else "")


def index_document(name: str, text: str, page_starts: tuple[int, ...] = ()) -> DocumentIndex:
    """Split a document into passages once; the result is reused for every question about it.

    With `page_starts` (a PDF's page offsets), each page is split on its own, so that no passage
    runs across a page break and every passage has one page.
    """
    tabular = name.lower().endswith((".csv", ".tsv"))
    if tabular:
        passages = list(_split_table(text))
    elif page_starts:
        ends = [*(start - 1 for start in page_starts[1:]), len(text)]
        pages = zip(page_starts, ends, strict=True)
        passages = [passage for start, end in pages for passage in _split_prose(text, start, end)]
    else:
        passages = list(_split_prose(text))
    return DocumentIndex(
        name=name,
        text=text,
        lowered=_lower_same_length(text),
        passages=passages,
        page_starts=tuple(page_starts),
    )


def _lower_same_length(text: str) -> str:
    """`text.lower()`, unless that changes the length (capital dotted I does): then char by char."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def _lines(text: str, first: int = 0, last: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of every line of `text[first:last]`, end excluding the newline."""
    start = first
    for line in (text if first == 0 and last is None else text[first:last]).split("\n"):
        end = start + len(line)
        yield start, end
        start = end + 1


def _split_prose(text: str, first: int = 0, last: int | None = None) -> Iterator[Passage]:
    """Paragraphs (blank-line separated) of `text[first:last]`, cut into windows of about
    TARGET_PASSAGE_CHARS."""
    window_start: int | None = None
    window_end = 0
    for start, end in _lines(text, first, last):
        if start == end or text[start:end].isspace():
            if window_start is not None:
                yield _passage(text, window_start, window_end)
                window_start = None
            continue
        if end - start > MAX_LINE_CHARS:
            if window_start is not None:
                yield _passage(text, window_start, window_end)
                window_start = None
            yield from _split_long_line(text, start, end)
            continue
        if window_start is None:
            window_start = start
        elif end - window_start > TARGET_PASSAGE_CHARS:
            yield _passage(text, window_start, window_end)
            window_start = start
        window_end = end
    if window_start is not None:
        yield _passage(text, window_start, window_end)


def _split_long_line(text: str, start: int, end: int) -> Iterator[Passage]:
    """Cut one very long line at sentence ends, else at spaces, into pieces of about the target size."""
    piece_start = start
    while end - piece_start > MAX_LINE_CHARS:
        limit = piece_start + TARGET_PASSAGE_CHARS
        cut = -1
        for match in _SENTENCE_END.finditer(text, piece_start + TARGET_PASSAGE_CHARS // 2, limit):
            cut = match.end()
        if cut <= piece_start:
            cut = text.rfind(" ", piece_start + 1, limit) + 1
        if cut <= piece_start:
            cut = limit
        yield _passage(text, piece_start, cut)
        piece_start = cut
    if piece_start < end:
        yield _passage(text, piece_start, end)


def _split_table(text: str) -> Iterator[Passage]:
    """Rows of a CSV/TSV file in windows, each quoted under the header row."""
    lines = iter(_lines(text))
    header = ""
    for start, end in lines:
        if text[start:end].strip():
            header = text[start:end].strip()
            yield _passage(text, start, end)
            break
    window_start: int | None = None
    window_end = 0
    for start, end in lines:
        if not text[start:end].strip():
            continue
        if window_start is None:
            window_start = start
        elif end - window_start > TARGET_PASSAGE_CHARS:
            yield _passage(text, window_start, window_end, header)
            window_start = start
        window_end = end
    if window_start is not None:
        yield _passage(text, window_start, window_end, header)


def _passage(text: str, start: int, end: int, header: str = "") -> Passage:
    return Passage(start=start, end=end, words=len(text[start:end].split()), header=header)


# -- ranking ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """A passage chosen for the answer."""

    document: int  # position of the document in the request
    passage: int  # position of the passage in its document
    score: float
    text: str


def rank(
    documents: list[DocumentIndex], terms: list[str], should_stop: Callable[[], bool] = _never
) -> list[Hit]:
    """BM25 over the passages of all documents; returns every passage that matched, best first.

    `should_stop()` is polled while scanning (every few thousand candidate words); when it turns
    true, Stopped is raised.
    """
    if not terms:
        return []
    frequencies: dict[tuple[int, int], Counter[str]] = {}
    for d, doc in enumerate(documents):
        for p, counts in _term_counts(doc, terms, should_stop).items():
            frequencies[(d, p)] = counts
    total = sum(len(doc.passages) for doc in documents)
    if total == 0 or not frequencies:
        return []
    average = sum(p.words for doc in documents for p in doc.passages) / total or 1.0
    df = Counter(term for counts in frequencies.values() for term in counts)
    idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in df.items()}
    hits = []
    for (d, p), counts in frequencies.items():
        passage = documents[d].passages[p]
        norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * passage.words / average)
        score = sum(idf[t] * tf * (_BM25_K1 + 1) / (tf + norm) for t, tf in counts.items())
        hits.append(Hit(d, p, round(score, 4), documents[d].passage_text(passage)))
    hits.sort(key=lambda h: (-h.score, h.document, h.passage))
    return hits


def _term_counts(
    doc: DocumentIndex, terms: list[str], should_stop: Callable[[], bool] = _never
) -> dict[int, Counter[str]]:
    """{passage number: {term: count}} for the passages holding words whose stem is in `terms`.

    Every word with a given stem starts with that stem (minus a final y: "policies"), so `str.find`
    of the stem (C speed) finds every candidate; only candidates are looked at in Python.
    """
    wanted = set(terms)
    text, passages = doc.lowered, doc.passages
    counts: dict[int, Counter[str]] = {}
    stems: dict[str, str] = {}
    seen = 0
    for prefix in {t[:-1] if t.endswith("y") and len(t) > 3 else t for t in terms}:
        p = 0  # occurrences come in text order, so the passage pointer only moves forward
        at = text.find(prefix)
        while at >= 0:
            seen += 1
            if seen % _STOP_CHECK_EVERY == 0 and should_stop():
                raise Stopped
            if at and (text[at - 1].isalnum() or text[at - 1] == "_"):  # inside a word
                at = text.find(prefix, at + 1)
                continue
            end = _WORD_TAIL.match(text, at + len(prefix)).end()  # type: ignore[union-attr]
            word = text[at:end]
            stemmed = stems.get(word)
            if stemmed is None:
                stemmed = stems[word] = stem(word)
            if stemmed in wanted:
                while p + 1 < len(passages) and passages[p + 1].start <= at:
                    p += 1
                if passages and passages[p].start <= at < passages[p].end:
                    counts.setdefault(p, Counter())[stemmed] += 1
            at = text.find(prefix, end)
    return counts


def select(hits: list[Hit], *, exclude: set[str] | None = None) -> list[Hit]:
    """The passages worth quoting: the best few, a few per file at most, none quoted before."""
    chosen: list[Hit] = []
    per_file: Counter[int] = Counter()
    best = None
    for hit in hits:
        if exclude and hit.text in exclude:
            continue
        best = best if best is not None else hit.score
        if hit.score < best * MIN_RELATIVE_SCORE or per_file[hit.document] >= MAX_HITS_PER_FILE:
            continue
        chosen.append(hit)
        per_file[hit.document] += 1
        if len(chosen) == MAX_HITS:
            break
    return chosen


# -- answering --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One message of the conversation, reduced to what the engine reads."""

    role: str  # "user", "assistant", "system", "tool"
    text: str
    images: int = 0


@dataclass(frozen=True)
class Attachment:
    """An attached file, indexed; `cached` when the server had already read it for an earlier request.

    `file_id` is the Files API id it was attached by ("" for bytes sent inline).
    """

    index: DocumentIndex
    cached: bool = False
    file_id: str = ""

    def url(self, page: int | None = None) -> str:
        """The file's citation URL, `file://FILE_ID/NAME`, with `#page=P` for a page of a PDF."""
        url = f"file://{self.file_id or 'inline'}/{quote(self.index.name, safe='')}"
        return url if page is None else f"{url}#page={page}"


@dataclass(frozen=True)
class Citation:
    """One cited passage: where its marker (or cited value) is in the content, and what it cites."""

    number: int  # the N of the marker [[N]], from 1
    start: int  # content offset of the marker's "[" (or of the cited JSON value)
    end: int  # content offset just past it
    document: int
    hit: Hit
    file_id: str  # "" for bytes sent inline
    chunk_id: str
    page: int | None
    url: str


@dataclass
class Answer:
    """What the engine says, how it got there, and what it cost in (estimated) tokens."""

    content: str
    reasoning: str
    truncated: bool
    hits: list[Hit]
    terms: list[str]  # the searched words, as the user wrote them
    searched: bool
    prompt_tokens: int
    cached_prompt_tokens: int
    image_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    search_summary: str = ""
    content_pieces: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)  # inline, when asked for
    sources: list[str] = field(default_factory=list)  # URLs of the cited files, in request order


def answer(
    turns: list[Turn],
    attachments: list[Attachment],
    *,
    max_tokens: int | None = None,
    reasoning: bool = False,
    stop: list[str] | None = None,
    should_stop: Callable[[], bool] = _never,
    inline_citations: bool = False,
) -> Answer:
    """Answer the last user turn from the attachments; deterministic for the same input.

    Args:
        turns: the conversation, oldest first; the last user turn is the question.
        attachments: the files attached anywhere in the conversation.
        max_tokens: cut the answer at about this many tokens (then `truncated` is set).
        reasoning: also describe how the answer was found, as reasoning content.
        stop: end the answer before the first of these strings.
        should_stop: polled while ranking; raises Stopped when it turns true (the client left).
        inline_citations: end every quote with a `[[N]](URL)` marker, listed in `citations`.
    """
    terms, exclude = search_terms(turns)
    documents = [a.index for a in attachments]
    ranked = rank(documents, list(terms), should_stop) if documents else []
    hits = select(ranked, exclude=exclude)
    words = list(terms.values())
    citations: list[Citation] = []
    if exclude and not hits and ranked:
        content = f"That is all: nothing else in {_names(documents)} matches {_quoted(words)}.\n"
    else:
        content, citations = _compose(attachments, words, hits, inline_citations)
    return finish(
        turns,
        attachments,
        content,
        hits=hits,
        terms=words,
        citations=citations,
        reasoning=_reasoning(documents, words, hits) if reasoning else "",
        search_summary=_search_summary(documents, words, hits) if documents else "",
        max_tokens=max_tokens,
        stop=stop,
    )


def search_terms(turns: list[Turn]) -> tuple[dict[str, str], set[str]]:
    """The words to search for ({stem: word}) and the passages not to quote again.

    Normally the last user turn's words; for a question without any ("Tell me more"), the earlier
    questions' words, skipping what the assistant already quoted.
    """
    question = next((t.text for t in reversed(turns) if t.role == "user"), "")
    terms = query_terms(question)
    if terms:
        return terms, set()
    earlier = " ".join(t.text for t in turns[:-1] if t.role == "user")
    terms = query_terms(earlier)
    return terms, (_quoted_before(turns) if terms else set())


def finish(
    turns: list[Turn],
    attachments: list[Attachment],
    content: str,
    *,
    hits: list[Hit],
    terms: list[str],
    citations: list[Citation],
    reasoning: str,
    search_summary: str,
    max_tokens: int | None,
    stop: list[str] | None,
) -> Answer:
    """The Answer for `content`: cut at a stop string or `max_tokens`, with its token counts.

    Citations whose marker was cut off are dropped; `sources` names every file a hit came from.
    """
    cuts = [at for at in (content.find(s) for s in stop or () if s) if at >= 0]
    if cuts:
        content = content[: min(cuts)]
    truncated = False
    if max_tokens is not None and count_tokens(content) > max_tokens:
        content = _truncate(content, max_tokens * 4)
        truncated = True
    images = sum(t.images for t in turns)
    file_tokens = [count_tokens(a.index.text) for a in attachments]
    cached = sum(n for n, a in zip(file_tokens, attachments, strict=True) if a.cached)
    cited = sorted({hit.document for hit in hits})
    return Answer(
        content=content,
        reasoning=reasoning,
        truncated=truncated,
        hits=hits,
        terms=terms,
        searched=bool(attachments),
        prompt_tokens=conversation_tokens(turns) + sum(file_tokens),
        cached_prompt_tokens=cached,
        image_tokens=images * IMAGE_TOKENS,
        completion_tokens=count_tokens(content),
        reasoning_tokens=count_tokens(reasoning),
        search_summary=search_summary,
        content_pieces=split_for_streaming(content),
        citations=[c for c in citations if c.end <= len(content)],
        sources=[attachments[d].url() for d in cited],
    )


def cite(attachments: list[Attachment], hit: Hit, number: int, start: int, end: int) -> Citation:
    """The citation numbered `number` of `hit`, found at content[start:end]."""
    document = attachments[hit.document]
    page = document.index.page_of(hit.passage)
    return Citation(
        number=number,
        start=start,
        end=end,
        document=hit.document,
        hit=hit,
        file_id=document.file_id,
        chunk_id=document.index.chunk_id(hit.passage),
        page=page,
        url=document.url(page),
    )


_MARKER_AT_END = re.compile(r" \[\[\d+\]\]\([^)\s]*\)$")


def _quoted_before(turns: list[Turn]) -> set[str]:
    """Passages the assistant already quoted in this conversation (lines starting with "> ")."""
    quoted: set[str] = set()
    for turn in turns:
        if turn.role != "assistant":
            continue
        for block in turn.text.split("\n\n"):
            lines = [line[2:] for line in block.split("\n") if line.startswith("> ")]
            if lines:
                quoted.add(_MARKER_AT_END.sub("", "\n".join(lines)))
    return quoted


class _Writer:
    """Text built piece by piece, knowing its length (for citation offsets)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _compose(
    attachments: list[Attachment], terms: list[str], hits: list[Hit], inline_citations: bool
) -> tuple[str, list[Citation]]:
    documents = [a.index for a in attachments]
    if not documents:
        return (
            f"I am the local retrieval engine ({ENGINE_NAME}), not a language model: I answer only by "
            "quoting files attached to the question, and this question came without any. Attach one "
            "(`xai chat --file PATH`, or `file(id)` in the SDK) and ask again."
        ), []
    names = _names(documents)
    if all(not doc.text.strip() for doc in documents):
        return f"{names} contain{'s' if len(documents) == 1 else ''} no text to quote ({ENGINE_NAME}).", []
    if not terms:
        return _openings(documents), []
    if not hits:
        return (
            f"Nothing in {names} matches {_quoted(terms)}. I only quote the attached files "
            f"({ENGINE_NAME}, a local retrieval engine, not a language model), so I have no answer."
        ), []
    out = _Writer()
    citations: list[Citation] = []
    for d, doc in enumerate(documents):
        quoted = [h for h in hits if h.document == d]
        if not quoted:
            continue
        out.write(f"From {doc.name}:\n")
        for number, hit in enumerate(quoted):
            out.write(("\n\n" if number else "") + _quote(hit.text))
            if inline_citations:
                citation = cite(attachments, hit, len(citations) + 1, out.length + 1, 0)
                marker = f" [[{citation.number}]]({citation.url})"
                citations.append(replace(citation, end=out.length + len(marker)))
                out.write(marker)
        out.write("\n\n")
    total = sum(len(doc.passages) for doc in documents)
    out.write(
        f"(Quoted {len(hits)} of {total} passages, ranked for {_quoted(terms)} by {ENGINE_NAME}, "
        "a local retrieval engine, not a language model.)\n"
    )
    return out.text(), citations


def _openings(documents: list[DocumentIndex]) -> str:
    """No words to search for ("Summarise this"): show how each file begins."""
    parts = ["The question has no words to search for, so here is how each file begins."]
    for doc in documents:
        if doc.passages:
            parts.append(f"From {doc.name}:\n" + _quote(doc.passage_text(doc.passages[0])))
        else:
            parts.append(f"{doc.name} contains no text.")
    parts.append(f"({ENGINE_NAME}: a local retrieval engine, not a language model.)")
    return "\n\n".join(parts) + "\n"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))


def _quoted(words: list[str]) -> str:
    return ", ".join(f'"{word}"' for word in words)


def _names(documents: list[DocumentIndex]) -> str:
    names = [doc.name for doc in documents]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _search_summary(documents: list[DocumentIndex], terms: list[str], hits: list[Hit]) -> str:
    """What the attachment_search tool found, as its output text."""
    lines = [f"searched {len(documents)} file(s) for: {', '.join(terms) or '(no search words)'}"]
    for hit in hits:
        document = documents[hit.document]
        lines.append(f"{document.name} {document.where(hit.passage)}: score {hit.score:.2f}")
    return "\n".join(lines)


def _reasoning(documents: list[DocumentIndex], terms: list[str], hits: list[Hit]) -> str:
    if not documents:
        return "No files are attached, so there is nothing to search."
    total = sum(len(doc.passages) for doc in documents)
    trace = f"Split {_names(documents)} into {total} passages and ranked them with BM25"
    trace += f" for: {', '.join(terms)}." if terms else "; the question has no words to search for."
    if hits:
        best = hits[0]
        document = documents[best.document]
        trace += f" Best match: {document.name} {document.where(best.passage)}"
        trace += f" (score {best.score:.2f})."
    return trace


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit]


def split_for_streaming(text: str) -> list[str]:
    """Stream pieces: one per line, long lines cut after sentences; joined they give `text` back."""
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):
        if len(line) <= 160:
            pieces.append(line)
            continue
        last = 0
        for match in _SENTENCE_END.finditer(line):
            if match.end() - last >= 80:
                pieces.append(line[last : match.end()])
                last = match.end()
        pieces.append(line[last:])
    return [p for p in pieces if p]
