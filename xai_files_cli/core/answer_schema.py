"""`xai chat --schema`: the JSON Schema an answer must fit, and the check that it does.

SCHEMA is JSON Schema text (`{"type": "object", ...}`), `@PATH` of a file holding it, or the short
form, a comma-separated list of fields:

    name, total float, due date, paid bool, tags string[], note string?

Each field is `NAME [TYPE]`: TYPE is string (the default), int/integer, float/number, bool/boolean
or date (a string in ISO format `2026-03-31`); `[]` after the type makes it a list of that type, a
final `?` lets the value be null. The object has exactly these fields, all required.

The schema is checked (jsonschema, by the draft its `$schema` names, 2020-12 otherwise) before any
call: a bad one is a UsageError (exit 2). The answer must be one JSON value that validates
(formats such as date checked too); otherwise SchemaMismatch (exit 1). jsonschema is imported
only here, so only `--schema` pays for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xai_files_cli.errors import InternalError, UsageError

_FIELD = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\s+(?P<type>[A-Za-z]+)(?P<list>\[\])?)?(?P<null>\?)?"
)
_SHORT_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
}
SHORT_TYPE_NAMES = "string, int, float, bool, date"


class SchemaMismatch(InternalError):
    """The answer is not JSON, or not JSON that fits the schema (exit 1)."""


@dataclass(frozen=True)
class AnswerSchema:
    """A checked schema: `schema` as a dict, `text` the compact JSON sent as the response format."""

    schema: dict[str, Any]

    @property
    def text(self) -> str:
        return json.dumps(self.schema, separators=(",", ":"), ensure_ascii=False)

    def parse(self, content: str) -> Any:
        """The answer's JSON value, validated.

        Raises:
            SchemaMismatch: not one JSON value, or one the schema does not accept.
        """
        try:
            value = json.loads(content)
        except ValueError as error:
            raise SchemaMismatch(f"the answer is not JSON: {error}") from None
        from jsonschema.exceptions import best_match

        validator = _validator_class(self.schema)
        errors = validator(self.schema, format_checker=validator.FORMAT_CHECKER).iter_errors(value)
        worst = best_match(errors)
        if worst is not None:
            raise SchemaMismatch(f"the answer does not fit the schema: at {_where(worst)}: {worst.message}")
        return value


def load_schema(value: str) -> AnswerSchema:
    """The `--schema` value as a checked schema: JSON text, `@PATH`, or the short form.

    Raises:
        UsageError: unreadable file, bad JSON, not an object, or not a valid JSON Schema (exit 2).
    """
    text = value.strip()
    if text.startswith("@"):
        text = _read(text[1:]).strip()
        schema = _json_schema(text, f"--schema {value}")
    elif text.startswith("{"):
        schema = _json_schema(text, "--schema")
    else:
        schema = short_form(text)
    _check(schema)
    return AnswerSchema(schema)


def short_form(text: str) -> dict[str, Any]:
    """The object schema of `name, total float, due date` (see the module's description)."""
    properties: dict[str, Any] = {}
    for part in re.split(r"[,\n]", text):
        spec = part.strip()
        if not spec:
            continue
        match = _FIELD.fullmatch(spec)
        if match is None:
            raise UsageError(
                f"--schema: cannot read the field {spec!r}",
                hint=f"write fields as 'NAME [TYPE]', e.g. 'name, total float'; types: {SHORT_TYPE_NAMES}",
            )
        name, kind = match.group("name"), (match.group("type") or "string").lower()
        if name in properties:
            raise UsageError(f"--schema: the field {name!r} is given twice")
        if kind not in _SHORT_TYPES:
            raise UsageError(f"--schema: unknown type {kind!r} for {name!r}; use one of {SHORT_TYPE_NAMES}")
        field_schema = dict(_SHORT_TYPES[kind])
        if match.group("list"):
            field_schema = {"type": "array", "items": field_schema}
        if match.group("null"):
            field_schema["type"] = [field_schema["type"], "null"]
        properties[name] = field_schema
    if not properties:
        raise UsageError(
            "--schema is empty", hint="give JSON Schema, @FILE, or fields like 'name, total float'"
        )
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _read(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--schema: no such file: {path}", path=path) from None
    except (OSError, UnicodeDecodeError) as error:
        detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise UsageError(f"--schema: cannot read {path}: {detail}", path=path) from None


def _json_schema(text: str, what: str) -> dict[str, Any]:
    try:
        schema = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(schema, dict):
        raise UsageError(f"{what} must be a JSON object (a JSON Schema)")
    return schema


def _validator_class(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    return validator_for(schema, default=Draft202012Validator)


def _check(schema: dict[str, Any]) -> None:
    from jsonschema.exceptions import SchemaError

    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as error:
        raise UsageError(
            f"--schema is not a valid JSON Schema: at {_where(error)}: {error.message}"
        ) from None


def _where(error: Any) -> str:
    """`$.items[0].total`: the JSON path of a validation error."""
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
