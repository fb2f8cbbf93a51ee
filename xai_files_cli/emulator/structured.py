"""Structured output of the local engine: one JSON value for a response format, filled by extraction.

The engine generates nothing, so a JSON schema is answered by walking it and copying each value
from the attached files. For every property, the words of its name (snake_case and camelCase are
split), title and description are ranked against the passages with the engine's BM25 (the words
of the enclosing property help the ranking), and a value of the property's type is taken from the
best passages, next to one of the property's own words:

* number, integer: the first number after the word on its line (else the closest one before it,
  else the first on the next line), thousands separators allowed, within minimum, maximum and
  multipleOf;
* string: the value of a `Label: value` line, else the sentence holding the word (cut to
  maxLength); with a format (date, time, date-time, email, uuid, ipv4) the first such value in the
  passage, dates as ISO 8601 ("15 March 2026" gives 2026-03-15; a time or date-time without an
  offset is given one of Z);
* boolean: true where the word is mentioned, false when a negation ("no", "not", ...) is in the
  same sentence;
* enum: the first allowed value the best passages mention; const: the constant;
* array of scalars: such values from several passages (unique, up to maxItems or 4); array of
  objects: one object per best-matching passage, filled from that passage alone (a property whose
  words are not in it is anchored at the array's words);
* object: property by property.

When nothing fits: null where the schema allows it; an optional property is left out; a required
one gets its type's plain value ("" / 0 / false / [] / {}, moved into its bounds; a placeholder such
as 1970-01-01 for a format). The same files and schema always give the same JSON. Work is bounded:
at most 48 different searches (each scans the files once; fields with the same words share one)
and 2,000 values per answer; fields past that find nothing.

The schema subset is the real API's: type (or a list of types), properties, required, items, enum,
const, anyOf/oneOf, allOf, $ref into the schema (not circular), format, minimum/maximum (also
exclusive), multipleOf, minLength/maxLength, pattern, minItems/maxItems, uniqueItems. A schema that
is not a JSON object, or has a circular or dangling $ref, is refused (SchemaError). A JSON_OBJECT
response format (any object) gets the passages that best match the question.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from xai_files_cli.emulator import chat_engine, value_extract
from xai_files_cli.emulator.chat_engine import Attachment, Hit, Turn

MAX_SCHEMA_CHARS = 100_000
MAX_SCHEMA_DEPTH = 64  # JSON objects and arrays nested in a schema, $refs followed
MAX_VALUES = 2_000  # values filled per answer; past that, fields get their plain value
DEFAULT_MAX_ITEMS = 4
MAX_ITEMS = 20
CANDIDATE_HITS = 8  # best passages looked at for one value
MAX_RANKINGS = 48  # different searches (field word sets) per answer: each scans every file once
NOTE = (
    f"Extractive JSON from {chat_engine.ENGINE_NAME}, a local retrieval engine, not a language model: "
    "every value was copied from the attached files (the passage that best matches the field's name), "
    "nothing was generated; null, or a required field's plain value, where nothing fits."
)

JsonPath = tuple[str | int, ...]


def _never() -> bool:
    return False


class SchemaError(ValueError):
    """The response format's schema cannot be used; the message says why."""


class _Missing:
    """Nothing in the files fits a value."""


MISSING = _Missing()


@dataclass(frozen=True)
class JsonFormat:
    """A JSON response format: `schema` for FORMAT_TYPE_JSON_SCHEMA, None for any JSON object."""

    schema: dict[str, Any] | None = None


def parse_schema(text: str) -> dict[str, Any]:
    """The schema of a response format, checked: a JSON object whose $refs all resolve, none circular."""
    if len(text) > MAX_SCHEMA_CHARS:
        raise SchemaError(
            f"the JSON schema is {len(text)} characters; the local server takes {MAX_SCHEMA_CHARS}"
        )
    try:
        schema = json.loads(text)
    except RecursionError:
        raise SchemaError(f"the JSON schema nests deeper than {MAX_SCHEMA_DEPTH} levels") from None
    except ValueError as error:
        raise SchemaError(f"the JSON schema is not valid JSON: {error}") from None
    if not isinstance(schema, dict):
        raise SchemaError("the JSON schema must be a JSON object")
    _check_refs(schema, schema, (), set(), 0)
    return schema


