"""`xai chat --schema` over real gRPC: JSON Schema text, @file or the short form is sent as the
response format; stdout is exactly one JSON value that validates; a bad schema is exit 2 before any
call; an answer that does not fit is exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import run_xai
from tests.support.emulator import ChatServer
from tests.support.samples import make_pages_pdf
from xai_files_cli.core.answer_schema import load_schema, short_form
from xai_files_cli.errors import UsageError

INVOICE = """INVOICE

Vendor: Acme Widgets Ltd.
Invoice number: INV-2026-0042
Due date: March 31, 2026

Total due: 1,480.00 EUR
Paid: no
"""
INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "vendor": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "due_date": {"type": "string", "format": "date"},
        "paid": {"type": "boolean"},
        "purchase_order": {"type": ["string", "null"]},
    },
    "required": ["vendor", "total", "due_date", "paid", "purchase_order"],
    "additionalProperties": False,
}


@pytest.fixture
def invoice(tmp_path: Path) -> Path:
    path = tmp_path / "invoice.txt"
    path.write_text(INVOICE)
    return path


def one_json_value(stdout: str) -> object:
    """stdout holds exactly one JSON value (json.loads refuses anything after it)."""
    return json.loads(stdout)


def test_the_short_form_gets_one_validating_value_on_a_pipe(chat_server, invoice: Path) -> None:
    chat_server()
    result = run_xai(
        "chat", "The invoice", "-f", str(invoice), "--schema", "vendor, total float, due date, paid bool"
    )
    assert (result.code, result.stderr) == (0, ""), result
    assert result.stdout.count("\n") == 1  # one compact line for programs
    value = one_json_value(result.stdout)
    jsonschema.validate(value, short_form("vendor, total float, due date, paid bool"))
    # `due date` is the field `due` of type date
    assert value == {"vendor": "Acme Widgets Ltd", "total": 1480, "due": "2026-03-31", "paid": False}


def test_json_schema_text_and_a_schema_file(chat_server, invoice: Path, tmp_path: Path) -> None:
    chat_server()
    text = json.dumps(INVOICE_SCHEMA)
    schema_file = tmp_path / "invoice.schema.json"
    schema_file.write_text(text)
    for given in (text, f"@{schema_file}"):
        result = run_xai("chat", "The invoice", "-f", str(invoice), "--schema", given)
        assert result.code == 0, result
        value = one_json_value(result.stdout)
        jsonschema.validate(value, INVOICE_SCHEMA, format_checker=jsonschema.FormatChecker())
        assert value["purchase_order"] is None  # nothing fits: null, as the schema allows


def test_on_a_terminal_the_value_is_pretty_and_json_output_carries_it(chat_server, invoice: Path) -> None:
    chat_server()
    shown = run_xai("chat", "The invoice", "-f", str(invoice), "--schema", "vendor", stdout_tty=True)
    assert shown.stdout == '{\n  "vendor": "Acme Widgets Ltd"\n}\n'
    data = json.loads(
        run_xai("chat", "The invoice", "-f", str(invoice), "--schema", "vendor", "--json").stdout
    )
    assert data["parsed"] == {"vendor": "Acme Widgets Ltd"} and json.loads(data["content"]) == data["parsed"]


def test_sources_of_the_values_are_shown_on_a_terminal(chat_server, tmp_path: Path) -> None:
    chat_server()
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(make_pages_pdf([["Intro text."], ["Budget: a reserve of 40,000 euros."]]))
    result = run_xai("chat", "The budget", "-f", str(pdf), "--schema", "budget int", stderr_tty=True)
    assert result.code == 0, result
    assert one_json_value(result.stdout) == {"budget": 40000}
    assert "Sources:\n  [1] report.pdf, page 2\n" in result.stderr


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ('{"type": "object", "properties": {"a": {"type": "nope"}}}', "--schema is not a valid JSON Schema"),
        ('{"type": "object",', "--schema is not valid JSON"),
        ("[1, 2]", "--schema: cannot read the field '[1'"),
        ("name, total money", "--schema: unknown type 'money' for 'total'"),
        ("name, name int", "--schema: the field 'name' is given twice"),
        ("@missing.json", "--schema: no such file: missing.json"),
        (" , ", "--schema is empty"),
    ],
)
def test_an_invalid_schema_exits_2_before_any_call(
    chat_server, invoice: Path, schema: str, message: str
) -> None:
    srv: ChatServer = chat_server()
    result = run_xai("chat", "The invoice", "-f", str(invoice), "--schema", schema)
    assert (result.code, result.stdout) == (2, ""), result
    assert result.stderr.startswith(f"xai: {message}"), result.stderr
    assert srv.calls("UploadFile") == 0 and srv.calls("GetCompletionChunk") == 0


def test_schema_with_interactive_is_refused(chat_server) -> None:
    result = run_xai("chat", "-i", "--schema", "name")
    assert (result.code, result.stderr) == (
        2,
        "xai: --schema answers one question; it cannot be used with -i\n",
    )


def test_an_answer_that_does_not_fit_exits_1_and_prints_nothing(chat_server, invoice: Path) -> None:
    chat_server()
    # The local engine fills `total`; `not` forbids it, which only the client-side check enforces.
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    schema["not"] = {"required": ["total"]}
    result = run_xai("chat", "The invoice", "-f", str(invoice), "--schema", json.dumps(schema))
    assert (result.code, result.stdout) == (1, ""), result
    assert result.stderr.startswith("xai: the answer does not fit the schema: at $: ")
    assert "`xai conversations show " in result.stderr  # where the answer can still be read
    as_json = run_xai("chat", "The invoice", "-f", str(invoice), "--schema", json.dumps(schema), "--json")
    assert as_json.code == 1 and json.loads(as_json.stdout)["error"]["exit_code"] == 1


def test_short_form_types() -> None:
    assert short_form("name, total float, due date, paid bool, tags string[], note?, count int?") == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "total": {"type": "number"},
            "due": {"type": "string", "format": "date"},
            "paid": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"type": ["string", "null"]},
            "count": {"type": ["integer", "null"]},
        },
        "required": ["name", "total", "due", "paid", "tags", "note", "count"],
        "additionalProperties": False,
    }
    with pytest.raises(UsageError):
        load_schema('{"type": 12}')
