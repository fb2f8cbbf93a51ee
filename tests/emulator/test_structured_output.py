"""Structured output of the local engine over real gRPC: a JSON schema in `response_format` is
answered by one JSON value, filled by extraction from the files, that validates against it."""

from __future__ import annotations

import json
from typing import Any

import grpc
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.emulator.conversation_helpers import INLINE_CITATIONS, ChatClient, accumulate, answer_of
from tests.support.raw_grpc import Files, error_of
from tests.support.samples import NOTES
from xai_files_cli._pb import chat_pb2
from xai_files_cli.emulator.chat_engine import Attachment, Turn, index_document
from xai_files_cli.emulator.structured import MAX_RANKINGS, JsonFormat, answer_json, dump, parse_schema

INVOICE = """INVOICE

Vendor: Acme Widgets Ltd.
Invoice number: INV-2026-0042
Invoice date: 3 March 2026
Due date: March 31, 2026

Contact: billing@acme.example

Items: 12 sensor modules at 40 euros each.

Total due: 1,480.00 EUR
Paid: no
"""
MAIN_RISK = "The main risk is that the vendor misses the March deadline for the sensor firmware."
INVOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "vendor": {"type": "string"},
        "invoice_number": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "due_date": {"type": "string", "format": "date"},
        "invoice_date": {"type": "string", "format": "date"},
        "contact_email": {"type": "string", "format": "email"},
        "paid": {"type": "boolean"},
        "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]},
        "purchase_order": {"type": ["string", "null"]},
        "discount": {"type": "number"},
    },
    "required": ["vendor", "total", "due_date", "paid", "currency", "purchase_order"],
    "additionalProperties": False,
}
# What pydantic's model_json_schema() gives for a model with a list of sub-models and Optional fields.
STATUS_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Risk": {
            "properties": {
                "description": {"title": "Description", "type": "string"},
                "month": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Month"},
            },
            "required": ["description", "month"],
            "title": "Risk",
            "type": "object",
        }
    },
    "properties": {
        "project": {"title": "Project", "type": "string"},
        "risks": {"items": {"$ref": "#/$defs/Risk"}, "title": "Risks", "type": "array"},
        "reserve": {"title": "Reserve", "type": "integer"},
        "engineers": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Engineers"},
    },
    "required": ["project", "risks", "reserve", "engineers"],
    "title": "Status",
    "type": "object",
}


def schema_format(schema: dict[str, Any] | str) -> chat_pb2.ResponseFormat:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return chat_pb2.ResponseFormat(format_type=chat_pb2.FORMAT_TYPE_JSON_SCHEMA, schema=text)


def validated(content: str, schema: dict[str, Any]) -> Any:
    value = json.loads(content)
    jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return value


def test_a_schema_is_filled_from_the_file_and_validates(chat: ChatClient, files: Files) -> None:
    invoice = files.upload("invoice.txt", INVOICE.encode()).id
    response = chat.ask("Extract the invoice", invoice, response_format=schema_format(INVOICE_SCHEMA))
    answer = answer_of(response)
    assert validated(answer.content, INVOICE_SCHEMA) == {
        "vendor": "Acme Widgets Ltd",
        "invoice_number": "INV-2026-0042",
        "total": 1480.0,
        "due_date": "2026-03-31",
        "invoice_date": "2026-03-03",
        "contact_email": "billing@acme.example",
        "paid": False,
        "currency": "EUR",
        "purchase_order": None,  # nullable, and the invoice has none; `discount` is optional: left out
    }
    assert answer.reasoning_content.startswith("Extractive JSON from xai-local-retrieval-v1")
    assert list(response.citations) == [f"file://{invoice}/invoice.txt"]
    again = chat.ask("Extract the invoice", invoice, response_format=schema_format(INVOICE_SCHEMA))
    assert answer_of(again).content == answer.content  # deterministic


def test_a_pydantic_style_schema_with_refs_arrays_and_optionals(chat: ChatClient, notes_id: str) -> None:
    response = chat.ask("Project status", notes_id, response_format=schema_format(STATUS_SCHEMA))
    assert validated(answer_of(response).content, STATUS_SCHEMA) == {
        "project": "Project Falcon status notes.",
        "risks": [
            {"description": MAIN_RISK, "month": None},
            {
                "description": "A second risk is the office move in April, which may slip by two weeks.",
                "month": None,
            },
        ],
        "reserve": 40000,
        "engineers": None,  # "twelve" is not a number the engine reads
    }