def _check_refs(
    root: dict[str, Any], node: Any, stack: tuple[str, ...], checked: set[str], depth: int
) -> None:
    """Follow every $ref below `node`: each must resolve inside the schema and none may lead back;
    nothing may nest deeper than MAX_SCHEMA_DEPTH."""
    if not isinstance(node, (dict, list)):
        return
    if depth > MAX_SCHEMA_DEPTH:
        raise SchemaError(f"the JSON schema nests deeper than {MAX_SCHEMA_DEPTH} levels")
    if isinstance(node, list):
        for item in node:
            _check_refs(root, item, stack, checked, depth + 1)
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in stack:
            raise SchemaError(f"the JSON schema has a circular $ref ({ref}); only non-circular ones work")
        if ref not in checked:
            _check_refs(root, _pointer(root, ref), (*stack, ref), checked, depth + 1)
            checked.add(ref)
    for key, value in node.items():
        if key not in ("$ref", "const", "enum", "default", "examples"):
            _check_refs(root, value, stack, checked, depth + 1)


def _pointer(root: dict[str, Any], ref: str) -> Any:
    """The part of `root` a local $ref ("#/$defs/Name") points at."""
    if not ref.startswith("#"):
        raise SchemaError(f"the JSON schema's $ref {ref!r} is not local; only refs inside the schema work")
    node: Any = root
    for raw in ref[1:].split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise SchemaError(f"the JSON schema's $ref {ref!r} points at nothing")
    return node


# -- answering -------------------------------------------------------------------------------------


def answer_json(
    turns: list[Turn],
    attachments: list[Attachment],
    response_format: JsonFormat,
    *,
    max_tokens: int | None = None,
    reasoning: bool = False,
    stop: list[str] | None = None,
    should_stop: Callable[[], bool] = _never,
    inline_citations: bool = False,
) -> chat_engine.Answer:
    """Answer with one JSON value: the schema filled from the files, or the best passages as an object.

    The reasoning content is the engine note (the value is extractive) and where each value came
    from; with `inline_citations`, each value taken from a passage is a citation of that passage
    (its offsets span the value's JSON text; no marker is added, so the content stays JSON).
    """
    terms, _ = chat_engine.search_terms(turns)
    documents = [a.index for a in attachments]
    if response_format.schema is None:
        ranked = chat_engine.rank(documents, list(terms), should_stop) if documents else []
        value, sources = _passages_object(attachments, list(terms.values()), chat_engine.select(ranked))
    else:
        filler = _Filler(response_format.schema, attachments, terms, should_stop)
        value = filler.fill()
        sources = filler.sources
    text, spans = dump(value, {path for path, _ in sources})
    sources = [(path, hit) for path, hit in sources if path in spans]
    citations = [
        chat_engine.cite(attachments, hit, number, *spans[path])
        for number, (path, hit) in enumerate(sources, start=1)
    ]
    provenance = "\n".join(
        f"{_show(path)}: {documents[hit.document].name} {documents[hit.document].where(hit.passage)}"
        for path, hit in sources
    )
    summary = f"searched {len(documents)} file(s) for a JSON value\n{provenance}".rstrip()
    return chat_engine.finish(
        turns,
        attachments,
        text + "\n",
        hits=[hit for _, hit in sources],
        terms=list(terms.values()),
        citations=citations if inline_citations else [],
        reasoning=NOTE + (f"\n{provenance}" if reasoning and provenance else ""),
        search_summary=summary if documents else "",
        max_tokens=max_tokens,
        stop=stop,
    )


def _show(path: JsonPath) -> str:
    return "/".join(str(part) for part in path) or "(value)"


def _passages_object(
    attachments: list[Attachment], terms: list[str], hits: list[Hit]
) -> tuple[dict[str, Any], list[tuple[JsonPath, Hit]]]:
    """The JSON_OBJECT answer: the question's words and the passages that match them best."""
    passages = []
    sources: list[tuple[JsonPath, Hit]] = []
    for number, hit in enumerate(hits):
        index = attachments[hit.document].index
        passages.append(
            {
                "file": index.name,
                "page": index.page_of(hit.passage),
                "passage": hit.passage + 1,
                "score": hit.score,
                "text": hit.text,
            }
        )
        sources.append((("passages", number, "text"), hit))
    value = {
        "searched_for": terms,
        "passages": passages,
        "engine": chat_engine.ENGINE_NAME,
        "extractive": True,
    }
    return value, sources


# -- JSON text with the offsets of chosen values ------------------------------------------------------


