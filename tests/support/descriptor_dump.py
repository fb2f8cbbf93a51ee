"""Print, as JSON, every message/enum/service of one generated proto package (run in its own process).

Usage: python tests/support/descriptor_dump.py ours|sdk
Two generated copies of package xai_api cannot live in one process, so the wire-compat test runs
this script twice and compares the dumps.
"""

from __future__ import annotations

import importlib
import json
import sys

MODULES = ["files", "chat", "models", "usage", "sample", "image", "auth"]


def _modules(which: str):
    prefix = "xai_files_cli._pb." if which == "ours" else "xai_sdk.proto.v6."
    return [importlib.import_module(f"{prefix}{name}_pb2") for name in MODULES]


def _walk_message(desc, out):
    out["messages"][desc.full_name] = {
        str(f.number): {
            "name": f.name,
            "type": f.type,
            "repeated": f.is_repeated if hasattr(f, "is_repeated") else f.label == 3,
            "type_name": (f.message_type or f.enum_type).full_name if (f.message_type or f.enum_type) else "",
            "oneof": f.containing_oneof.name
            if f.containing_oneof and not f.containing_oneof.name.startswith("_")
            else "",
            "presence": f.has_presence,
        }
        for f in desc.fields
    }
    for nested in desc.nested_types:
        _walk_message(nested, out)
    for enum in desc.enum_types:
        out["enums"][enum.full_name] = {v.name: v.number for v in enum.values}


def dump(which: str) -> dict:
    out: dict = {"messages": {}, "enums": {}, "services": {}}
    for module in _modules(which):
        fd = module.DESCRIPTOR
        for msg in fd.message_types_by_name.values():
            _walk_message(msg, out)
        for enum in fd.enum_types_by_name.values():
            out["enums"][enum.full_name] = {v.name: v.number for v in enum.values}
        for svc in fd.services_by_name.values():
            out["services"][svc.full_name] = {
                m.name: [
                    m.input_type.full_name,
                    m.output_type.full_name,
                    m.client_streaming,
                    m.server_streaming,
                ]
                for m in svc.methods
            }
    return out


if __name__ == "__main__":
    json.dump(dump(sys.argv[1]), sys.stdout, indent=1, sort_keys=True)
