"""The committed generated code matches protos/, and our protos match the official SDK's wire format."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.constants import REPO_ROOT
from tests.support.processes import xai_subprocess_env

GENERATED = REPO_ROOT / "xai_files_cli" / "_pb"


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate", REPO_ROOT / "protos" / "generate.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_generated_code_is_in_sync_with_protos(tmp_path: Path) -> None:
    written = _load_generator().generate(tmp_path)
    fresh = {p.name: p.read_bytes() for p in written}
    committed = {p.name: p.read_bytes() for p in GENERATED.glob("*_pb2*.py*")}
    assert sorted(fresh) == sorted(committed), "generated file set differs: run protos/generate.py"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated code, run `python protos/generate.py`: {stale}"


def _dump(which: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "support" / "descriptor_dump.py"), which],
        capture_output=True,
        check=True,
        env=xai_subprocess_env(),
        timeout=60,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def descriptors() -> tuple[dict, dict]:
    return _dump("ours"), _dump("sdk")


def test_every_message_field_matches_the_official_sdk(descriptors: tuple[dict, dict]) -> None:
    ours, sdk = descriptors
    assert len(ours["messages"]) > 40
    mismatches = []
    for message, fields in ours["messages"].items():
        theirs = sdk["messages"].get(message)
        if theirs is None:
            mismatches.append(f"{message}: not in the SDK")
            continue
        for number, field in fields.items():
            if theirs.get(number) != field:
                mismatches.append(f"{message}#{number}: ours {field} vs sdk {theirs.get(number)}")
    assert mismatches == []


def test_every_enum_value_matches_the_official_sdk(descriptors: tuple[dict, dict]) -> None:
    ours, sdk = descriptors
    mismatches = [
        f"{enum}.{name}"
        for enum, values in ours["enums"].items()
        for name, number in values.items()
        if sdk["enums"].get(enum, {}).get(name) != number
    ]
    assert mismatches == []


def test_every_rpc_signature_matches_the_official_sdk(descriptors: tuple[dict, dict]) -> None:
    ours, sdk = descriptors
    assert set(ours["services"]) == {"xai_api.Files", "xai_api.Chat", "xai_api.Models", "xai_api.Auth"}
    for service, methods in ours["services"].items():
        for method, signature in methods.items():
            assert sdk["services"][service].get(method) == signature, f"{service}/{method}"
    for service in ("xai_api.Files", "xai_api.Auth"):
        assert set(ours["services"][service]) == set(sdk["services"][service]), service