def dump(value: Any, paths: set[JsonPath]) -> tuple[str, dict[JsonPath, tuple[int, int]]]:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, and where the values at `paths` are in it."""
    parts: list[str] = []
    spans: dict[JsonPath, tuple[int, int]] = {}
    length = 0

    def write(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += len(text)

    def emit(item: Any, path: JsonPath, depth: int) -> None:
        pad = "  " * (depth + 1)
        if isinstance(item, dict) and item:
            write("{\n")
            for number, (key, child) in enumerate(item.items()):
                write(("," + "\n" if number else "") + pad + json.dumps(key, ensure_ascii=False) + ": ")
                emit(child, (*path, key), depth + 1)
            write("\n" + "  " * depth + "}")
        elif isinstance(item, list) and item:
            write("[\n")
            for number, child in enumerate(item):
                write(("," + "\n" if number else "") + pad)
                emit(child, (*path, number), depth + 1)
            write("\n" + "  " * depth + "]")
        else:
            start = length
            write(json.dumps(item, ensure_ascii=False))
            if path in paths:
                spans[path] = (start, length)

    emit(value, (), 0)
    return "".join(parts), spans


# -- filling a schema --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Terms:
    """The words of a value: its own ({stem: word}) and those of the value around it."""

    own: dict[str, str]
    parent: dict[str, str] = field(default_factory=dict)

    def ranking(self) -> list[str]:
        return [*self.own, *(s for s in self.parent if s not in self.own)]


class _Filler:
    """Fills one schema from the attachments; `sources` lists (path, passage) of every copied value."""

    def __init__(
        self,
        schema: dict[str, Any],
        attachments: list[Attachment],
        question: dict[str, str],
        should_stop: Callable[[], bool],
    ) -> None:
        self.root = schema
        self.documents = [a.index for a in attachments]
        self.question = question
        self.should_stop = should_stop
        self.sources: list[tuple[JsonPath, Hit]] = []
        self.values_left = MAX_VALUES
        self.plain_left = MAX_VALUES  # plain values made (a required object of required objects...)
        self._ranked: dict[tuple[str, ...], list[Hit]] = {}
        self._described: set[JsonPath] = set()  # array items whose sentence a string already took

    def fill(self) -> Any:
        value = self.value(self.root, (), _Terms(own=self.question), None, ())
        return self.plain(self.root, ()) if value is MISSING else value

    # -- schema shapes

    def resolve(self, schema: Any, refs: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
        """`schema` with its $ref followed and a single allOf merged in (refs were checked up front)."""
        if not isinstance(schema, dict):
            return {}, refs  # `true` and other shorthands: anything goes, a string is fine
        while isinstance(schema.get("$ref"), str) and schema["$ref"] not in refs:
            ref = schema["$ref"]
            target = _pointer(self.root, ref)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**(target if isinstance(target, dict) else {}), **siblings}
            refs = (*refs, ref)
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                resolved, refs = self.resolve(part, refs)
                merged = _merge(merged, resolved)
            schema = merged
        return schema, refs

    def nullable(self, schema: Any, refs: tuple[str, ...]) -> bool:
        schema, refs = self.resolve(schema, refs)
        if "const" in schema:
            return schema["const"] is None
        if isinstance(schema.get("enum"), list):
            return None in schema["enum"]
        branches = _branches(schema)
        if branches:
            return any(self.nullable(branch, refs) for branch in branches)
        return "null" in _declared_types(schema)

    def plain(self, schema: Any, refs: tuple[str, ...]) -> Any:
        """The value a required field gets when the files have none: null if allowed, else the
        type's plainest valid one."""
        self.plain_left -= 1
        if self.plain_left < 0 or self.nullable(schema, refs):
            return None  # past the budget: a schema this large gets nulls (bounded work first)
        schema, refs = self.resolve(schema, refs)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        branches = _branches(schema)
        if branches:
            return self.plain(branches[0], refs)
        kinds = [kind for kind in _types(schema) if kind != "null"]
        if not kinds:
            return None
        kind = kinds[0]
        if kind == "object":
            properties = _dict(schema.get("properties"))
            return {name: self.plain(properties.get(name, {}), refs) for name in _required(schema)}
        if kind == "array":
            count = _int(schema.get("minItems"), 0)
            return [self.plain(schema.get("items", {}), refs) for _ in range(min(count, MAX_ITEMS))]
        if kind == "boolean":
            return False
        if kind in ("number", "integer"):
            return value_extract.into_bounds(0, schema, kind == "integer")
        return value_extract.plain_string(schema)

    # -- values

    def value(
        self, schema: Any, path: JsonPath, terms: _Terms, scope: Hit | None, refs: tuple[str, ...]
    ) -> Any:
        """The value for `schema` found in the files (within passage `scope` if set), or MISSING."""
        if self.values_left <= 0:
            return MISSING
        self.values_left -= 1
        schema, refs = self.resolve(schema, refs)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list):
            return self.enum(schema["enum"], path, terms, scope)
        branches = _branches(schema)
        if branches:
            for branch in branches:
                found = self.value(branch, path, terms, scope, refs)
                if found is not MISSING and found is not None:
                    return found
            return MISSING
        for kind in _types(schema):
            if kind == "object":
                found = self.object(schema, path, terms, scope, refs)
            elif kind == "array":
                found = self.array(schema, path, terms, scope, refs)
            elif kind == "null":
                continue
            else:
                found = self.scalar(schema, kind, path, terms, scope)
            if found is not MISSING:
                return found
        return MISSING

    def scalar(
        self, schema: dict[str, Any], kind: str, path: JsonPath, terms: _Terms, scope: Hit | None
    ) -> Any:
        # A sentence anchored at the array's words describes the item once: only the first plain
        # string of an item takes it (a "description", not also its "month").
        plain = kind == "string" and "format" not in schema
        fallback = not (plain and path[:-1] in self._described)
        for found, hit, anchored_elsewhere in self.scalars(schema, kind, terms, scope, fallback=fallback):
            if plain and anchored_elsewhere:
                self._described.add(path[:-1])
            self.sources.append((path, hit))
            return found
        return MISSING

    def object(
        self, schema: dict[str, Any], path: JsonPath, terms: _Terms, scope: Hit | None, refs: tuple[str, ...]
    ) -> Any:
        required = set(_required(schema))
        properties = _dict(schema.get("properties"))
        out: dict[str, Any] = {}
        found_any = False
        for name, sub in properties.items():
            resolved, _ = self.resolve(sub, refs)
            child = _Terms(own=_field_terms(name, resolved), parent=terms.own or terms.parent)
            found = self.value(sub, (*path, name), child, scope, refs)
            if found is not MISSING:
                out[name] = found
                found_any = True
            elif self.nullable(sub, refs):
                out[name] = None
            elif name in required:
                out[name] = self.plain(sub, refs)
        return out if found_any else MISSING

    def array(
        self, schema: dict[str, Any], path: JsonPath, terms: _Terms, scope: Hit | None, refs: tuple[str, ...]
    ) -> Any:
        items, item_refs = self.resolve(schema.get("items", {}), refs)
        most = min(_int(schema.get("maxItems"), DEFAULT_MAX_ITEMS), MAX_ITEMS)
        values: list[Any] = []
        alternatives = self.scalar_alternatives(items, item_refs)
        if alternatives is not None:  # scalars: one from each of the best passages
            for alternative, kind in alternatives:
                for found, hit, _ in self.scalars(alternative, kind, terms, scope, many=True):
                    if len(values) >= most:
                        break
                    if found not in values:
                        self.sources.append(((*path, len(values)), hit))
                        values.append(found)
        else:  # objects, arrays, enums: each filled from one of the best passages alone
            for hit in self.hits(terms, scope):
                if len(values) >= most:
                    break
                recorded = len(self.sources)
                found = self.value(items, (*path, len(values)), terms, hit, item_refs)
                if found is MISSING or found is None or found in values:
                    del self.sources[recorded:]  # not kept: neither are the passages it cites
                else:
                    values.append(found)
        if not values:
            return MISSING
        least = _int(schema.get("minItems"), 0)
        while len(values) < min(least, MAX_ITEMS):
            values.append(self.plain(items, item_refs))
        return values

    def scalar_alternatives(
        self, items: dict[str, Any], refs: tuple[str, ...]
    ) -> list[tuple[dict[str, Any], str]] | None:
        """(schema, type) of each kind of scalar an array item may be (anyOf branches too), or None
        when an item is an object, an array, an enum or a constant."""
        branches = _branches(items)
        alternatives: list[tuple[dict[str, Any], str]] = []
        for branch in [self.resolve(b, refs)[0] for b in branches] if branches else [items]:
            if "const" in branch or "enum" in branch or _branches(branch):
                return None
            kinds = [kind for kind in _types(branch) if kind != "null"]
            if any(kind in ("object", "array") for kind in kinds):
                return None
            alternatives += [(branch, kind) for kind in kinds]
        return alternatives

    def enum(self, allowed: list[Any], path: JsonPath, terms: _Terms, scope: Hit | None) -> Any:
        """The first allowed value mentioned near the field's words, else in the passages that best
        match the allowed values themselves ("EUR" for a `currency` the text never names)."""
        near = (hit for hit, _, _ in self.anchored(terms, scope))
        options = chat_engine.query_terms(" ".join(str(option) for option in allowed))
        mentioning = self.hits(_Terms(own=options), scope) if options else []
        for hit in itertools.chain(near, mentioning):
            lowered = hit.text.lower()
            for option in allowed:
                if value_extract.mentions(lowered, option):
                    self.sources.append((path, hit))
                    return option
        return MISSING

    def scalars(
        self,
        schema: dict[str, Any],
        kind: str,
        terms: _Terms,
        scope: Hit | None,
        *,
        many: bool = False,
        fallback: bool = True,
    ) -> Iterator[tuple[Any, Hit, bool]]:
        """(value, its passage, anchored at the enclosing words) of type `kind` that fit `schema`,
        best first; with `many`, one for each passage."""
        for hit, anchors, elsewhere in self.anchored(terms, scope, fallback=fallback):
            for value in value_extract.candidates(kind, schema, hit.text, anchors):
                if value_extract.fits(value, schema, kind):
                    yield value, hit, elsewhere
                    if not many:
                        return
                    break

    # -- passages

    def hits(self, terms: _Terms, scope: Hit | None) -> list[Hit]:
        """The passages best matching the words (only `scope` when set), at most CANDIDATE_HITS."""
        stems = tuple(terms.ranking()) or tuple(self.question)
        if not stems or not self.documents:
            return []
        if stems not in self._ranked:
            if len(self._ranked) >= MAX_RANKINGS:
                return []  # the search budget is spent: the remaining fields find nothing
            self._ranked[stems] = chat_engine.rank(self.documents, list(stems), self.should_stop)
        hits = self._ranked[stems]
        if scope is not None:
            return [h for h in hits if (h.document, h.passage) == (scope.document, scope.passage)]
        return hits[:CANDIDATE_HITS]

    def anchored(
        self, terms: _Terms, scope: Hit | None, *, fallback: bool = True
    ) -> Iterator[tuple[Hit, list[tuple[int, int]], bool]]:
        """(passage, where the value's own words are in it, whether those are the enclosing value's
        words instead) for the best passages. Within an array item's passage (`scope`), a value whose
        own words are not there is anchored at the words of the array, if `fallback` allows."""
        own = set(terms.own) or set(terms.parent) or set(self.question)
        enclosing = set(terms.parent) if scope is not None and fallback else set()
        for hit in self.hits(terms, scope):
            anchors = value_extract.occurrences(hit.text, own)
            if anchors:
                yield hit, value_extract.nearest_first(hit.text, anchors, own), False
                continue
            anchors = value_extract.occurrences(hit.text, enclosing)
            if anchors:
                yield hit, anchors, True


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """allOf: properties and required lists are united, other keywords of `extra` win."""
    merged = {**base, **extra}
    if "properties" in base or "properties" in extra:
        merged["properties"] = {**_dict(base.get("properties")), **_dict(extra.get("properties"))}
    if "required" in base or "required" in extra:
        merged["required"] = [*_required(base), *_required(extra)]
    return merged


def _dict(value: Any) -> dict[str, Any]:
    """A keyword that should hold an object (properties), or {} when the schema has something else."""
    return value if isinstance(value, dict) else {}


def _required(schema: dict[str, Any]) -> list[str]:
    required = schema.get("required")
    return [name for name in required if isinstance(name, str)] if isinstance(required, list) else []


def _branches(schema: dict[str, Any]) -> list[Any]:
    branches = schema.get("anyOf") or schema.get("oneOf")
    return branches if isinstance(branches, list) else []


def _declared_types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def _types(schema: dict[str, Any]) -> list[str]:
    """The declared types, or the one the keywords imply (a string when nothing does)."""
    declared = _declared_types(schema)
    if declared:
        return declared
    if "properties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return ["number"]
    return ["string"]


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _field_terms(name: str, schema: dict[str, Any]) -> dict[str, str]:
    """The searchable words of a property: its name split into words, then its title and description."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    terms = chat_engine.query_terms(words)
    for extra in (schema.get("title"), schema.get("description")):
        if isinstance(extra, str):
            for stem, word in list(chat_engine.query_terms(extra).items())[:6]:
                terms.setdefault(stem, word)
    return terms