def test_values_cite_the_pdf_page_they_come_from(chat: ChatClient, report_id: str) -> None:
    schema = {
        "type": "object",
        "properties": {"revenue_growth": {"type": "integer"}, "reserve": {"type": "number"}},
        "required": ["revenue_growth", "reserve"],
    }
    response = chat.ask(
        "Key figures", report_id, response_format=schema_format(schema), include=[INLINE_CITATIONS]
    )
    answer = answer_of(response)
    assert validated(answer.content, schema) == {"revenue_growth": 12, "reserve": 40000}
    spans = {
        answer.content[c.start_index : c.end_index]: c.collections_citation.chunk_id for c in answer.citations
    }
    assert spans == {"12": "page-1/passage-1", "40000": "page-2/passage-2"}


def test_a_streamed_schema_answer_accumulates_to_the_same_json(chat: ChatClient, files: Files) -> None:
    invoice = files.upload("invoice.txt", INVOICE.encode()).id
    response_format = schema_format(INVOICE_SCHEMA)
    chunks = chat.ask_streamed("Extract the invoice", invoice, response_format=response_format)
    content, _, _ = accumulate(chunks)
    unary = chat.ask("Extract the invoice", invoice, response_format=response_format)
    assert len(chunks) > 5 and content == answer_of(unary).content
    validated(content, INVOICE_SCHEMA)


def test_a_follow_up_without_the_file_is_filled_from_the_stored_conversation(
    chat: ChatClient, files: Files
) -> None:
    invoice = files.upload("invoice.txt", INVOICE.encode()).id
    first = chat.ask("Who sent this invoice?", invoice, store_messages=True)
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    second = chat.ask(
        "The total, please", previous_response_id=first.id, response_format=schema_format(schema)
    )
    assert validated(answer_of(second).content, schema) == {"total": 1480.0}


def test_json_object_format_gives_the_best_passages_as_an_object(chat: ChatClient, files: Files) -> None:
    notes = files.upload("notes.txt", NOTES.encode()).id
    response_format = chat_pb2.ResponseFormat(format_type=chat_pb2.FORMAT_TYPE_JSON_OBJECT)
    value = json.loads(
        answer_of(chat.ask("What are the risks?", notes, response_format=response_format)).content
    )
    assert value["extractive"] is True and value["searched_for"] == ["risks"]
    assert [p["passage"] for p in value["passages"]] == [2, 4]
    assert value["passages"][0]["text"].startswith("The main risk is")


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (
            '{"$defs": {"N": {"properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"}',
            "circular",
        ),
        ('{"properties": {"a": {"$ref": "#/$defs/Missing"}}}', "points at nothing"),
        ('{"$ref": "https://example.com/schema.json"}', "not local"),
        ("", "needs a schema"),
    ],
)
def test_an_unusable_schema_is_invalid_argument(chat: ChatClient, schema: str, needle: str) -> None:
    error = error_of(lambda: chat.ask("anything", response_format=schema_format(schema)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in error.details()


def test_values_the_files_do_not_have_get_null_or_the_plainest_valid_value(
    chat: ChatClient, files: Files
) -> None:
    notes = files.upload("notes.txt", NOTES.encode()).id
    schema = {
        "type": "object",
        "properties": {
            "ceo": {"type": "string", "minLength": 2},
            "founded": {"type": "string", "format": "date"},
            "offices": {"type": "integer", "minimum": 3},
            "listed": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["ceo", "founded", "offices", "listed", "tags"],
    }
    value = validated(
        answer_of(chat.ask("Company facts", notes, response_format=schema_format(schema))).content, schema
    )
    assert value == {"ceo": "--", "founded": "1970-01-01", "offices": 3, "listed": None, "tags": [""]}


@pytest.mark.parametrize(
    "value",
    [{}, [], {"a": [1, {"b": None, "c": "é"}], "d": []}, [{"x": 1.5}, True, "s\n"], "plain"],
)
def test_the_json_text_is_exactly_json_dumps_with_indent_2(value: Any) -> None:
    text, _ = dump(value, set())
    assert text == json.dumps(value, indent=2, ensure_ascii=False)


# -- any schema of the supported subset gives a valid value (the engine alone, no server) -------------

FIELD_NAMES = ["total", "due_date", "vendor", "risk", "budget", "paid", "items", "month", "reserve"]
LEAVES = st.one_of(
    st.just({"type": "string"}),
    st.sampled_from(["date", "date-time", "time", "email", "uuid", "ipv4"]).map(
        lambda fmt: {"type": "string", "format": fmt}
    ),
    st.integers(0, 3).map(lambda least: {"type": "string", "minLength": least, "maxLength": least + 40}),
    st.tuples(st.integers(-50, 50), st.integers(0, 5000)).map(
        lambda bounds: {"type": "integer", "minimum": bounds[0], "maximum": bounds[0] + bounds[1]}
    ),
    st.just({"type": "number", "exclusiveMinimum": 0}),
    st.just({"type": "boolean"}),
    st.lists(st.sampled_from(["USD", "EUR", "GBP", "open", 12]), min_size=1, unique=True).map(
        lambda options: {"enum": options}
    ),
    st.just({"type": ["string", "null"]}),
    st.just({"const": "fixed"}),
    st.just({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "format": "date"}]}),
)


def _containers(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    objects = st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=4).flatmap(
        lambda properties: st.lists(st.sampled_from(sorted(properties) or [""]), unique=True).map(
            lambda required: {
                "type": "object",
                "properties": properties,
                "required": [name for name in required if name in properties],
            }
        )
    )
    arrays = st.tuples(children, st.integers(0, 2), st.integers(2, 5)).map(
        lambda t: {"type": "array", "items": t[0], "minItems": t[1], "maxItems": t[2]}
    )
    return st.one_of(objects, arrays, children.map(lambda child: {"anyOf": [child, {"type": "null"}]}))


DOCUMENTS = [("invoice.txt", INVOICE), ("notes.txt", NOTES)]


@settings(max_examples=150, deadline=None)
@given(st.recursive(LEAVES, _containers, max_leaves=10))
def test_any_supported_schema_gets_a_value_that_validates(schema: dict[str, Any]) -> None:
    attachments = [Attachment(index_document(name, text)) for name, text in DOCUMENTS]
    turns = [Turn("user", "Extract the details")]
    response_format = JsonFormat(parse_schema(json.dumps(schema)))
    answer = answer_json(turns, attachments, response_format)
    validated(answer.content, schema)
    assert answer_json(turns, attachments, response_format).content == answer.content


def test_a_schema_nested_too_deep_is_refused(chat: ChatClient) -> None:
    deep = '{"type": "array", "items": ' * 80 + '{"type": "string"}' + "}" * 80
    error = error_of(lambda: chat.ask("anything", response_format=schema_format(deep)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "nests deeper than 64" in error.details()


def test_a_schema_that_would_multiply_values_stays_bounded(chat: ChatClient, files: Files) -> None:
    level: dict[str, Any] = {"type": "string", "minLength": 1}
    for _ in range(12):  # 20^12 plain values if every array were filled to its minItems
        level = {"type": "array", "items": level, "minItems": 20, "maxItems": 20}
    notes = files.upload("notes.txt", NOTES.encode()).id
    response = chat.ask("anything", notes, response_format=schema_format(level))
    assert len(answer_of(response).content) < 200_000
    json.loads(answer_of(response).content)  # still one JSON value (best effort past the budget)


def test_fields_past_the_search_budget_find_nothing(chat: ChatClient, files: Files) -> None:
    names = [f"field{n}" for n in range(MAX_RANKINGS + 12)]
    listing = "\n\n".join(f"{name}: value {n}" for n, name in enumerate(names))
    listing_id = files.upload("listing.txt", listing.encode()).id
    schema = {"type": "object", "properties": {name: {"type": ["string", "null"]} for name in names}}
    value = validated(
        answer_of(chat.ask("all", listing_id, response_format=schema_format(schema))).content, schema
    )
    assert [value[name] for name in names[:MAX_RANKINGS]] == [f"value {n}" for n in range(MAX_RANKINGS)]
    assert [value[name] for name in names[MAX_RANKINGS:]] == [None] * 12  # each search scans every file
